"""Every provider has a webhook secret, however it registered, and no webhook goes unsigned.

Each path a provider can take (register with a `webhook_url`, register without one and give
a service its own URL, onboard without a URL, clear the URL later, a row from before every
participant had a secret) ends with the first webhook, a `POST /v1/services/:id/test` to a
real provider on loopback, carrying a signature that verifies with the secret the provider
was given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from marketplace.notify.signing import verify
from payments.models import Participant
from payments.services import api_key_issue, participant_update, webhook_secret
from tests.factories import ParticipantFactory
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider, Received

pytestmark = pytest.mark.django_db

LISTING = {"name": "Lookup", "description": "Looks things up", "category": "data", "price": "1"}


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 5


def post(api: Client, path: str, body: Any, **headers: str) -> Any:
    return api.post(path, json.dumps(body), content_type="application/json", **headers)


def paid_post(api: Client, path: str, body: Any, payer: Any) -> dict[str, Any]:
    header, value = payment_header(post(api, path, body), payer, version=1)
    response = post(api, path, body, **{header: value})
    assert response.status_code == 201, response.content
    return response.json()


def first_webhook(api: Client, key: str, provider: Provider, listing: dict[str, Any]) -> Received:
    created = post(api, "/v1/services", listing, HTTP_X_API_KEY=key)
    assert created.status_code == 201, created.content
    service_id = created.json()["service_id"]
    outcome = api.post(f"/v1/services/{service_id}/test", HTTP_X_API_KEY=key).json()
    assert outcome["success"] is True, outcome
    assert len(provider.received) == 1
    return provider.received[0]


def signed_with(secret: str, sent: Received) -> bool:
    signature = sent.headers.get("X-Webhook-Signature")
    timestamp = sent.headers["X-Webhook-Timestamp"]
    return signature is not None and verify(
        secret, timestamp, sent.body, signature, now=int(timestamp)
    )


def test_register_with_a_webhook_url_returns_the_secret_that_signs_the_first_webhook(
    api: Client, chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    body = paid_post(
        api,
        "/v1/register",
        {"name": "Hooked", "type": "provider", "webhook_url": provider_server.url},
        funded_payer(1_000_000),
    )
    assert body["webhook_secret"].startswith("whsec_")
    sent = first_webhook(api, body["api_key"], provider_server, LISTING)
    assert signed_with(body["webhook_secret"], sent)


def test_register_without_a_url_still_signs_a_services_own_webhook(
    api: Client, chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    body = paid_post(
        api, "/v1/register", {"name": "Late hook", "type": "provider"}, funded_payer(1_000_000)
    )
    listing = {**LISTING, "webhook_url": provider_server.url}
    sent = first_webhook(api, body["api_key"], provider_server, listing)
    assert signed_with(body["webhook_secret"], sent)


def test_onboarding_without_a_url_returns_the_secret_of_the_services_webhooks(
    api: Client, chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    body = paid_post(api, "/v1/provider/onboard", {"name": "No URL yet"}, funded_payer(1_000_000))
    assert body["webhook_url"] == ""
    listing = {**LISTING, "webhook_url": provider_server.url}
    sent = first_webhook(api, body["api_key"], provider_server, listing)
    assert signed_with(body["webhook_secret"], sent)


def test_clearing_the_provider_url_keeps_the_secret_of_the_services_webhooks(
    api: Client, provider_server: Provider
) -> None:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url="https://hooks.example/a")
    secret = webhook_secret(provider)
    assert secret is not None
    assert participant_update(participant=provider, webhook_url="") is None
    key = api_key_issue(participant=provider)
    listing = {**LISTING, "webhook_url": provider_server.url}
    sent = first_webhook(api, key, provider_server, listing)
    assert signed_with(secret, sent)


def test_a_provider_stored_without_a_secret_gets_one_before_its_first_webhook(
    api: Client, provider_server: Provider
) -> None:
    provider = ParticipantFactory(webhook_url=provider_server.url)
    Participant.objects.filter(pk=provider.pk).update(webhook_secret_encrypted=None)
    key = api_key_issue(participant=provider)
    sent = first_webhook(api, key, provider_server, LISTING)
    provider.refresh_from_db()
    stored = webhook_secret(provider)
    assert stored is not None
    assert signed_with(stored, sent)


def test_every_participant_is_created_with_a_webhook_secret() -> None:
    assert webhook_secret(ParticipantFactory()) is not None


def test_a_repeated_registration_answers_with_the_same_secret(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    first = paid_post(api, "/v1/register", {"name": "Twice", "type": "provider"}, payer)
    header, value = payment_header(post(api, "/v1/register", {"name": "Twice"}), payer, version=1)
    again = post(api, "/v1/register", {"name": "Twice"}, **{header: value})
    assert again.status_code == 200, again.content
    assert again.json()["webhook_secret"] == first["webhook_secret"]
