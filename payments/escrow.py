"""Escrow: money held for a job until delivery is verified, then released or refunded.

The marketplace calls this API without knowing about chains:

* `escrow_open_ledger`: a balance-paid purchase; the funds are already in our treasury, so
  holding them is a ledger move from the agent's balance to `escrow:<id>`.
* `escrow_open_on_chain`: an x402 purchase that paid The402Escrow itself; right after the
  settlement we `fund` the escrow for this job on-chain (a `ChainCall`, mined exactly once).
* `escrow_release`, `escrow_refund`, `escrow_split`: one move each, allowed only from `held`
  (one table, `TRANSITIONS`), taken under a row lock with an audit row. On-chain escrows move
  their state at once and their money on the ledger when the chain confirms. An on-chain
  escrow whose `fund` is not mined yet remembers the move and makes it once funded
  (`_defer`): a provider may finish before the next block.
* An escrow whose `fund` the contract refused is `failed`; its money stays in the contract,
  unallocated. A move that was waiting for the funding is made from there
  (`escrow_failed_settle`), and so is the one release, refund or split made later: each
  part is sent by `returnUnallocated` (`_settle_failed`).

Split rule, the same as the contract's: the provider gets `payee_amount`, the treasury
`fee * payee_amount // amount` of the fee, the agent everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from eth_utils import keccak, to_checksum_address

from payments import hooks
from payments.chain.client import current_deployment
from payments.chain_calls import chain_call_enqueue, register_handlers
from payments.ledger import (
    PLATFORM_FEES,
    WORLD,
    Posting,
    agent_account,
    balance_of,
    ledger_record,
    provider_account,
)
from payments.models import ChainCall, Escrow, EscrowTransition, Participant, X402Payment
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.ids import new_public_id
from the402.lib.states import cas_move

logger = logging.getLogger(__name__)

S = Escrow.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.HELD, S.FAILED}),
    S.HELD: frozenset({S.RELEASED, S.REFUNDED, S.SPLIT, S.RECLAIMED}),
}


class InvalidTransition(Conflict):
    code = "invalid_escrow_transition"


def escrow_account(escrow: Escrow) -> str:
    return f"escrow:{escrow.public_id}"


def chain_escrow_id(public_id: str) -> str:
    """The bytes32 id of an escrow in The402Escrow, derived from its public id."""
    return "0x" + keccak(text=f"the402:escrow:{public_id}").hex()


def split_parts(escrow: Escrow, payee_amount: int) -> tuple[int, int, int]:
    """(to the provider, fee to the treasury, back to the agent) for a split."""
    if not 0 <= payee_amount <= escrow.amount:
        raise ApplicationError(
            f"payee_amount must be between 0 and {escrow.amount}", code="invalid_split"
        )
    fee_part = escrow.fee * payee_amount // escrow.amount if escrow.amount else 0
    return payee_amount, fee_part, escrow.total - payee_amount - fee_part


def _move(escrow: Escrow, to: str, reason: str) -> Escrow:
    """Move an escrow's state (call inside a transaction): compare-and-swap plus audit row."""
    previous = cas_move(escrow, to, transitions=TRANSITIONS, error=InvalidTransition)
    EscrowTransition.objects.create(
        escrow=escrow, from_status=previous, to_status=to, reason=reason[:300]
    )
    return escrow


def _new(
    *,
    backing: str,
    status: str,
    payer: Participant,
    payee: Participant,
    amount: int,
    fee: int,
    expires_at: datetime,
    reference: str,
    payment: X402Payment | None = None,
) -> Escrow:
    if amount < 0 or fee < 0 or amount + fee <= 0:
        raise ApplicationError("an escrow holds a positive amount", code="invalid_escrow")
    if expires_at <= timezone.now():
        raise ApplicationError("an escrow must expire in the future", code="invalid_escrow")
    public_id = new_public_id("esc")
    escrow = Escrow.objects.create(
        public_id=public_id,
        backing=backing,
        status=status,
        payer=payer,
        payee=payee,
        amount=amount,
        fee=fee,
        expires_at=expires_at,
        chain_id=chain_escrow_id(public_id),
        reference=reference[:64],
        funding_payment=payment,
    )
    EscrowTransition.objects.create(
        escrow=escrow, from_status="", to_status=status, reason="opened"
    )
    return escrow


@transaction.atomic
def escrow_open_ledger(
    *,
    payer: Participant,
    payee: Participant,
    amount: int,
    fee: int,
    expires_at: datetime,
    reference: str = "",
) -> Escrow:
    """Hold `amount + fee` of the agent's prepaid balance (raises InsufficientFunds)."""
    escrow = _new(
        backing=Escrow.Backing.LEDGER,
        status=S.HELD,
        payer=payer,
        payee=payee,
        amount=amount,
        fee=fee,
        expires_at=expires_at,
        reference=reference,
    )
    ledger_record(
        kind="escrow_hold",
        idempotency_key=f"escrow-open:{escrow.public_id}",
        postings=[Posting(agent_account(payer), escrow_account(escrow), escrow.total)],
        description=escrow_description(escrow, "escrow_hold"),
        reference=_ledger_reference(escrow),
    )
    return escrow


@transaction.atomic
def escrow_open_on_chain(
    *,
    payment: X402Payment,
    payer: Participant,
    payee: Participant,
    amount: int,
    fee: int,
    expires_at: datetime,
    reference: str = "",
) -> Escrow:
    """Open the escrow an x402 payment to The402Escrow paid for, and fund it on-chain.

    Idempotent per payment. The money is already in the contract (unallocated until
    `fund` is mined); on the ledger it is held from the moment the payment settled.
    """
    existing = Escrow.objects.filter(funding_payment=payment).first()
    if existing is not None:
        return existing
    if payment.amount != amount + fee:
        raise ApplicationError("the payment does not match the escrow", code="invalid_escrow")
    escrow = _new(
        backing=Escrow.Backing.ON_CHAIN,
        status=S.PENDING,
        payer=payer,
        payee=payee,
        amount=amount,
        fee=fee,
        expires_at=expires_at,
        reference=reference,
        payment=payment,
    )
    ledger_record(
        kind="escrow_hold",
        idempotency_key=f"escrow-open:{escrow.public_id}",
        postings=[Posting(WORLD, escrow_account(escrow), escrow.total)],
        description=escrow_description(escrow, "escrow_hold"),
        reference=_ledger_reference(escrow, payment=payment.public_id),
    )
    chain_call_enqueue(
        kind="escrow_fund",
        idempotency_key=f"escrow-fund:{escrow.public_id}",
        contract=current_deployment().escrow,
        function="fund",
        args=[
            escrow.chain_id,
            to_checksum_address(payer.wallet),
            to_checksum_address(payee.wallet),
            amount,
            fee,
            int(expires_at.timestamp()),
        ],
    )
    return escrow


def _locked(escrow: Escrow | None = None, *, chain_id: str = "") -> Escrow:
    """The escrow (or the one with `chain_id`), locked, with its payer and payee."""
    lookup = {"pk": escrow.pk} if escrow is not None else {"chain_id": chain_id}
    return Escrow.objects.select_for_update().select_related("payer", "payee").get(**lookup)


# What each escrow movement on the ledger is, for balance histories.
ESCROW_MOVES = {
    "escrow_hold": "held in escrow",
    "escrow_released": "released to the provider",
    "escrow_refunded": "refunded to the buyer",
    "escrow_split": "split between the provider and the buyer",
    "escrow_failed": "settled after its on-chain funding failed",
    "escrow_reclaimed": "reclaimed by the buyer on-chain",
}


def escrow_description(escrow: Escrow, kind: str) -> str:
    """The ledger description of an escrow movement: what moved, and for which job."""
    move = ESCROW_MOVES.get(kind, kind.removeprefix("escrow_").replace("_", " "))
    job = f" for job {escrow.reference}" if escrow.reference else ""
    return f"Escrow {escrow.public_id}{job} {move}"


def _ledger_reference(escrow: Escrow, **extra: str) -> dict[str, str]:
    """The escrow and the job it pays for (its `reference`), on each of its ledger rows."""
    job = {"job": escrow.reference} if escrow.reference else {}
    return {"escrow": escrow.public_id, **job, **extra}


def _ledger_settle(
    escrow: Escrow, *, kind: str, to_provider: int, to_fees: int, to_agent: int
) -> None:
    """Move a finished escrow's money out of `escrow:<id>` on the ledger (once)."""
    on_chain = escrow.backing == Escrow.Backing.ON_CHAIN
    # On-chain, the provider's and the agent's parts leave our custody; the fee lands in
    # the treasury. From the ledger, the provider's part is owed (paid out later) and the
    # agent's part goes back to its balance.
    provider_dest = WORLD if on_chain else provider_account(escrow.payee)
    agent_dest = WORLD if on_chain else agent_account(escrow.payer)
    postings = [
        Posting(escrow_account(escrow), dest, value)
        for dest, value in (
            (provider_dest, to_provider),
            (PLATFORM_FEES, to_fees),
            (agent_dest, to_agent),
        )
        if value > 0
    ]
    ledger_record(
        kind=kind,
        idempotency_key=f"{kind}:{escrow.public_id}",
        postings=postings,
        description=escrow_description(escrow, kind),
        reference=_ledger_reference(escrow),
    )


def _finish(
    escrow: Escrow,
    *,
    to: str,
    function: str,
    args: list[object],
    parts: tuple[int, int, int],
    reason: str,
) -> Escrow:
    locked = _locked(escrow)
    if locked.status == S.PENDING and locked.backing == Escrow.Backing.ON_CHAIN:
        return _defer(locked, to=to, reason=reason)
    if locked.status == S.FAILED:
        return _settle_failed(locked, to=to, parts=parts, reason=reason)
    _move(locked, to, reason)
    to_provider, to_fees, to_agent = parts
    if locked.backing == Escrow.Backing.LEDGER:
        _ledger_settle(
            locked, kind=f"escrow_{to}", to_provider=to_provider, to_fees=to_fees, to_agent=to_agent
        )
    else:
        chain_call_enqueue(
            kind=f"escrow_{function}",
            idempotency_key=f"escrow-{function}:{locked.public_id}",
            contract=current_deployment().escrow,
            function=function,
            args=[locked.chain_id, *args],
        )
    return locked


def _defer(escrow: Escrow, *, to: str, reason: str) -> Escrow:
    """A release, refund or split of an on-chain escrow whose `fund` is not mined yet (a
    provider can finish before the next block): remembered, and made once it is funded,
    so the job can move on now. Only one move can wait."""
    if to not in TRANSITIONS[S.HELD]:
        raise InvalidTransition(f"escrow {escrow.public_id} cannot become {to}")
    waiting = Escrow.objects.filter(pk=escrow.pk, status=S.PENDING, deferred="").update(
        deferred=to, deferred_reason=reason[:300], updated_at=timezone.now()
    )
    if waiting != 1:
        raise InvalidTransition(
            f"escrow {escrow.public_id} already has a {escrow.deferred} waiting for its funding"
        )
    escrow.deferred, escrow.deferred_reason = to, reason[:300]
    logger.info("escrow %s: %s waits for the funding to be mined", escrow.public_id, to)
    return escrow


def _settle_failed(escrow: Escrow, *, to: str, parts: tuple[int, int, int], reason: str) -> Escrow:
    """A release, refund or split of an escrow whose funding failed (call holding its lock):
    its money is in the contract, unallocated, so each part is sent from there by
    `returnUnallocated` (the fee to the treasury), and it leaves the ledger's escrow account
    at once. One settlement per escrow: the escrow stays `failed`, its account empty."""
    if balance_of(escrow_account(escrow)) != escrow.total:
        raise InvalidTransition(
            f"escrow {escrow.public_id}: its funding failed and its money was settled already"
        )
    to_provider, to_fees, to_agent = parts
    _ledger_settle(
        escrow, kind="escrow_failed", to_provider=to_provider, to_fees=to_fees, to_agent=to_agent
    )
    recipients = (
        ("pay", escrow.payee.wallet, to_provider),
        ("fee", current_deployment().treasury, to_fees),
        ("return", escrow.payer.wallet, to_agent),
    )
    for part, wallet, value in recipients:
        if value > 0:
            return_unallocated(
                to=wallet, amount=value, idempotency_key=f"escrow-{part}:{escrow.public_id}"
            )
    logger.info("escrow %s (funding failed) settled as %s: %s", escrow.public_id, to, reason)
    return escrow


@transaction.atomic
def escrow_release(escrow: Escrow, *, reason: str = "delivery verified") -> Escrow:
    """Pay the provider its amount and the treasury the fee."""
    return _finish(
        escrow,
        to=S.RELEASED,
        function="release",
        args=[],
        parts=(escrow.amount, escrow.fee, 0),
        reason=reason,
    )


@transaction.atomic
def escrow_refund(escrow: Escrow, *, reason: str = "refunded") -> Escrow:
    """Give the agent back the amount and the fee."""
    return _finish(
        escrow, to=S.REFUNDED, function="refund", args=[], parts=(0, 0, escrow.total), reason=reason
    )


@transaction.atomic
def escrow_split(escrow: Escrow, *, payee_amount: int, reason: str = "dispute settled") -> Escrow:
    """Settle a dispute: `payee_amount` to the provider, the rest back to the agent."""
    parts = split_parts(escrow, payee_amount)
    Escrow.objects.filter(pk=escrow.pk).update(payee_amount=payee_amount)
    escrow.payee_amount = payee_amount
    return _finish(
        escrow, to=S.SPLIT, function="split", args=[payee_amount], parts=parts, reason=reason
    )


@transaction.atomic
def escrow_mark_reclaimed(escrow: Escrow) -> Escrow:
    """The agent reclaimed an expired escrow on-chain itself: record it."""
    locked = _locked(escrow)
    _move(locked, S.RECLAIMED, "reclaimed by the payer on-chain")
    _ledger_settle(locked, kind="escrow_reclaimed", to_provider=0, to_fees=0, to_agent=locked.total)
    return locked


def return_unallocated(*, to: str, amount: int, idempotency_key: str) -> ChainCall:
    """Send money that reached The402Escrow but is in no escrow back to `to` (once per key)."""
    return chain_call_enqueue(
        kind="escrow_return_unallocated",
        idempotency_key=idempotency_key,
        contract=current_deployment().escrow,
        function="returnUnallocated",
        args=[to_checksum_address(to), amount],
    )


# --- what happens when the chain confirms -------------------------------------------------
def _escrow_of(call: ChainCall) -> Escrow:
    return Escrow.objects.select_related("payer", "payee").get(chain_id=call.args[0])


def _funded(call: ChainCall) -> None:
    escrow = _locked(chain_id=call.args[0])
    if escrow.status != S.PENDING:
        return
    _move(escrow, S.HELD, f"funded on-chain in {call.tx_hash}")
    if escrow.deferred:
        Escrow.objects.filter(pk=escrow.pk).update(deferred="", deferred_reason="")
        _make_deferred(escrow)


def _make_deferred(escrow: Escrow) -> None:
    """Make the move that waited for the escrow's funding (`_defer`)."""
    if escrow.deferred == S.RELEASED:
        escrow_release(escrow, reason=escrow.deferred_reason)
    elif escrow.deferred == S.REFUNDED:
        escrow_refund(escrow, reason=escrow.deferred_reason)
    else:
        escrow_split(escrow, payee_amount=escrow.payee_amount or 0, reason=escrow.deferred_reason)


def _fund_failed(call: ChainCall) -> None:
    """The contract refused to fund the escrow (a revert, not a network error)."""
    escrow = _locked(chain_id=call.args[0])
    if escrow.status != S.PENDING:
        return
    _move(escrow, S.FAILED, f"funding failed: {call.last_error}")
    logger.error(
        "escrow %s could not be funded: %s%s",
        escrow.public_id,
        call.last_error,
        f" (a {escrow.deferred} was waiting for it)" if escrow.deferred else "",
    )
    # What the failure means for the work is decided in a transaction of its own: the
    # marketplace locks a job before its escrow, as every job move does, and this one
    # already holds the escrow. Reconciliation runs it again if it did not finish.
    transaction.on_commit(lambda: escrow_failed_settle(escrow), robust=True)


@transaction.atomic
def escrow_failed_settle(escrow: Escrow) -> None:
    """Settle an escrow whose funding failed: a move promised while the funding was pending
    (`_defer`) is made now, from the contract's unallocated money; with none promised, the
    `payments.hooks.escrow_failed` extension decides. Run again by reconciliation while the
    escrow's account still holds its money."""
    if escrow.deferred:
        _make_deferred(escrow)
    else:
        hooks.escrow_failed(escrow)


def _settled(kind: str) -> Callable[[ChainCall], None]:
    def confirmed(call: ChainCall) -> None:
        escrow = _escrow_of(call)
        if kind == "release":
            parts = (escrow.amount, escrow.fee, 0)
        elif kind == "refund":
            parts = (0, 0, escrow.total)
        else:
            parts = split_parts(escrow, int(call.args[1]))
        _ledger_settle(
            escrow,
            kind=f"escrow_{escrow.status}",
            to_provider=parts[0],
            to_fees=parts[1],
            to_agent=parts[2],
        )

    return confirmed


def _returned(call: ChainCall) -> None:
    logger.info("returned %s µUSDC to %s (%s)", call.args[1], call.args[0], call.tx_hash)


def _already_moved(call: ChainCall, reason: str) -> bool:
    """A revert because the escrow already moved as this call wanted (a lost receipt)."""
    from payments.chain.escrow_state import escrow_state

    wanted = {"fund": "Held", "release": "Released", "refund": "Refunded", "split": "Split"}
    return escrow_state(call.args[0]) == wanted.get(call.function)


_SETTLED = {kind: _settled(kind) for kind in ("release", "refund", "split")}


def register_chain_call_handlers() -> None:
    """Tell `payments.chain_calls` how escrow calls conclude (`PaymentsConfig.ready()`, so
    any process that runs chain calls, web or django-q2 cluster, knows)."""
    register_handlers(
        "escrow_fund", confirmed=_funded, failed=_fund_failed, already_done=_already_moved
    )
    register_handlers("escrow_return_unallocated", confirmed=_returned)
    for kind, confirmed in _SETTLED.items():
        register_handlers(f"escrow_{kind}", confirmed=confirmed, already_done=_already_moved)
