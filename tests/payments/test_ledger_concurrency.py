"""Concurrent spending of one balance (meaningful on PostgreSQL; serialised on SQLite)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from payments.ledger import (
    PLATFORM_FEES,
    WORLD,
    InsufficientFunds,
    Posting,
    agent_account,
    balance_of,
    ledger_record,
)
from payments.ledger_check import ledger_problems
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_parallel_charges_on_a_balance_for_ten_succeed_ten_times() -> None:
    agent = agent_account(ParticipantFactory())
    ledger_record(kind="deposit", idempotency_key="d", postings=[Posting(WORLD, agent, 10_000)])

    def charge(i: int) -> bool:
        try:
            ledger_record(
                kind="charge",
                idempotency_key=f"charge-{i}",
                postings=[Posting(agent, PLATFORM_FEES, 1_000)],
            )
            return True
        except InsufficientFunds:
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(charge, range(50)))
    assert results.count(True) == 10
    assert balance_of(agent) == 0
    assert balance_of(PLATFORM_FEES) == 10_000
    assert ledger_problems() == []


def test_the_same_key_sent_concurrently_records_once() -> None:
    agent = agent_account(ParticipantFactory())

    def deposit(_: int) -> int:
        try:
            return ledger_record(
                kind="deposit", idempotency_key="once", postings=[Posting(WORLD, agent, 500)]
            ).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = set(pool.map(deposit, range(20)))
    assert len(ids) == 1
    assert balance_of(agent) == 500
    assert ledger_problems() == []


def test_concurrent_first_postings_to_a_new_account_all_land() -> None:
    """Rounds of deposits racing to be the first to touch an account that does not exist
    yet: each creates it or finds it created meanwhile, and none is refused."""
    for round_ in range(5):
        agent = agent_account(ParticipantFactory())
        start = threading.Barrier(8)

        def deposit(i: int, agent: str = agent, round_: int = round_, start: Any = start) -> bool:
            try:
                start.wait()
                ledger_record(
                    kind="deposit",
                    idempotency_key=f"first-{round_}-{i}",
                    postings=[Posting(WORLD, agent, 100)],
                )
                return True
            except InsufficientFunds:
                return False
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(pool.map(deposit, range(8)))
        assert balance_of(agent) == 800
    assert ledger_problems() == []
