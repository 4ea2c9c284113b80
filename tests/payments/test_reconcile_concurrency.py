"""Reconciliation running while money moves: it must never mistake money in flight for money
missing from (or unexplained in) the escrow contract."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf

from payments import escrow as escrows
from payments import hooks
from payments.chain.escrow_state import unallocated
from payments.chain.usdc import balance_of as chain_balance
from payments.chain_calls import chain_calls_run_due
from payments.escrow import InvalidTransition, escrow_open_on_chain
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import ChainCall, Escrow, ReconciliationIssue, X402Payment
from payments.reconcile import reconcile
from payments.services import participant_for_wallet
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db(transaction=True)

AMOUNT, FEE = 1_000_000, 50_000
OPEN = [ChainCall.Status.QUEUED, ChainCall.Status.SENT]


def open_escrow(payment: X402Payment, *, expires_in: timedelta) -> Escrow:
    """The escrow a payment of AMOUNT + FEE to the contract paid for; its `fund` is queued."""
    return escrow_open_on_chain(
        payment=payment,
        payer=participant_for_wallet(payment.payer),
        payee=ParticipantFactory(type="provider"),
        amount=AMOUNT,
        fee=FEE,
        expires_at=timezone.now() + expires_in,
    )


def test_reconcile_racing_fundings_and_returns_sees_no_money_missing_or_unexplained(
    chain: Any,
    pay_escrow_contract: Callable[[int], X402Payment],
    snapshot: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four escrows wait for their `fund` and two payments became no escrow, all past the
    grace period, so each is money the contract must hold until its call is sent. One thread
    sends the calls (fundings, then the returns reconcile queues) while another reconciles
    over and over: no run may see a shortfall or an excess."""
    monkeypatch.setattr(Conf, "SYNC", False)  # calls wait in the queue until sent below
    for _ in range(4):
        payment = pay_escrow_contract(AMOUNT + FEE)
        open_escrow(payment, expires_in=timedelta(days=1))
    pay_escrow_contract(300)
    pay_escrow_contract(400)
    X402Payment.objects.update(created_at=timezone.now() - timedelta(hours=1))
    reconciled = threading.Event()
    errors: list[BaseException] = []

    def send_calls() -> None:
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                not reconciled.is_set() or ChainCall.objects.filter(status__in=OPEN).exists()
            ):
                if not chain_calls_run_due(budget_seconds=5):
                    time.sleep(0.01)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    def reconcile_repeatedly() -> None:
        try:
            for _ in range(15):
                reconcile()
        except BaseException as exc:
            errors.append(exc)
        finally:
            reconciled.set()
            connection.close()

    threads = [threading.Thread(target=send_calls), threading.Thread(target=reconcile_repeatedly)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert errors == []
    kinds = ReconciliationIssue.objects.values_list("kind", flat=True)
    assert not {"escrow_unallocated_shortfall", "escrow_unallocated_funds"} & set(kinds)
    assert set(Escrow.objects.values_list("status", flat=True)) == {Escrow.Status.HELD}
    assert unallocated() == 0  # both payments went back to their payers
    assert ledger_problems() == []


def test_reconcile_settling_a_failed_escrow_racing_an_operators_release_moves_it_once(
    chain: Any,
    w3: Any,
    pay_escrow_contract: Callable[[int], X402Payment],
    snapshot: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An escrow whose funding the contract refused, its settlement left to reconciliation
    (the process stopped after the failure); reconcile's settlement (a refund) and an
    operator's release run at once: one wins, the other is refused, the money leaves once."""
    monkeypatch.setattr(Conf, "SYNC", False)
    payment = pay_escrow_contract(AMOUNT + FEE)
    escrow = open_escrow(payment, expires_in=timedelta(hours=1))
    w3.provider.make_request("evm_increaseTime", [2 * 3600])  # `fund` is mined after expiry
    w3.provider.make_request("evm_mine", [])
    with hooks.escrow_failed.installed(lambda escrow: None):  # stopped
        chain_calls_run_due(budget_seconds=20)
    escrow.refresh_from_db()
    assert (escrow.status, ledger_balance(f"escrow:{escrow.public_id}")) == ("failed", escrow.total)

    barrier = threading.Barrier(2)

    def settle(move: Callable[[Escrow], object]) -> str:
        barrier.wait(timeout=30)
        try:
            move(Escrow.objects.get(pk=escrow.pk))
            return "moved"
        except InvalidTransition:
            return "refused"
        finally:
            connection.close()

    def release(locked: Escrow) -> object:
        return escrows.escrow_release(locked, reason="verified by an operator")

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(settle, [escrows.escrow_failed_settle, release]))
    assert sorted(outcomes) == ["moved", "refused"]
    while chain_calls_run_due(budget_seconds=20):
        pass
    paid = [
        chain_balance(token=chain.usdc, address=wallet)
        for wallet in (escrow.payer.wallet, escrow.payee.wallet)
    ]
    assert paid in ([AMOUNT + FEE, 0], [0, AMOUNT])  # refunded, or released
    assert (unallocated(), ledger_balance(f"escrow:{escrow.public_id}")) == (0, 0)
    assert ledger_problems() == []
