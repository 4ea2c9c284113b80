"""POST /v1/referrals/withdraw moves the available earnings to the caller's balance."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.ledger import agent_account, balance_of
from payments.ledger_check import ledger_problems
from referrals.models import ReferralReward
from referrals.services import referral_account, rewards_scan
from tests.provider_server import Provider
from tests.referrals.helpers import FEE, buy, buyer, data_api, referrer

pytestmark = pytest.mark.django_db
EARNED = 3 * FEE * 20 // 100


@pytest.fixture
def earned(api: Client, provider_server: Provider) -> tuple[object, str]:
    ref, key, code = referrer()
    _, buyer_key = buyer(code)
    buy(api, data_api(provider_server), buyer_key, times=3)
    rewards_scan()
    return ref, key


def test_a_withdrawal_moves_the_earnings_to_the_balance(
    api: Client, earned: tuple[object, str]
) -> None:
    ref, key = earned
    response = api.post("/v1/referrals/withdraw", HTTP_X_API_KEY=key)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["withdrawn_usd"], body["balance_usd"], body["rewards"]) == (0.03, 0.03, 3)
    assert balance_of(agent_account(ref)) == EARNED  # type: ignore[arg-type]
    assert balance_of(referral_account(ref)) == 0  # type: ignore[arg-type]
    assert set(ReferralReward.objects.values_list("status", flat=True)) == {"withdrawn"}
    assert ledger_problems() == []


def test_nothing_to_withdraw_is_a_409(api: Client, earned: tuple[object, str]) -> None:
    _, key = earned
    assert api.post("/v1/referrals/withdraw", HTTP_X_API_KEY=key).status_code == 200
    again = api.post("/v1/referrals/withdraw", HTTP_X_API_KEY=key)
    assert (again.status_code, again.json()["code"]) == (409, "no_referral_earnings")


def test_a_repeat_with_the_same_idempotency_key_gets_the_first_answer(
    api: Client, earned: tuple[object, str]
) -> None:
    ref, key = earned
    headers = {"HTTP_X_API_KEY": key, "HTTP_IDEMPOTENCY_KEY": "w1"}
    first = api.post("/v1/referrals/withdraw", "{}", content_type="application/json", **headers)
    again = api.post("/v1/referrals/withdraw", "{}", content_type="application/json", **headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert balance_of(agent_account(ref)) == EARNED  # type: ignore[arg-type]
    assert ledger_problems() == []


def test_withdrawing_needs_an_api_key(api: Client) -> None:
    assert api.post("/v1/referrals/withdraw").status_code == 401


def test_earnings_show_totals_and_history(api: Client, earned: tuple[object, str]) -> None:
    _, key = earned
    body = api.get("/v1/referrals/earnings", HTTP_X_API_KEY=key).json()
    assert (body["available_usd"], body["pending_usd"], body["total"]) == (0.03, 0, 3)
    assert [h["amount_usd"] for h in body["history"]] == [0.01] * 3
    assert body["monthly_cap_usd"] == 500


def test_the_referrals_list_shows_each_referred_participant(
    api: Client, earned: tuple[object, str]
) -> None:
    _, key = earned
    body = api.get("/v1/referrals", HTTP_X_API_KEY=key).json()
    assert body["total"] == 1
    only = body["referrals"][0]
    assert (only["status"], only["transactions"], only["earned_usd"]) == ("active", 3, 0.03)
