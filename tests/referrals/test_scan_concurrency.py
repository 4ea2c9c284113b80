"""Two scans racing over the same transactions credit each reward once (meaningful on
PostgreSQL; serialised on SQLite)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from payments.ledger import PLATFORM_FEES, balance_of
from payments.ledger_check import ledger_problems
from referrals.models import ReferralReward
from referrals.services import referral_account, rewards_scan
from tests.provider_server import Provider
from tests.referrals.helpers import FEE, buy, buyer, data_api, referrer

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_racing_scans_credit_each_transaction_once(
    api: Client, provider_server: Provider
) -> None:
    agent_ref, _, agent_code = referrer()
    provider_ref, _, provider_code = referrer()
    _, key = buyer(agent_code)
    buy(api, data_api(provider_server, code=provider_code), key, times=4)
    start = threading.Barrier(2)

    def scan(_: int) -> int:
        try:
            start.wait()
            return rewards_scan().credited
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        credited = list(pool.map(scan, range(2)))

    assert sum(credited) == 8  # 4 transactions, 2 referred sides, whoever credited them
    assert ReferralReward.objects.filter(status="credited").count() == 8
    assert balance_of(referral_account(agent_ref)) == 4 * FEE * 20 // 100
    assert balance_of(referral_account(provider_ref)) == 4 * FEE * 25 // 100
    assert balance_of(PLATFORM_FEES) == 4 * FEE - 4 * FEE * 45 // 100
    assert ledger_problems() == []
