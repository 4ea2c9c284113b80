"""Reconciliation: the chain, the database and the ledger must tell the same story.

Run every few minutes by django-q2 and on demand by `manage.py reconcile`. What it can fix
safely it fixes (an escrow the agent reclaimed on-chain is recorded; money that reached the
escrow contract but never became an escrow goes back to its payer; an expired escrow is
refunded; a balance hold whose request died goes back to the balance); anything else
becomes a `ReconciliationIssue` in the admin, with the action to take, and an error in the
log; an issue a later run no longer finds is resolved by it.
Besides the chain, each escrow's ledger account must hold what the escrow's state says, and
the contract's unallocated money must match what our records say waits there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Concat
from django.utils import timezone

from payments import escrow as escrows
from payments import hooks
from payments.chain.client import current_deployment
from payments.chain.escrow_state import escrow_record, unallocated
from payments.chain_calls import chain_calls_recheck, compensated_kinds
from payments.holds import holds_release_stale
from payments.models import ChainCall, Escrow, LedgerAccount, ReconciliationIssue, X402Payment
from payments.settlements import GRACE, payment_return_from_escrow, reconcile_x402_payments

logger = logging.getLogger(__name__)

S = Escrow.Status

# The on-chain states each of our states may be seen with (a move in flight included).
COMPATIBLE: dict[str, tuple[str, ...]] = {
    S.PENDING: ("None", "Held"),
    S.HELD: ("Held",),
    S.RELEASED: ("Held", "Released"),
    S.REFUNDED: ("Held", "Refunded"),
    S.SPLIT: ("Held", "Split"),
    S.RECLAIMED: ("Reclaimed",),
    S.FAILED: ("None",),
}


def flag(kind: str, subject: str, detail: str, action: str) -> ReconciliationIssue:
    """Open an issue (an error in the log), or mark the open one as found again by this run,
    with what this run found (a line of information when it changed)."""
    issue, created = ReconciliationIssue.objects.get_or_create(
        kind=kind, subject=subject, resolved_at=None, defaults={"detail": detail, "action": action}
    )
    if created:
        logger.error("reconcile: %s %s: %s. Action: %s", kind, subject, detail, action)
        return issue
    if (issue.detail, issue.action) != (detail, action):
        logger.info("reconcile: %s %s now: %s. Action: %s", kind, subject, detail, action)
    issue.detail, issue.action, issue.last_seen_at = detail, action, timezone.now()
    issue.save(update_fields=["detail", "action", "last_seen_at", "updated_at"])
    return issue


def still_open(kind: str, subject: str) -> None:
    """Keep an open issue open when this run leaves its condition unchecked (within the grace
    period, a move may still be landing): it was not found clear, so it is not resolved."""
    ReconciliationIssue.objects.filter(kind=kind, subject=subject, resolved_at=None).update(
        last_seen_at=timezone.now()
    )


def _clear_not_found(since: datetime) -> None:
    """Resolve the open issues the run that started at `since` did not find again: their
    condition cleared (a stuck call confirmed, a transient mismatch settled). Only after a
    whole run: one that stopped half-way raised before this."""
    cleared = ReconciliationIssue.objects.filter(resolved_at__isnull=True, last_seen_at__lt=since)
    for issue in cleared:
        logger.info("reconcile: %s %s no longer found; resolved", issue.kind, issue.subject)
    cleared.update(
        resolved_at=timezone.now(),
        resolved_by=ReconciliationIssue.ResolvedBy.RECONCILE,
        updated_at=timezone.now(),
    )


def _check_on_chain_escrow(escrow: Escrow, now: datetime, grace: timedelta) -> str | None:
    """Compare one escrow with the contract; the contract's state, or None if the escrow
    was just brought up to date with it or disagrees with it (its state is settled by hand
    first; until then its ledger account says nothing)."""
    record = escrow_record(escrow.chain_id)
    state = record["state"]
    if state == "Reclaimed" and escrow.status == S.HELD:
        escrows.escrow_mark_reclaimed(escrow)
        return None
    if state not in COMPATIBLE[escrow.status]:
        flag(
            "escrow_state_mismatch",
            escrow.public_id,
            f"we say {escrow.status}, the contract says {state}",
            "Check the escrow's chain calls and transitions; settle it by hand in the admin.",
        )
        return None
    if state != "None" and (record["amount"], record["fee"]) != (escrow.amount, escrow.fee):
        flag(
            "escrow_amount_mismatch",
            escrow.public_id,
            f"we hold {escrow.amount}+{escrow.fee}, "
            f"the contract {record['amount']}+{record['fee']}",
            "Investigate the funding transaction before any release or refund.",
        )
    expected_move = state == "Held" and escrow.status not in (S.HELD, S.PENDING)
    if not expected_move and not (escrow.status == S.PENDING and state == "None"):
        return state
    if escrow.updated_at >= now - grace:
        still_open("escrow_move_stuck", escrow.public_id)
    else:
        stuck = ChainCall.objects.filter(idempotency_key__endswith=escrow.public_id).exclude(
            status=ChainCall.Status.CONFIRMED
        )
        flag(
            "escrow_move_stuck",
            escrow.public_id,
            f"{escrow.status} for over {grace} while the contract still says {state}; "
            f"open calls: {', '.join(c.idempotency_key for c in stuck) or 'none'}",
            "Retry the failed chain call from the admin (it re-sends the same transaction).",
        )
    return state


def escrows_to_compare(held: dict[str, int]) -> QuerySet[Escrow]:
    """The escrows whose records can still disagree: open ones, and finished ones whose
    money the ledger still holds (`held`, from `held_on_ledger`). A finished escrow whose
    account is empty is settled for good: its money left on the move itself (ledger) or when
    the chain confirmed the move, after which the contract's state cannot change."""
    return Escrow.objects.filter(
        Q(status__in=[S.PENDING, S.HELD]) | Q(public_id__in=list(held))
    ).select_related("payer", "payee")


def held_on_ledger() -> dict[str, int]:
    """{escrow public id: what its ledger account holds}, for the accounts holding money."""
    accounts = (
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.ESCROW)
        .exclude(balance=0)
        .values_list("code", "balance")
    )
    return {code.removeprefix("escrow:"): balance for code, balance in accounts}


def _check_escrow_ledger(
    escrow: Escrow, held: int, state: str | None, now: datetime, grace: timedelta
) -> None:
    """An escrow's ledger account holds its total until the money leaves: with the move
    itself for a ledger escrow, when the chain confirms it for an on-chain one (`state` is
    the contract's state; None for a ledger escrow)."""
    moving = escrow.status not in (S.PENDING, S.HELD) and state == "Held"
    expected = escrow.total if escrow.status in (S.PENDING, S.HELD) or moving else 0
    if held == expected:
        return
    if escrow.updated_at >= now - grace:
        still_open("escrow_ledger_mismatch", escrow.public_id)
        return
    if escrow.status == S.FAILED:
        action = (
            "Its funding failed after the work had started: its money waits in the contract, "
            "unallocated, for the job's dispute to be resolved (Admin → Disputes), which pays "
            "it out from there."
        )
    else:
        action = (
            "Compare the escrow's transitions, chain calls and ledger transactions; post the "
            "missing movement by hand."
        )
    flag(
        "escrow_ledger_mismatch",
        escrow.public_id,
        f"a {escrow.status} escrow holds {held} µUSDC on the ledger, where {expected} is due",
        action,
    )


def _failed_escrows(held: dict[str, int], now: datetime, grace: timedelta) -> None:
    """Settle again the escrows whose funding failed and whose money is still on the ledger
    (the settlement after the failure did not finish; or the money waits for a dispute)."""
    failed = Escrow.objects.filter(
        status=S.FAILED, updated_at__lt=now - grace, public_id__in=list(held)
    ).select_related("payer", "payee")
    for escrow in failed:
        escrows.escrow_failed_settle(escrow)


def _payments_without_escrow() -> QuerySet[X402Payment]:
    """Payments to the escrow contract that are not (yet) an escrow and were not returned."""
    return X402Payment.objects.filter(
        pay_to=current_deployment().escrow.lower(), escrow__isnull=True, fulfilled_at__isnull=True
    )


def _orphan_payments(now: datetime, grace: timedelta) -> None:
    """Money paid to the escrow contract that never became an escrow goes back to its payer."""
    orphans = _payments_without_escrow().filter(
        status=X402Payment.Status.SETTLED, created_at__lt=now - grace
    )
    for payment in orphans:
        payment_return_from_escrow(payment)
        logger.warning(
            "reconcile: payment %s had no escrow; returned to its payer", payment.public_id
        )


def _check_unallocated(held: dict[str, int], now: datetime, grace: timedelta) -> None:
    """The contract's unallocated money must be what our records explain: no more (money
    arrived without a record) and no less (money left without one).

    The records are read on both sides of the one chain read, so that money in flight
    never raises an alarm: what may be there is read before it (money arrives only after
    its record is written), what must be there after it (money leaves only after its call
    is marked as sent)."""
    may_hold = _explained_unallocated(held)
    loose = unallocated()
    must_hold = _owed_unallocated(now, grace)
    contract = current_deployment().escrow
    if loose > may_hold:
        flag(
            "escrow_unallocated_funds",
            contract,
            f"the contract holds {loose} µUSDC unallocated; escrows, payments and refunds "
            f"explain {may_hold}",
            "Find the payments that reached the contract without a record; return them with "
            "returnUnallocated.",
        )
    if loose < must_hold:
        flag(
            "escrow_unallocated_shortfall",
            contract,
            f"the contract holds {loose} µUSDC unallocated; payments not yet in an escrow, "
            f"escrows not yet funded, failed escrows and queued returns need {must_hold}",
            "Money left the contract without a record of ours: compare its fund and "
            "returnUnallocated transactions with the chain calls before any more returns "
            "are sent.",
        )


def _explained_unallocated(held: dict[str, int]) -> int:
    """What may be unallocated in the contract: money waiting for the escrows being funded,
    for failed ones the ledger still holds (flagged on their own), for payments whose
    request has not opened their escrow yet (returned once the grace period is over:
    `_orphan_payments`), and for the returns not known to be done."""
    escrows = (
        Escrow.objects.filter(backing=Escrow.Backing.ON_CHAIN)
        .filter(Q(status=S.PENDING) | Q(status=S.FAILED, public_id__in=list(held)))
        .aggregate(total=Sum("amount") + Sum("fee"))["total"]
    )
    payments = (
        _payments_without_escrow()
        .filter(
            status__in=[
                X402Payment.Status.SETTLING,
                X402Payment.Status.PENDING,
                X402Payment.Status.SETTLED,
            ]
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    returning = _returns(ChainCall.Status.QUEUED, ChainCall.Status.SENT)
    return (escrows or 0) + (payments or 0) + returning


def _owed_unallocated(now: datetime, grace: timedelta) -> int:
    """What must be unallocated in the contract: the money no call of ours has yet been
    sent to move. Money flows payment → escrow being funded, or payment → return, or
    failed escrow → returns; each stage is read before the one it comes from, so money
    moving on between two reads is missed (harmless) rather than counted twice. A payment
    is counted once it is older than the grace period: its record is marked settled only
    after its transfer was mined, perhaps after the chain was read."""
    returns = _returns(ChainCall.Status.QUEUED)
    escrow_account = Concat(Value("escrow:"), OuterRef("public_id"))
    fund_queued = ChainCall.objects.filter(
        idempotency_key=Concat(Value("escrow-fund:"), OuterRef("public_id")),
        status=ChainCall.Status.QUEUED,
    )
    escrows = (
        Escrow.objects.filter(backing=Escrow.Backing.ON_CHAIN)
        .filter(
            Q(
                status=S.PENDING,
                funding_payment__created_at__lt=now - grace,
                funding_payment__status=X402Payment.Status.SETTLED,
            )
            & Exists(fund_queued)
            | Q(status=S.FAILED)
            & Exists(LedgerAccount.objects.filter(code=escrow_account).exclude(balance=0))
        )
        .aggregate(total=Sum("amount") + Sum("fee"))["total"]
    )
    payments = (
        _payments_without_escrow()
        .filter(status=X402Payment.Status.SETTLED, created_at__lt=now - grace)
        .aggregate(total=Sum("amount"))["total"]
    )
    return returns + (escrows or 0) + (payments or 0)


def _returns(*statuses: str) -> int:
    """What the returns of unallocated money in these states send back."""
    calls = ChainCall.objects.filter(kind="escrow_return_unallocated", status__in=statuses)
    return sum(int(args[1]) for args in calls.values_list("args", flat=True))


def _reorganised_calls() -> None:
    """Confirmed calls whose transaction a reorganisation of the chain took back. Those
    found before are looked at until resolved, even once the chain has finalized past them."""
    found_before = ReconciliationIssue.objects.filter(
        kind="chain_call_reorged", resolved_at=None
    ).values_list("subject", flat=True)
    for found in chain_calls_recheck(also=found_before):
        flag(
            "chain_call_reorged",
            found.call.idempotency_key,
            found.what,
            "Nothing to do if a later run resolves this: the same signed transaction is mined "
            "again."
            if found.sent_again
            else "Its effect was recorded when it first confirmed and is no longer on the "
            "chain: compare the contract and the balances with our records, and settle by "
            "hand.",
        )


def _expired(now: datetime) -> None:
    for escrow in Escrow.objects.filter(status=S.HELD, expires_at__lt=now):
        hooks.escrow_expired(escrow)


def _stuck_calls(now: datetime) -> None:
    for call in ChainCall.objects.filter(
        Q(status=ChainCall.Status.SENT) | Q(status=ChainCall.Status.QUEUED),
        created_at__lt=now - timedelta(minutes=30),
    ):
        flag(
            "chain_call_stuck",
            call.idempotency_key,
            f"{call.function} has been {call.status} since {call.created_at:%Y-%m-%d %H:%M} "
            f"({call.attempts} attempts; last error: {call.last_error or 'none'})",
            "Check the relayer's funds and nonce; retry the call from the admin.",
        )
    # A failed call stays failed. One whose failure its kind already acted on needs only
    # reading: once an operator resolves its issue, it stays resolved. Any other failure
    # needs a retry, and its issue comes back until the call is retried.
    compensated = compensated_kinds()
    acknowledged = ReconciliationIssue.objects.filter(
        kind="chain_call_failed", resolved_by=ReconciliationIssue.ResolvedBy.OPERATOR
    ).values("subject")
    failed = ChainCall.objects.filter(status=ChainCall.Status.FAILED).exclude(
        kind__in=compensated, idempotency_key__in=acknowledged
    )
    for call in failed:
        flag(
            "chain_call_failed",
            call.idempotency_key,
            f"{call.function} failed: {call.last_error}",
            "Read the reason and fix its cause. Its failure was already acted on (a failed "
            "escrow's money paid out from the contract or held for its dispute, a payout's "
            "amount owed again), so it must not be retried."
            if call.kind in compensated
            else "Read the reason; fix its cause and retry the call from the admin.",
        )


def reconcile(
    *, now: datetime | None = None, grace: timedelta = GRACE
) -> list[ReconciliationIssue]:
    """Compare the unsettled escrows, payouts and payments with the chain; fix what is safe;
    resolve the issues no longer found; return the open issues."""
    started = timezone.now()
    now = now or started
    reconcile_x402_payments(now=now, grace=grace)
    holds_release_stale(now=now)
    _reorganised_calls()
    _failed_escrows(held_on_ledger(), now, grace)
    held = held_on_ledger()
    for escrow in escrows_to_compare(held):
        state = None
        if escrow.backing == Escrow.Backing.ON_CHAIN:
            state = _check_on_chain_escrow(escrow, now, grace)
            if state is None:
                continue
        _check_escrow_ledger(escrow, held.get(escrow.public_id, 0), state, now, grace)
    _orphan_payments(now, grace)
    _check_unallocated(held, now, grace)
    _expired(now)
    _stuck_calls(now)
    _clear_not_found(started)
    return list(ReconciliationIssue.objects.filter(resolved_at__isnull=True))
