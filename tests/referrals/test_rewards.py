"""Rewards: 20% of the fee for a referred buyer, 25% for a referred provider, credited by the
scan once the referred participant's third transaction is final (the first three included),
out of the platform's fees in balanced ledger transactions."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.ledger import PLATFORM_FEES, balance_of
from payments.ledger_check import ledger_problems
from referrals.models import Referral, ReferralReward
from referrals.services import referral_account, rewards_scan
from tests.provider_server import Provider
from tests.referrals.helpers import FEE, buy, buyer, data_api, referrer

pytestmark = pytest.mark.django_db


def test_a_referred_buyer_earns_its_referrer_20_percent_of_each_fee(
    api: Client, provider_server: Provider
) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    buy(api, data_api(provider_server), key, times=3)

    rewards_scan()

    rewards = ReferralReward.objects.filter(referrer=ref)
    assert sorted(r.amount_micros for r in rewards) == [FEE * 20 // 100] * 3
    assert {(r.status, r.side, r.source) for r in rewards} == {("credited", "agent", "data_api")}
    assert balance_of(referral_account(ref)) == 3 * FEE * 20 // 100
    assert balance_of(PLATFORM_FEES) == 3 * FEE - 3 * FEE * 20 // 100
    assert ledger_problems() == []


def test_a_referred_provider_earns_its_referrer_25_percent_of_each_fee(
    api: Client, provider_server: Provider
) -> None:
    ref, _, code = referrer()
    _, key = buyer()
    buy(api, data_api(provider_server, code=code), key, times=3)

    rewards_scan()

    rewards = ReferralReward.objects.filter(referrer=ref)
    assert sorted(r.amount_micros for r in rewards) == [FEE * 25 // 100] * 3
    assert {r.side for r in rewards} == {"provider"}
    assert ledger_problems() == []


def test_rewards_wait_as_pending_before_the_third_transaction(
    api: Client, provider_server: Provider
) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    service = data_api(provider_server)
    buy(api, service, key, times=2)

    rewards_scan()

    assert list(ReferralReward.objects.values_list("status", flat=True)) == ["pending"] * 2
    assert Referral.objects.get(referrer=ref).status == "waiting"
    assert balance_of(referral_account(ref)) == 0
    assert ledger_problems() == []


def test_the_third_transaction_credits_the_first_three(
    api: Client, provider_server: Provider
) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    service = data_api(provider_server)
    buy(api, service, key, times=2)
    rewards_scan()
    buy(api, service, key)

    rewards_scan()

    assert list(ReferralReward.objects.values_list("status", flat=True)) == ["credited"] * 3
    assert Referral.objects.get(referrer=ref).status == "active"
    assert ledger_problems() == []


def test_a_scan_run_again_credits_nothing_twice(api: Client, provider_server: Provider) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    buy(api, data_api(provider_server), key, times=3)
    rewards_scan()

    again = rewards_scan()

    assert again.credited == 0
    assert ReferralReward.objects.count() == 3
    assert balance_of(referral_account(ref)) == 3 * FEE * 20 // 100
    assert ledger_problems() == []


def test_transactions_of_participants_nobody_referred_earn_nothing(
    api: Client, provider_server: Provider
) -> None:
    _, key = buyer()
    buy(api, data_api(provider_server), key, times=3)

    report = rewards_scan()

    assert report.events == 3
    assert ReferralReward.objects.count() == 0
    assert balance_of(PLATFORM_FEES) == 3 * FEE
