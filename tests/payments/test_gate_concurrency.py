"""Money paths under concurrency (run on PostgreSQL by CI; SQLite serialises writers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from payments.chain.usdc import balance_of
from payments.ledger import agent_account
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import X402Payment
from payments.services import participant_for_wallet
from payments.settlements import reconcile_x402_payments
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db(transaction=True)


def post(path: str, body: Any = None, **headers: str) -> Any:
    client = Client(HTTP_HOST="127.0.0.1")
    try:
        return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)
    finally:
        connection.close()


def test_twenty_concurrent_replays_of_one_payment_pay_once_and_share_its_answer(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(post("/v1/register", {"name": "A"}), payer, version=1)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(lambda _: post("/v1/register", {"name": "A"}, **{header: value}), range(20))
        )
    statuses = [answer.status_code for answer in answers]
    # Copies of the paid request wait for its answer and give it (202 only past the
    # settle timeout): never a 409, never a fresh 402.
    assert set(statuses) <= {201, 202}, statuses
    assert len({a.json()["api_key"] for a in answers if a.status_code == 201}) == 1
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000
    assert X402Payment.objects.count() == 1
    assert ledger_problems() == []


def test_fifty_parallel_balance_payments_on_a_balance_for_ten(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    key = _register_and_deposit(payer, "0.01")  # ten calls of $0.001
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(
                lambda _: post("/v1/discover", {}, HTTP_X_BALANCE_AUTH=key).status_code, range(50)
            )
        )
    assert statuses.count(200) == 10, statuses
    assert statuses.count(402) == 40
    client = Client(HTTP_HOST="127.0.0.1")
    assert client.get("/v1/balance", HTTP_X_API_KEY=key).json()["balance_usd"] == 0
    assert ledger_problems() == []


def _register_and_deposit(payer: Any, amount: str) -> str:
    header, value = payment_header(post("/v1/register", {"name": "A"}), payer, version=1)
    key = post("/v1/register", {"name": "A"}, **{header: value}).json()["api_key"]
    path = f"/v1/balance/deposit?amount={amount}"
    header, value = payment_header(post(path), payer, version=1)
    assert post(path, **{header: value}).status_code == 201
    return key


def test_a_replay_racing_reconcile_for_an_unfinished_payment_pays_for_one_outcome(
    chain: Any, w3: Any, funded_payer: Callable[..., Any], settings: Any
) -> None:
    """A settlement whose receipt came too late (202): the buyer's replay completes the
    request while reconciliation, its grace period over, credits the payment to the buyer's
    balance. Exactly one of them gets the payment."""
    payer = funded_payer(1_000_000)
    settings.SETTLE_TIMEOUT = 1
    header, value = payment_header(post("/v1/register", {"name": "A"}), payer, version=1)
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        assert post("/v1/register", {"name": "A"}, **{header: value}).status_code == 202
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_mine", [])
    X402Payment.objects.update(created_at=timezone.now() - timedelta(hours=1))
    barrier = threading.Barrier(2)

    def replay() -> int:
        barrier.wait(timeout=30)
        return post("/v1/register", {"name": "A"}, **{header: value}).status_code

    def reconcile() -> dict[str, int]:
        barrier.wait(timeout=30)
        try:
            return reconcile_x402_payments()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        replayed, reconciled = pool.submit(replay), pool.submit(reconcile)
        status, counts = replayed.result(), reconciled.result()
    credited = ledger_balance(agent_account(participant_for_wallet(payer.address)))
    if status == 201:
        assert (counts["credited"], credited) == (0, 0)
    else:
        assert status == 409  # already paid for: the credit
        assert (counts["credited"], credited) == (1, 10_000)
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000
    assert ledger_problems() == []
