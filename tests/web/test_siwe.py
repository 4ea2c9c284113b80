"""Sign-In with Ethereum through the Django client: what the server refuses, and why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from payments.models import Participant, WebAccount
from payments.services import participant_register

pytestmark = pytest.mark.django_db

HOST = "testserver"


def nonce_message(client: Client, account: LocalAccount, purpose: str = "login") -> str:
    response = client.post(
        "/accounts/wallet/nonce/",
        {"address": account.address, "purpose": purpose},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return str(response.json()["message"])


def signed(account: LocalAccount, message: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def present(
    client: Client, message: str, signature: str, url: str = "/accounts/wallet/login/"
) -> Any:
    return client.post(
        url, {"message": message, "signature": signature}, content_type="application/json"
    )


def test_a_signed_message_signs_the_wallet_in_to_its_registered_participant() -> None:
    client, agent = Client(), Account.create()
    participant = participant_register(wallet=agent.address, name="A", type="agent").participant
    message = nonce_message(client, agent)

    response = present(client, message, signed(agent, message))

    assert response.status_code == 200, response.content
    assert response.json()["redirect"] == "/dashboard/"
    assert WebAccount.objects.get(participant=participant).user.pk == int(
        client.session["_auth_user_id"]
    )


def test_a_replayed_message_is_refused_because_its_nonce_was_used() -> None:
    client, agent = Client(), Account.create()
    message = nonce_message(client, agent)
    signature = signed(agent, message)
    assert present(client, message, signature).status_code == 200

    replay = present(client, message, signature)

    assert replay.status_code == 401
    assert replay.json()["code"] == "siwe_nonce"


def test_a_nonce_given_to_another_browser_session_is_refused() -> None:
    agent = Account.create()
    message = nonce_message(Client(), agent)

    response = present(Client(), message, signed(agent, message))

    assert response.json()["code"] == "siwe_nonce"
    assert not Participant.objects.filter(wallet=agent.address).exists()


def test_an_expired_message_is_refused() -> None:
    client, agent = Client(), Account.create()
    message = nonce_message(client, agent)
    signature = signed(agent, message)

    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        response = present(client, message, signature)

    assert response.status_code == 401
    assert response.json()["code"] == "siwe_expired"


def test_a_message_for_another_domain_is_refused() -> None:
    client, agent = Client(), Account.create()
    message = nonce_message(client, agent).replace(HOST, "evil.example")

    response = present(client, message, signed(agent, message))

    assert response.status_code == 401
    assert response.json()["code"] == "siwe_domain"


def test_a_message_for_another_chain_is_refused() -> None:
    client, agent = Client(), Account.create()
    message = nonce_message(client, agent).replace("Chain ID: 84532", "Chain ID: 8453")

    response = present(client, message, signed(agent, message))

    assert response.json()["code"] == "siwe_chain"


def test_a_signature_by_another_key_is_refused() -> None:
    client, agent = Client(), Account.create()
    message = nonce_message(client, agent)

    response = present(client, message, signed(Account.create(), message))

    assert response.status_code == 401
    assert response.json()["code"] == "siwe_signature"
    assert not Participant.objects.filter(wallet=agent.address).exists()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"message": "hello", "signature": "0x00"}',
        b'{"message": 5, "signature": null}',
    ],
)
def test_bad_input_is_a_client_error_never_a_crash(body: bytes) -> None:
    response = Client().post("/accounts/wallet/login/", body, content_type="application/json")

    assert response.status_code in (400, 401)
    assert "error" in response.json()


def test_the_nonce_endpoint_takes_no_get_and_no_foreign_form() -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.get("/accounts/wallet/nonce/").status_code == 405
    forged = client.post(
        "/accounts/wallet/nonce/",
        {"address": Account.create().address},
        content_type="application/json",
    )
    assert forged.status_code == 403


def test_linking_a_wallet_another_participant_owns_is_a_conflict(
    django_user_model: Any,
) -> None:
    taken = Account.create()
    participant_register(wallet=taken.address, name="Owner", type="agent")
    user = django_user_model.objects.create_user("bea", "bea@example.com", "a long password 1")
    client = Client()
    client.force_login(user)
    client.get("/dashboard/")
    _recently_authenticated(client, user)
    mine = WebAccount.objects.get(user=user).participant.wallet
    message = nonce_message(client, taken, purpose="link")

    response = present(client, message, signed(taken, message), url="/accounts/wallet/link/")

    assert response.status_code == 409
    assert response.json()["code"] == "wallet_taken"
    assert WebAccount.objects.get(user=user).participant.wallet == mine


def test_linking_a_wallet_needs_a_recent_authentication(django_user_model: Any) -> None:
    user = django_user_model.objects.create_user("cy", "cy@example.com", "a long password 1")
    client = Client()
    client.force_login(user)

    response = client.post(
        "/accounts/wallet/nonce/",
        {"address": Account.create().address, "purpose": "link"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "reauthentication_required"
    assert response.json()["reauthenticate_url"].startswith("/accounts/reauthenticate/")


def test_a_linked_wallet_replaces_the_managed_one_and_then_signs_in(
    django_user_model: Any,
) -> None:
    user = django_user_model.objects.create_user("di", "di@example.com", "a long password 1")
    client, own = Client(), Account.create()
    client.force_login(user)
    client.get("/dashboard/")
    _recently_authenticated(client, user)
    message = nonce_message(client, own, purpose="link")

    response = present(client, message, signed(own, message), url="/accounts/wallet/link/")

    assert response.status_code == 200, response.content
    participant = WebAccount.objects.get(user=user).participant
    assert participant.wallet == own.address
    assert participant.managed_wallets.get().replaced_at is not None
    other_browser = Client()
    login = nonce_message(other_browser, own)
    assert present(other_browser, login, signed(own, login)).status_code == 200
    assert int(other_browser.session["_auth_user_id"]) == user.pk


def _recently_authenticated(client: Client, user: Any) -> None:
    """Confirm the password on allauth's re-authentication page, as the owner would."""
    response = client.post("/accounts/reauthenticate/", {"password": "a long password 1"})
    assert response.status_code == 302, response.content
