"""The life of an accepted x402 payment after the request that brought it.

A payment whose settlement outcome was unknown (`settling` after a crash, `pending` after a
receipt timeout) is resolved from the chain; a settled payment whose request never completed
(the buyer did not retry within the grace period) is credited to the payer's prepaid balance.
Either way no micro-USDC is lost or counted twice. A claim whose request died before sending
its settlement is taken over by a replay of the same header once its lease is over
(`payment_claim_renew`), and a replay learns how a payment ended (failed, credited to the
balance, returned to the wallet) rather than being told to try again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from payments.chain.client import current_deployment
from payments.chain.usdc import SettleResult, authorization_used
from payments.facilitators import facilitator
from payments.ledger import WORLD, Posting, agent_account, ledger_record
from payments.models import ChainCall, LedgerTransaction, Participant, X402Payment
from payments.services import participant_for_wallet

logger = logging.getLogger(__name__)

# How long an unfinished payment, escrow or payout is left to its own request before
# reconciliation resolves it.
GRACE = timedelta(minutes=10)


def payment_record_outcome(payment: X402Payment, result: SettleResult) -> bool:
    """Store a settlement outcome, only if the payment is still unresolved (compare-and-swap)."""
    updated = X402Payment.objects.filter(
        pk=payment.pk, status__in=[X402Payment.Status.SETTLING, X402Payment.Status.PENDING]
    ).update(
        status=result.status,
        tx_hash=result.tx_hash or payment.tx_hash,
        error_reason=result.reason or "",
        settled_at=timezone.now() if result.status == "settled" else None,
    )
    payment.refresh_from_db()
    return updated == 1


def claim_lease() -> timedelta:
    """How long the request that claimed a payment may take to send its settlement: its
    work (a data API's call) and the settlement's wait, with a margin. Past it, unrenewed,
    that request is surely dead (gunicorn kills a worker sooner) and a replay of the same
    payment header may settle in its place."""
    return timedelta(seconds=settings.DATA_API_TIMEOUT + settings.SETTLE_TIMEOUT + 60)


def payment_claim_renew(payment: X402Payment, *, stale_before: datetime | None = None) -> bool:
    """Hold (again) the right to settle a claimed payment, by compare-and-swap on its
    `updated_at`: False when it is no longer this request's (another request took it over,
    or it was resolved). With `stale_before`, take it over from a request that left it
    unrenewed since then (it died before sending its settlement)."""
    claim = X402Payment.objects.filter(
        pk=payment.pk,
        status=X402Payment.Status.SETTLING,
        tx_hash="",
        updated_at=payment.updated_at,
    )
    if stale_before is not None:
        claim = claim.filter(updated_at__lt=stale_before)
    now = timezone.now()
    if claim.update(updated_at=now) != 1:
        return False
    payment.updated_at = now
    return True


def payment_unclaim(payment: X402Payment) -> None:
    """Drop a claim whose request was refused before any money moved (the authorization
    was never sent, so it may pay for a retry), unless another request took it over."""
    X402Payment.objects.filter(
        pk=payment.pk, status=X402Payment.Status.SETTLING, updated_at=payment.updated_at
    ).delete()


def payment_refund(payment: X402Payment) -> str | None:
    """Where a payment that paid for no request went: "balance" (credited to the payer's
    prepaid balance), "wallet" (sent back from the escrow contract), or None."""
    if LedgerTransaction.objects.filter(
        idempotency_key=f"x402:{payment.public_id}", kind="refund_to_balance"
    ).exists():
        return "balance"
    if ChainCall.objects.filter(idempotency_key=f"orphan-refund:{payment.public_id}").exists():
        return "wallet"
    return None


def payment_claim_fulfilment(payment: X402Payment) -> bool:
    """Mark a payment as having paid for its request; False if something already did."""
    claimed = X402Payment.objects.filter(pk=payment.pk, fulfilled_at__isnull=True).update(
        fulfilled_at=timezone.now()
    )
    return claimed == 1


def payment_credit_to_balance(
    payment: X402Payment, participant: Participant, *, reason: str
) -> bool:
    """Credit a settled payment whose work will not be done to the payer's balance, once;
    False if something (its request, completed meanwhile) already claimed it."""
    with transaction.atomic():
        if not payment_claim_fulfilment(payment):
            return False
        ledger_record(
            kind="refund_to_balance",
            idempotency_key=f"x402:{payment.public_id}",
            postings=[Posting(WORLD, agent_account(participant), payment.amount)],
            description=f"Payment {payment.public_id} credited to balance: {reason}",
            reference={"payment": payment.public_id, "tx": payment.tx_hash},
        )
    return True


def payment_return_from_escrow(payment: X402Payment) -> None:
    """Send a payment that reached The402Escrow but became no escrow back to its payer (once)."""
    from payments.escrow import return_unallocated

    with transaction.atomic():
        if not payment_claim_fulfilment(payment):
            return
        return_unallocated(
            to=payment.payer,
            amount=payment.amount,
            idempotency_key=f"orphan-refund:{payment.public_id}",
        )


def payment_chain_outcome(payment: X402Payment, now: datetime) -> SettleResult:
    """What the chain says of a payment whose settlement outcome is unknown."""
    if payment.tx_hash:
        return facilitator().status(payment.tx_hash)
    # No transaction hash: the process died before it learnt one, or a remote facilitator
    # timed out. The token itself knows whether the authorization was used.
    if authorization_used(token=payment.asset, payer=payment.payer, nonce=payment.nonce):
        return SettleResult("settled", "", None)
    if payment.valid_before < now.timestamp():
        return SettleResult("failed", "", "authorization_expired_unused")
    return SettleResult("pending", "", None)


def reconcile_x402_payments(
    *, now: datetime | None = None, grace: timedelta = GRACE
) -> dict[str, int]:
    """Resolve unfinished payments older than `grace`; returns counts by outcome."""
    now = now or timezone.now()
    counts = {"settled": 0, "failed": 0, "pending": 0, "credited": 0}
    unresolved = X402Payment.objects.filter(
        status__in=[X402Payment.Status.SETTLING, X402Payment.Status.PENDING],
        created_at__lt=now - grace,
    )
    for payment in unresolved:
        result = payment_chain_outcome(payment, now)
        if result.status != "pending" and payment_record_outcome(payment, result):
            logger.info("x402 payment %s resolved as %s", payment.public_id, result.status)
        counts[result.status] += 1
    # Only payments to the treasury are ours to credit; a payment to the escrow contract is
    # still there, and the escrow reconciliation returns it to the payer on-chain.
    abandoned = X402Payment.objects.filter(
        status=X402Payment.Status.SETTLED,
        fulfilled_at__isnull=True,
        created_at__lt=now - grace,
        pay_to=current_deployment().treasury.lower(),
    )
    for payment in abandoned:
        participant = participant_for_wallet(payment.payer)
        if payment_credit_to_balance(payment, participant, reason="request not completed"):
            counts["credited"] += 1
    return counts
