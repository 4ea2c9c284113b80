"""The launch bonus (2x for the first 90 days of the programme) and the $500 monthly cap
per referrer, with the clock moved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from payments.ledger import balance_of
from payments.ledger_check import ledger_problems
from referrals import program
from referrals.models import ReferralReward
from referrals.services import referral_account, rewards_scan
from tests.provider_server import Provider
from tests.referrals.helpers import FEE, ONE_USD, buy, buyer, data_api, referrer

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def launched(settings: Any) -> None:
    settings.REFERRAL_PROGRAM_START = START


def test_rates_are_doubled_during_the_first_90_days(
    api: Client, provider_server: Provider, launched: None
) -> None:
    with time_machine.travel(START + timedelta(days=89), tick=False):
        ref, _, code = referrer()
        _, key = buyer(code)
        buy(api, data_api(provider_server), key, times=3)
        rewards_scan()

    assert {r.amount_micros for r in ReferralReward.objects.all()} == {FEE * 40 // 100}
    assert balance_of(referral_account(ref)) == 3 * FEE * 40 // 100
    assert ledger_problems() == []


def test_rates_are_back_to_normal_after_90_days(
    api: Client, provider_server: Provider, launched: None
) -> None:
    with time_machine.travel(START + timedelta(days=90), tick=False):
        _, _, code = referrer()
        _, key = buyer(code)
        buy(api, data_api(provider_server), key, times=3)
        rewards_scan()

    assert {r.rate_bps for r in ReferralReward.objects.all()} == {2_000}
    assert ledger_problems() == []


def test_the_start_defaults_to_the_first_migration(settings: Any) -> None:
    settings.REFERRAL_PROGRAM_START = ""
    program._first_migration.cache_clear()
    start = program.program_start()
    assert start <= datetime.now(UTC)
    assert program.launch_ends() == start + timedelta(days=90)


def test_credits_stop_at_500_dollars_a_month_and_start_again_next_month(
    api: Client, provider_server: Provider
) -> None:
    # A provider referral (25%) on $4,000 calls: $50 a call; 12 calls would be $600.
    price = 4_000 * ONE_USD
    ref, _, code = referrer()
    with time_machine.travel(datetime(2026, 3, 10, tzinfo=UTC), tick=False):
        service = data_api(provider_server, code=code, price=price)
        _, key = buyer(funds=60_000 * ONE_USD)
        buy(api, service, key, times=12)
        rewards_scan()
    assert balance_of(referral_account(ref)) == 500 * ONE_USD
    assert sum(r.capped_micros for r in ReferralReward.objects.all()) == 100 * ONE_USD

    with time_machine.travel(datetime(2026, 4, 2, tzinfo=UTC), tick=False):
        buy(api, service, key)
        rewards_scan()

    assert balance_of(referral_account(ref)) == 550 * ONE_USD
    assert ledger_problems() == []
