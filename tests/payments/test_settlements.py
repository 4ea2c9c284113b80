"""Resolving payments whose outcome was unknown, and abandoned settled payments."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from payments.chain.usdc import SettleResult, settle_transfer_with_authorization
from payments.ledger import agent_account
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import X402Payment
from payments.services import participant_for_wallet
from payments.settlements import (
    payment_claim_fulfilment,
    payment_record_outcome,
    reconcile_x402_payments,
)
from tests.factories import payment_row
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db
LATER = timedelta(minutes=30)


def claimed_row(chain: Any, authorization: Any) -> X402Payment:
    """The row the gate writes before settling, as a crash would leave it."""
    return payment_row(chain.usdc, authorization, x402_version=1)


def test_a_crash_after_settling_is_found_on_chain_and_credited_to_the_payer(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    authorization, signature = authorize(payer, chain.treasury, 10_000)
    row = claimed_row(chain, authorization)  # the process died after sending, before recording
    assert (
        settle_transfer_with_authorization(
            token=chain.usdc, authorization=authorization, signature=signature
        ).status
        == "settled"
    )
    counts = reconcile_x402_payments(now=timezone.now() + LATER)
    row.refresh_from_db()
    assert (row.status, counts["credited"]) == ("settled", 1)
    assert row.fulfilled_at is not None
    participant = participant_for_wallet(payer.address)
    assert ledger_balance(agent_account(participant)) == 10_000
    assert ledger_problems() == []


def test_an_expired_unused_authorization_is_resolved_as_failed(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any], w3: Any
) -> None:
    payer = funded_payer(1_000_000)
    now = int(w3.eth.get_block("latest")["timestamp"])
    authorization, _ = authorize(payer, chain.treasury, 10_000, valid_before=now + 60)
    row = claimed_row(chain, authorization)
    reconcile_x402_payments(now=timezone.now() + LATER)
    row.refresh_from_db()
    assert (row.status, row.error_reason) == ("failed", "authorization_expired_unused")
    assert ledger_problems() == []


def test_an_unused_authorization_still_valid_stays_unresolved(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    authorization, _ = authorize(payer, chain.treasury, 10_000, valid_before=2**40)
    row = claimed_row(chain, authorization)
    assert reconcile_x402_payments(now=timezone.now() + LATER)["pending"] == 1
    row.refresh_from_db()
    assert row.status == "settling"


def test_recent_payments_are_left_to_their_requests(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    authorization, _ = authorize(funded_payer(1_000_000), chain.treasury, 10_000)
    claimed_row(chain, authorization)
    assert reconcile_x402_payments() == {"settled": 0, "failed": 0, "pending": 0, "credited": 0}


def test_a_payment_is_left_to_its_request_for_ten_minutes(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    authorization, _ = authorize(
        funded_payer(1_000_000), chain.treasury, 10_000, valid_before=2**40
    )
    claimed_row(chain, authorization)
    almost = reconcile_x402_payments(now=timezone.now() + timedelta(minutes=9, seconds=50))
    assert almost["pending"] == 0
    past = reconcile_x402_payments(now=timezone.now() + timedelta(minutes=10, seconds=10))
    assert past["pending"] == 1


def test_an_outcome_is_recorded_once(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    authorization, _ = authorize(funded_payer(1_000_000), chain.treasury, 10_000)
    row = claimed_row(chain, authorization)
    assert payment_record_outcome(row, SettleResult("settled", "0x" + "aa" * 32, None))
    assert not payment_record_outcome(row, SettleResult("failed", "", "insufficient_funds"))
    row.refresh_from_db()
    assert (row.status, row.settled_at is not None) == ("settled", True)


def test_a_settled_payment_is_credited_only_once_its_request_had_ten_minutes(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    authorization, _ = authorize(funded_payer(1_000_000), chain.treasury, 10_000)
    row = claimed_row(chain, authorization)
    payment_record_outcome(row, SettleResult("settled", "0x" + "aa" * 32, None))
    # Settled just now: its request may be doing the work it paid for.
    assert reconcile_x402_payments(now=timezone.now() + timedelta(minutes=9))["credited"] == 0
    assert reconcile_x402_payments(now=timezone.now() + timedelta(minutes=11))["credited"] == 1


def test_a_payment_pays_for_one_fulfilment(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any]
) -> None:
    authorization, _ = authorize(funded_payer(1_000_000), chain.treasury, 10_000)
    row = claimed_row(chain, authorization)
    assert payment_claim_fulfilment(row)
    assert not payment_claim_fulfilment(row)


@pytest.mark.parametrize("status", ["failed", "pending"])
def test_only_a_settled_outcome_has_a_settlement_time(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any], status: str
) -> None:
    authorization, _ = authorize(funded_payer(1_000_000), chain.treasury, 10_000)
    row = claimed_row(chain, authorization)
    payment_record_outcome(row, SettleResult(status, "", "insufficient_funds"))
    row.refresh_from_db()
    assert (row.status, row.settled_at) == (status, None)


def test_a_pending_settlement_that_landed_is_settled_then_credited(
    api: Client, chain: Any, w3: Any, funded_payer: Callable[..., Any], settings: Any
) -> None:
    payer = funded_payer(1_000_000)
    settings.SETTLE_TIMEOUT = 1
    body = json.dumps({"name": "A"})
    first = api.post("/v1/register", body, content_type="application/json")
    header, value = payment_header(first, payer, version=1)
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        response = api.post(
            "/v1/register", body, content_type="application/json", **{header: value}
        )
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_mine", [])
    assert response.status_code == 202
    counts = reconcile_x402_payments(now=timezone.now() + LATER)
    assert (counts["settled"], counts["credited"]) == (1, 1)
    assert X402Payment.objects.get().status == "settled"
    assert ledger_problems() == []


def test_setup_schedules_installs_reconciliation_once() -> None:
    call_command("setup_schedules", verbosity=0)
    call_command("setup_schedules", verbosity=0)
    schedule = Schedule.objects.get(name="reconcile")
    assert schedule.func == "payments.tasks.reconcile_all"
    assert Schedule.objects.filter(name="reconcile").count() == 1


def test_setup_schedules_drops_schedules_the_code_no_longer_has() -> None:
    Schedule.objects.create(name="old", func="payments.tasks.gone", schedule_type=Schedule.HOURLY)
    call_command("setup_schedules", verbosity=0)
    assert not Schedule.objects.filter(name="old").exists()
