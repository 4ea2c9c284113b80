"""In a real browser: email sign-up with verification, wallet sign-in of an agent that
registered by API, and an API key rotated on the dashboard working on the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from eth_account import Account

from payments.models import Participant, WebAccount
from payments.services import participant_register
from tests.web.conftest import Wallet, axe_check, snap

pytestmark = pytest.mark.django_db(transaction=True)


def test_email_sign_up_verifies_by_the_mailed_link_and_opens_a_managed_wallet_dashboard(
    page: Any, url: Callable[[str], str], mailoutbox: list[Any]
) -> None:
    page.goto(url("/"))
    axe_check(page)
    snap(page, "home")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password:", exact=True).fill("correct horse battery staple")
    page.get_by_label("Password (again):").fill("correct horse battery staple")
    axe_check(page)
    snap(page, "signup")
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()
    axe_check(page)

    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body)
    assert link is not None, mailoutbox[0].body
    page.goto(link.group(0))
    axe_check(page)
    page.get_by_role("button", name="Confirm").click()

    page.wait_for_url(url("/dashboard/"))
    participant = WebAccount.objects.get(user__email="ada@example.com").participant
    assert page.get_by_test_id("wallet").inner_text() == participant.wallet
    assert participant.managed_wallets.get().address == participant.wallet
    axe_check(page)
    snap(page, "dashboard")

    page.get_by_role("link", name="Account and API key").click()
    assert page.get_by_test_id("api-key").inner_text().startswith("sk_")
    axe_check(page)
    snap(page, "account")
    page.reload()
    assert page.get_by_test_id("api-key").count() == 0  # shown once


def test_an_agent_registered_by_api_signs_in_with_its_wallet_and_sees_its_dashboard(
    page: Any, url: Callable[[str], str], wallet: Callable[..., Wallet]
) -> None:
    agent = Account.create()
    participant_register(wallet=agent.address, name="Scout agent", type="agent")
    signer = wallet(agent)

    page.goto(url("/accounts/login/"))
    axe_check(page)
    snap(page, "login")
    page.get_by_role("button", name="Sign in with your wallet").click()

    page.wait_for_url(url("/dashboard/"))
    assert signer.requests == ["personal_sign"]
    assert page.get_by_test_id("wallet").inner_text() == agent.address
    assert page.get_by_role("heading", name="Scout agent").is_visible()
    participant = Participant.objects.get(wallet=agent.address)
    assert participant.web_account.user.is_authenticated
    axe_check(page)


def test_an_api_key_rotated_on_the_dashboard_works_on_the_api_and_the_old_one_stops(
    page: Any, url: Callable[[str], str], wallet: Callable[..., Wallet]
) -> None:
    agent = Account.create()
    old_key = participant_register(wallet=agent.address, name="Rotator", type="agent").api_key
    wallet(agent)
    page.goto(url("/accounts/login/"))
    page.get_by_role("button", name="Sign in with your wallet").click()
    page.wait_for_url(url("/dashboard/"))

    page.goto(url("/dashboard/account/"))
    page.get_by_role("button", name="Rotate the API key").click()
    new_key = page.get_by_test_id("api-key").inner_text()
    axe_check(page)

    assert new_key.startswith("sk_") and new_key != old_key
    with httpx.Client(base_url=url("")) as api:
        assert api.get("/v1/balance", headers={"X-API-Key": new_key}).status_code == 200
        assert api.get("/v1/balance", headers={"X-API-Key": old_key}).status_code == 401
