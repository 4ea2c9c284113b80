"""API keys, registration and profiles (payments.services and the free identity endpoints)."""

from __future__ import annotations

import pytest
from django.test import Client

from payments import crypto
from payments.models import ApiKey, Participant
from payments.services import (
    api_key_issue,
    api_key_reveal,
    participant_for_api_key,
    participant_for_wallet,
    participant_register,
    participant_update,
    webhook_secret,
)
from tests.factories import ParticipantFactory, random_wallet

pytestmark = pytest.mark.django_db


def test_an_api_key_is_sk_and_long_and_never_stored_in_clear() -> None:
    participant = ParticipantFactory()
    key = api_key_issue(participant=participant)
    assert key.startswith("sk_") and len(key) >= 35
    record = ApiKey.objects.get(participant=participant)
    assert key not in record.key_hash
    assert key.encode() not in bytes(record.key_encrypted)


def test_an_api_key_finds_its_participant() -> None:
    participant = ParticipantFactory()
    key = api_key_issue(participant=participant)
    assert participant_for_api_key(key) == participant


def test_an_unknown_or_malformed_key_finds_nobody() -> None:
    assert participant_for_api_key("sk_" + "x" * 43) is None
    assert participant_for_api_key("not-a-key") is None
    assert participant_for_api_key("sk_" + "x" * 200) is None


def test_issuing_a_new_key_revokes_the_old_one_at_once() -> None:
    participant = ParticipantFactory()
    old = api_key_issue(participant=participant)
    new = api_key_issue(participant=participant)
    assert participant_for_api_key(old) is None
    assert participant_for_api_key(new) == participant
    assert ApiKey.objects.filter(participant=participant, revoked_at__isnull=True).count() == 1


def test_the_live_key_can_be_revealed_to_its_owner() -> None:
    participant = ParticipantFactory()
    key = api_key_issue(participant=participant)
    assert api_key_reveal(participant=participant) == key


def test_a_first_payment_creates_the_participant_once() -> None:
    wallet = random_wallet()
    first = participant_for_wallet(wallet)
    again = participant_for_wallet(wallet.upper().replace("0X", "0x"))
    assert first == again
    assert first.registered_at is None


def test_registration_is_idempotent_per_wallet() -> None:
    wallet = random_wallet()
    first = participant_register(wallet=wallet, name="Agent", type="agent")
    again = participant_register(wallet=wallet, name="Other name", type="provider")
    assert (first.created, again.created) == (True, False)
    assert again.participant == first.participant
    assert again.api_key == first.api_key
    assert Participant.objects.get(pk=first.participant.pk).name == "Agent"


def test_a_wallet_known_from_payments_becomes_registered() -> None:
    wallet = random_wallet()
    participant_for_wallet(wallet)
    registration = participant_register(wallet=wallet, name="Late", type="both")
    assert registration.created is True
    assert registration.participant.registered_at is not None


def test_a_participant_without_a_secret_gets_a_whsec_secret_kept_encrypted() -> None:
    participant = ParticipantFactory()
    Participant.objects.filter(pk=participant.pk).update(webhook_secret_encrypted=None)
    participant.refresh_from_db()
    secret = participant_update(participant=participant, webhook_url="https://p.example/hook")
    assert secret is not None and secret.startswith("whsec_")
    assert webhook_secret(participant) == secret
    assert secret.encode() not in bytes(participant.webhook_secret_encrypted)


def test_a_new_webhook_url_keeps_the_secret() -> None:
    participant = ParticipantFactory()
    first = webhook_secret(participant)
    assert participant_update(participant=participant, webhook_url="https://p.example/hook") is None
    assert participant_update(participant=participant, webhook_url="https://p.example/two") is None
    assert webhook_secret(participant) == first


def test_encryption_is_bound_to_its_purpose() -> None:
    blob = crypto.encrypt("secret", purpose="api-key")
    assert crypto.decrypt(blob, purpose="api-key") == "secret"
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidTag
        crypto.decrypt(blob, purpose="webhook-secret")


def test_a_public_profile_by_id_or_wallet(api: Client) -> None:
    participant = ParticipantFactory(name="Acme")
    for identifier in (participant.public_id, participant.wallet.lower()):
        body = api.get(f"/v1/participants/{identifier}").json()
        assert (body["participant_id"], body["name"]) == (participant.public_id, "Acme")
        assert "api_key" not in body


def test_an_unknown_profile_is_a_json_404(api: Client) -> None:
    response = api.get("/v1/participants/p_0000000000000000")
    assert (response.status_code, response.json()["code"]) == (404, "participant_not_found")


def test_the_owner_updates_its_profile_and_keeps_its_webhook_secret(api: Client) -> None:
    participant = ParticipantFactory()
    key = api_key_issue(participant=participant)
    response = api.put(
        f"/v1/participants/{participant.public_id}",
        {"name": "Renamed", "webhook_url": "https://p.example/hook"},
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert "webhook_secret" not in response.json()  # a URL change keeps the secret


def test_another_participant_cannot_update_a_profile(api: Client) -> None:
    owner, intruder = ParticipantFactory(), ParticipantFactory()
    key = api_key_issue(participant=intruder)
    response = api.put(
        f"/v1/participants/{owner.public_id}",
        {"name": "Hijacked"},
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.name != "Hijacked"


def test_updating_without_a_valid_key_is_a_401(api: Client) -> None:
    participant = ParticipantFactory()
    response = api.put(
        f"/v1/participants/{participant.public_id}",
        {"name": "x"},
        content_type="application/json",
        HTTP_X_API_KEY="sk_wrong",
    )
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


@pytest.mark.parametrize(
    "body",
    [{"webhook_url": "ftp://x.example"}, {"type": "robot"}, {"capabilities": "not a list"}],
)
def test_a_bad_profile_update_is_a_400_and_changes_nothing(api: Client, body: dict) -> None:
    participant = ParticipantFactory(name="Same")
    key = api_key_issue(participant=participant)
    response = api.put(
        f"/v1/participants/{participant.public_id}",
        body,
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 400
    participant.refresh_from_db()
    assert participant.name == "Same"


def test_the_balance_needs_an_api_key(api: Client) -> None:
    assert api.get("/v1/balance").status_code == 401


def test_a_new_balance_is_zero(api: Client) -> None:
    key = api_key_issue(participant=ParticipantFactory())
    body = api.get("/v1/balance", HTTP_X_API_KEY=key).json()
    assert (body["balance_usd"], body["total_deposited_usd"], body["total_spent_usd"]) == (0, 0, 0)
