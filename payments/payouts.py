"""Provider payouts: USDC from the treasury to a provider's wallet for what it is owed.

Revenue the escrow contract did not pay out directly accrues on the provider's ledger
account ``provider:<public_id>``. `payouts_run` (hourly) pays every account owed at least
the threshold, its whole balance at once: in one database transaction it creates the
`Payout`, moves the amount to `PAYOUTS_IN_FLIGHT` and enqueues the USDC ``transfer`` as a
`ChainCall` sent by the treasury's key. The call's outcome settles the payout in the same
transaction that records it: confirmed -> the money left for the chain (``world:chain``);
failed -> the amount is owed to the provider again and the next run pays it as a new payout.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from payments.chain.client import current_deployment
from payments.chain_calls import chain_call_enqueue, register_handlers
from payments.ledger import WORLD, Posting, ledger_record, provider_account
from payments.models import ChainCall, LedgerAccount, Payout
from the402.lib.errors import Conflict
from the402.lib.ids import new_public_id

# Money on its way to a provider: still owed (the USDC is in the treasury until the transfer
# is mined), so a provider-payable account, but no provider's own balance.
PAYOUTS_IN_FLIGHT = "payouts:in_flight"
PAYOUT_KIND = "payout"


def payouts_run(*, threshold: int | None = None) -> list[Payout]:
    """Pay every provider owed at least ``threshold`` µUSDC (default PAYOUT_THRESHOLD).

    Returns the payouts created (their transfers run after commit). Safe to run in several
    workers at once: an account another worker holds locked is skipped, and one re-read after
    a payout holds less than the threshold, so each balance is paid once.
    """
    threshold = settings.PAYOUT_THRESHOLD if threshold is None else threshold
    if threshold <= 0:
        raise ValueError("the payout threshold must be positive")
    owed = (
        LedgerAccount.objects.filter(
            kind=LedgerAccount.Kind.PROVIDER_PAYABLE,
            code__startswith="provider:",
            balance__gte=threshold,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    payouts = []
    for account_id in list(owed):
        payout = _payout_create(account_id, threshold=threshold)
        if payout is not None:
            payouts.append(payout)
    return payouts


def _payout_create(account_id: int, *, threshold: int) -> Payout | None:
    """Pay out one provider account's whole balance, unless it is locked or below threshold."""
    usdc = current_deployment().usdc
    with transaction.atomic():
        account = (
            LedgerAccount.objects.select_for_update(skip_locked=True).filter(pk=account_id).first()
        )
        # The balance is re-read under the lock: a worker that paid it just before us left 0.
        if account is None or account.balance < threshold or account.participant is None:
            return None
        provider = account.participant
        payout = Payout.objects.create(
            public_id=new_public_id("po"),
            provider=provider,
            wallet=provider.wallet,
            amount=account.balance,
        )
        key = f"payout:{payout.public_id}"
        ledger_record(
            kind="payout",
            idempotency_key=key,
            postings=[Posting(account.code, PAYOUTS_IN_FLIGHT, payout.amount)],
            description=f"Payout {payout.public_id} to {payout.wallet}",
            reference={"payout": payout.public_id},
        )
        payout.chain_call = chain_call_enqueue(
            kind=PAYOUT_KIND,
            idempotency_key=key,
            contract=usdc,
            function="transfer",
            args=[payout.wallet, payout.amount],
            signer="treasury",
        )
        payout.save(update_fields=["chain_call", "updated_at"])
    return payout


def payout_retry(payout: Payout) -> None:
    """Run a pending payout's transfer now rather than at its next scheduled attempt.

    For the admin. Only a PENDING payout has anything to retry: a failed one's amount is
    owed to the provider again and the next `payouts_run` pays it as a new payout, so
    retrying it would pay twice; that raises ``Conflict``.
    """
    if payout.status != Payout.Status.PENDING or payout.chain_call_id is None:
        raise Conflict(
            f"payout {payout.public_id} is {payout.status}: only a pending payout is retried "
            "(a failed one's amount is paid again by the next payouts run)",
            code="payout_not_pending",
        )
    call_id = payout.chain_call_id
    ChainCall.objects.filter(
        pk=call_id, status__in=[ChainCall.Status.QUEUED, ChainCall.Status.SENT]
    ).update(next_attempt_at=None, updated_at=timezone.now())
    transaction.on_commit(lambda: async_task("payments.tasks.run_chain_call", call_id))


def _locked_payout(call: ChainCall) -> Payout | None:
    payout = Payout.objects.select_for_update().filter(chain_call=call).first()
    return payout if payout is not None and payout.status == Payout.Status.PENDING else None


def _payout_confirmed(call: ChainCall) -> None:
    """The transfer was mined: the money left the treasury for the provider's wallet."""
    payout = _locked_payout(call)
    if payout is None:
        return
    payout.status = Payout.Status.CONFIRMED
    payout.confirmed_at = call.confirmed_at or timezone.now()
    payout.save(update_fields=["status", "confirmed_at", "updated_at"])
    ledger_record(
        kind="payout_sent",
        idempotency_key=f"payout-sent:{payout.public_id}",
        postings=[Posting(PAYOUTS_IN_FLIGHT, WORLD, payout.amount)],
        description=f"Payout {payout.public_id} mined",
        reference={"payout": payout.public_id, "tx": call.tx_hash},
    )


def _payout_failed(call: ChainCall) -> None:
    """The transfer cannot happen: the provider is owed the amount again."""
    payout = _locked_payout(call)
    if payout is None:
        return
    payout.status = Payout.Status.FAILED
    payout.save(update_fields=["status", "updated_at"])
    ledger_record(
        kind="payout_failed",
        idempotency_key=f"payout-failed:{payout.public_id}",
        postings=[Posting(PAYOUTS_IN_FLIGHT, provider_account(payout.provider), payout.amount)],
        description=f"Payout {payout.public_id} failed: {call.last_error}",
        reference={"payout": payout.public_id},
    )


def register_chain_call_handlers() -> None:
    """Tell `payments.chain_calls` how a payout concludes (`PaymentsConfig.ready()`)."""
    register_handlers(PAYOUT_KIND, confirmed=_payout_confirmed, failed=_payout_failed)
