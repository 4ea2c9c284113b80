"""The dashboard and account pages through the Django client: who may see and do what,
and bad input."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from eth_account import Account

from payments.accounts import wallet_link
from payments.models import ApiKey, Participant, WebAccount
from payments.services import participant_for_api_key
from tests.conftest import ONE_USDC
from tests.project.test_settings import KEYS, settings_values

pytestmark = pytest.mark.django_db

PASSWORD = "a long password 1"


@pytest.fixture
def member(django_user_model: Any) -> tuple[Client, Any]:
    """A signed-in email account (its participant is made on the first visit)."""
    user = django_user_model.objects.create_user("eve", "eve@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 200
    return client, user


def participant_of(user: Any) -> Participant:
    return WebAccount.objects.select_related("participant").get(user=user).participant


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/account/"])
def test_a_visitor_without_a_session_is_sent_to_sign_in(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/account/rotate-key/",
        "/dashboard/account/profile/",
        "/dashboard/account/export-key/",
    ],
)
def test_account_actions_need_a_session(path: str) -> None:
    response = Client().post(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_first_visit_of_an_email_account_makes_a_managed_wallet_and_shows_the_key_once(
    member: tuple[Client, Any],
) -> None:
    client, user = member
    participant = participant_of(user)

    first = client.get("/dashboard/account/").content.decode()
    second = client.get("/dashboard/account/").content.decode()

    key = re.search(r'data-testid="api-key">(sk_[^<]+)<', first)
    assert key is not None
    assert participant_for_api_key(key.group(1)) == participant
    assert key.group(1) not in second
    assert participant.managed_wallets.get().address == participant.wallet
    assert participant.registered_at is not None


def test_a_forged_rotate_form_without_the_csrf_token_is_refused(
    django_user_model: Any,
) -> None:
    user = django_user_model.objects.create_user("fay", "fay@example.com", PASSWORD)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/dashboard/")
    before = list(ApiKey.objects.filter(participant=participant_of(user)).values_list("pk"))

    response = client.post("/dashboard/account/rotate-key/")

    assert response.status_code == 403
    after = list(ApiKey.objects.filter(participant=participant_of(user)).values_list("pk"))
    assert after == before


def test_rotating_the_key_revokes_the_old_one(member: tuple[Client, Any]) -> None:
    client, user = member
    old = ApiKey.objects.get(participant=participant_of(user), revoked_at__isnull=True)

    response = client.post("/dashboard/account/rotate-key/")

    assert response.status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert ApiKey.objects.filter(participant=participant_of(user), revoked_at=None).count() == 1


def test_a_profile_with_a_bad_webhook_url_is_shown_with_its_error_and_saves_nothing(
    member: tuple[Client, Any],
) -> None:
    client, user = member

    response = client.post(
        "/dashboard/account/profile/",
        {"name": "Changed", "webhook_url": "ftp://example.com/hook", "description": ""},
    )

    assert response.status_code == 400
    assert "must be an http(s) URL" in response.content.decode()
    assert participant_of(user).name == ""


def test_the_profile_is_saved_by_the_same_rules_as_the_api(member: tuple[Client, Any]) -> None:
    client, user = member

    response = client.post(
        "/dashboard/account/profile/",
        {"name": " Eve's agent ", "description": "Buys audits", "capabilities": "seo, audit"},
    )

    assert response.status_code == 302
    participant = participant_of(user)
    assert (participant.name, participant.capabilities) == ("Eve's agent", ["seo", "audit"])


def test_exporting_the_managed_key_needs_a_recent_authentication(
    member: tuple[Client, Any],
) -> None:
    client, user = member
    participant = participant_of(user)

    response = client.post("/dashboard/account/export-key/", {"address": participant.wallet})

    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert participant.managed_wallets.get().exported_at is None


def test_the_managed_key_is_exported_once_and_is_the_wallet_s_key(
    member: tuple[Client, Any],
) -> None:
    client, user = member
    participant = participant_of(user)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    client.post("/dashboard/account/export-key/", {"address": participant.wallet})
    page = client.get("/dashboard/account/").content.decode()
    again = client.post("/dashboard/account/export-key/", {"address": participant.wallet})
    after = client.get(again["Location"]).content.decode()

    key = re.search(r'data-testid="wallet-key">(0x[0-9a-f]{64})<', page)
    assert key is not None
    assert Account.from_key(key.group(1)).address == participant.wallet
    assert "already exported" in after
    assert key.group(1) not in after


def test_another_account_s_managed_wallet_cannot_be_exported(
    member: tuple[Client, Any], django_user_model: Any
) -> None:
    client, _user = member
    other = django_user_model.objects.create_user("gus", "gus@example.com", PASSWORD)
    other_client = Client()
    other_client.force_login(other)
    other_client.get("/dashboard/")
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    client.post("/dashboard/account/export-key/", {"address": participant_of(other).wallet})

    assert participant_of(other).managed_wallets.get().exported_at is None


def test_a_replaced_managed_key_stays_exportable_only_while_it_holds_usdc(
    member: tuple[Client, Any], chain: Any
) -> None:
    from payments.chain.usdc import mint

    client, user = member
    participant = participant_of(user)
    managed = participant.wallet
    wallet_link(participant=participant, wallet=Account.create().address)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    empty = client.post("/dashboard/account/export-key/", {"address": managed})
    refused = client.get(empty["Location"]).content.decode()
    mint(token=chain.usdc, to=managed, amount=ONE_USDC)
    client.post("/dashboard/account/export-key/", {"address": managed})
    shown = client.get("/dashboard/account/").content.decode()

    assert "holds no USDC" in refused
    assert 'data-testid="wallet-key"' in shown


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/accounts/signup/", "/dashboard/", "/docs"]
)
def test_pages_carry_a_content_security_policy_and_no_inline_script(
    member: tuple[Client, Any], path: str
) -> None:
    client, _user = member
    response = Client().get(path) if path.startswith("/accounts/") else client.get(path)

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-ancestors 'none'" in policy
    scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert all("src=" in tag for tag in scripts), scripts


def test_json_answers_carry_no_content_security_policy(member: tuple[Client, Any]) -> None:
    _client, user = member

    response = Client().get(f"/v1/participants/{participant_of(user).public_id}")

    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_session_cookies_are_secure_off_devnet_by_default(tmp_path: Path) -> None:
    values = settings_values(
        tmp_path,
        ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"],
        THE402_NETWORK="base-sepolia",
        THE402_PAY_TO="0x" + "11" * 20,
        CHAIN_RPC_URL="http://127.0.0.1:1",
        THE402_RELAYER_KEY="0x" + "22" * 32,
        **KEYS,
    )

    assert values == {"SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True}
