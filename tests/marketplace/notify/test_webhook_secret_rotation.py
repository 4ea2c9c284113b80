"""Issue 16, item 6: the webhook secret is its owner's to read again and to rotate, and only
on request: a new URL keeps it; after a rotation each webhook is signed by the new secret
and, for the grace period, by the old one too (`X-Webhook-Signature-Previous`)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.notify.signing import verify
from payments.models import DataKey, Participant
from payments.services import participant_register, webhook_secret
from tests.factories import random_wallet
from tests.provider_server import Provider, Received

pytestmark = pytest.mark.django_db

LISTING = {"name": "Lookup", "description": "Looks things up", "category": "data", "price": "1"}


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 5


def registered() -> tuple[Participant, str, str]:
    registration = participant_register(wallet=random_wallet(), name="P", type="provider")
    return registration.participant, registration.api_key, registration.webhook_secret


def secret_path(participant: Participant, suffix: str = "") -> str:
    return f"/v1/participants/{participant.public_id}/webhook-secret{suffix}"


def test_the_owner_reads_its_secret_again(api: Client) -> None:
    participant, key, secret = registered()
    response = api.get(secret_path(participant), HTTP_X_API_KEY=key)
    assert response.status_code == 200, response.content
    assert response.json()["webhook_secret"] == secret
    assert response.json()["previous_valid_until"] is None
    assert response["Cache-Control"] == "no-store"


def test_another_participant_cannot_read_or_rotate_it(api: Client) -> None:
    participant, _, secret = registered()
    _, other_key, _ = registered()
    assert api.get(secret_path(participant), HTTP_X_API_KEY=other_key).status_code == 403
    rotate = api.post(secret_path(participant, "/rotate"), HTTP_X_API_KEY=other_key)
    assert rotate.status_code == 403
    assert webhook_secret(Participant.objects.get(pk=participant.pk)) == secret


def test_without_a_key_it_is_401_api_key_required(api: Client) -> None:
    participant, _, _ = registered()
    response = api.get(secret_path(participant))
    assert (response.status_code, response.json()["code"]) == (401, "api_key_required")


def test_a_new_webhook_url_keeps_the_secret(api: Client) -> None:
    participant, key, secret = registered()
    response = api.put(
        f"/v1/participants/{participant.public_id}",
        json.dumps({"webhook_url": "https://hooks.example/new"}),
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 200, response.content
    assert "webhook_secret" not in response.json()
    assert webhook_secret(Participant.objects.get(pk=participant.pk)) == secret


def first_webhook(api: Client, key: str, provider: Provider) -> Received:
    listing = {**LISTING, "webhook_url": provider.url}
    created = api.post(
        "/v1/services", json.dumps(listing), content_type="application/json", HTTP_X_API_KEY=key
    )
    assert created.status_code == 201, created.content
    outcome = api.post(f"/v1/services/{created.json()['id']}/test", HTTP_X_API_KEY=key).json()
    assert outcome["success"] is True, outcome
    return provider.received[-1]


def signed(secret: str, sent: Received, header: str) -> bool:
    timestamp = sent.headers["X-Webhook-Timestamp"]
    signature = sent.headers.get(header)
    return signature is not None and verify(
        secret, timestamp, sent.body, signature, now=int(timestamp)
    )


def test_after_a_rotation_webhooks_carry_both_signatures_during_the_grace(
    api: Client, provider_server: Provider
) -> None:
    participant, key, old = registered()
    rotated = api.post(secret_path(participant, "/rotate"), HTTP_X_API_KEY=key)
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["webhook_secret"]
    assert new != old
    assert rotated.json()["previous_valid_until"] is not None
    sent = first_webhook(api, key, provider_server)
    assert signed(new, sent, "X-Webhook-Signature")
    assert signed(old, sent, "X-Webhook-Signature-Previous")
    assert api.get(secret_path(participant), HTTP_X_API_KEY=key).json()["webhook_secret"] == new


def test_after_the_grace_only_the_new_secret_signs(api: Client, provider_server: Provider) -> None:
    participant, key, _ = registered()
    new = api.post(secret_path(participant, "/rotate"), HTTP_X_API_KEY=key).json()["webhook_secret"]
    Participant.objects.filter(pk=participant.pk).update(
        webhook_secret_grace_until=timezone.now() - timedelta(seconds=1)
    )
    sent = first_webhook(api, key, provider_server)
    assert signed(new, sent, "X-Webhook-Signature")
    assert "X-Webhook-Signature-Previous" not in sent.headers


def test_without_a_grace_period_the_old_secret_stops_at_once(
    api: Client, provider_server: Provider, settings: Any
) -> None:
    settings.WEBHOOK_SECRET_GRACE_HOURS = 0
    participant, key, _ = registered()
    rotated = api.post(secret_path(participant, "/rotate"), HTTP_X_API_KEY=key).json()
    assert rotated["previous_valid_until"] is None
    sent = first_webhook(api, key, provider_server)
    assert "X-Webhook-Signature-Previous" not in sent.headers


def test_a_second_rotation_destroys_the_oldest_secret(api: Client) -> None:
    participant, key, _ = registered()
    api.post(secret_path(participant, "/rotate"), HTTP_X_API_KEY=key)
    keys = DataKey.objects.count()
    api.post(secret_path(participant, "/rotate"), HTTP_X_API_KEY=key)
    assert DataKey.objects.count() == keys  # one sealed previous secret at a time
