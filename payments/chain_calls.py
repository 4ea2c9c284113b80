"""Transactions that must be mined exactly once: escrow moves and provider payouts.

A `ChainCall` is created under an idempotency key in the same database transaction as the
business change that needs it, and run after that commits (a django-q2 task, and the
`chain-calls-retry` schedule for anything left over):

1. QUEUED: simulate with ``eth_call``. A revert fails the call (or confirms it, when its kind
   says the revert means the effect already happened). Otherwise sign WITHOUT sending and
   store the raw bytes, nonce and hash (SENT); that is committed before the transaction can
   exist anywhere else.
2. SENT: (re)broadcast those very bytes, which is idempotent, and wait for the receipt. The
   receipt decides. Without one: if the sender's mined nonce has passed ours, another
   transaction took our nonce and ours can never be mined, so it is signed afresh (back to
   QUEUED); otherwise it may still be mined and is looked at again later. A second
   transaction is never signed while the first can still land.
3. CONFIRMED: until the chain finalizes its block, reconciliation looks again
   (`chain_calls_recheck`): a reorganisation may have taken the transaction back, and the
   same bytes are then broadcast again.

Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` in short transactions; no database
transaction stays open while we wait for the chain. A kind's outcome handlers run inside the
transaction that marks its call CONFIRMED or FAILED, so a business effect is recorded exactly
when (and as often as) the call's outcome is: once.

The contract ABI is chosen by the function name (`FUNCTIONS`): ``transfer`` is ERC-20 (the
TestUSDC artifact, whose signature FiatToken shares), the others are The402Escrow's. `args`
are JSON values in ABI order: addresses and bytes32 as 0x strings, integers as ints. They are
normalised when enqueued (checksummed addresses, lower-case hex), so a retried enqueue with
the same values compares equal to the stored call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound
from web3.types import TxReceipt

from payments.chain.client import (
    ChainError,
    Relayer,
    SignedCall,
    relayer,
    revert_message,
    treasury_relayer,
)
from payments.contracts import load_artifact
from payments.models import ChainCall
from the402.lib.errors import Conflict

logger = logging.getLogger(__name__)

# function name -> the artifact whose ABI has it
FUNCTIONS: dict[str, str] = {
    "transfer": "TestUSDC",
    "fund": "The402Escrow",
    "release": "The402Escrow",
    "refund": "The402Escrow",
    "split": "The402Escrow",
    "returnUnallocated": "The402Escrow",
}
SIGNERS: dict[str, Callable[[], Relayer]] = {"relayer": relayer, "treasury": treasury_relayer}

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=10)
# The retry task must finish well within django-q2's 60 s task timeout, so it waits briefly
# for each receipt and stops starting calls after its budget (the rest wait a minute).
RETRY_RECEIPT_TIMEOUT = 2.0
RETRY_BUDGET_SECONDS = 40.0

_OPEN = (ChainCall.Status.QUEUED, ChainCall.Status.SENT)


@dataclass(frozen=True)
class _Handlers:
    confirmed: Callable[[ChainCall], None]
    failed: Callable[[ChainCall], None] | None
    already_done: Callable[[ChainCall, str], bool] | None


_HANDLERS: dict[str, _Handlers] = {}


def register_handlers(
    kind: str,
    *,
    confirmed: Callable[[ChainCall], None],
    failed: Callable[[ChainCall], None] | None = None,
    already_done: Callable[[ChainCall, str], bool] | None = None,
) -> None:
    """Say what happens when a call of ``kind`` is confirmed or fails.

    ``confirmed``/``failed`` run inside the transaction that marks the call, holding its
    row lock. ``already_done(call, revert_reason)`` may say that a revert means the effect
    already happened (a previous attempt whose receipt we never saw): the call is then
    CONFIRMED (without a transaction of its own) and ``confirmed`` runs. Registering the same
    handlers again is a no-op (a re-imported module); other handlers for a kind raise, as
    two owners of one kind would each miss the other's outcomes.
    """
    handlers = _Handlers(confirmed, failed, already_done)
    existing = _HANDLERS.get(kind)
    if existing is not None and existing != handlers:
        raise ValueError(f"chain call kind {kind!r} already has other handlers")
    _HANDLERS[kind] = handlers


def _handlers(kind: str) -> _Handlers:
    try:
        return _HANDLERS[kind]
    except KeyError:
        # Never conclude a call whose outcome nobody would record: retry once registered.
        raise ImproperlyConfigured(f"no handlers registered for chain call kind {kind!r}") from None


# ---------------------------------------------------------------- arguments and ABIs


def _abi_inputs(function: str) -> list[dict[str, Any]]:
    artifact = FUNCTIONS.get(function)
    if artifact is None:
        raise ValueError(f"unsupported chain call function {function!r}: one of {list(FUNCTIONS)}")
    for entry in load_artifact(artifact)["abi"]:
        if entry.get("type") == "function" and entry.get("name") == function:
            return list(entry["inputs"])
    raise ValueError(f"{artifact} has no function {function!r}")


def _normalised_args(function: str, args: list[Any]) -> list[Any]:
    """``args`` checked against the ABI and written one way, for storage and comparison."""
    inputs = _abi_inputs(function)
    if len(args) != len(inputs):
        raise ValueError(f"{function} takes {len(inputs)} arguments, got {len(args)}")
    normalised: list[Any] = []
    for spec, value in zip(inputs, args, strict=True):
        kind = spec["type"]
        if kind == "address":
            normalised.append(to_checksum_address(value))
        elif kind == "bytes32":
            raw = bytes.fromhex(str(value).removeprefix("0x"))
            if len(raw) != 32:
                raise ValueError(f"{function}: {spec['name']} must be 32 bytes")
            normalised.append("0x" + raw.hex())
        elif kind.startswith(("uint", "int")):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{function}: {spec['name']} must be an int, got {value!r}")
            normalised.append(value)
        else:
            raise ValueError(f"{function}: argument type {kind} is not supported")
    return normalised


def _contract_function(w3: Web3, call: ChainCall) -> ContractFunction:
    inputs = _abi_inputs(call.function)
    values = [
        bytes.fromhex(value.removeprefix("0x")) if spec["type"] == "bytes32" else value
        for spec, value in zip(inputs, call.args, strict=True)
    ]
    contract = w3.eth.contract(
        address=to_checksum_address(call.contract),
        abi=load_artifact(FUNCTIONS[call.function])["abi"],
    )
    return contract.functions[call.function](*values)


def _relayer_for(sender: str) -> Relayer:
    """The Relayer holding ``sender``'s key (the treasury's is only resolved when needed)."""
    main = relayer()
    if main.address == sender:
        return main
    treasury = treasury_relayer()
    if treasury.address == sender:
        return treasury
    raise ImproperlyConfigured(f"no configured key sends as {sender} (was a key changed?)")


# ---------------------------------------------------------------- enqueueing


def chain_call_enqueue(
    *,
    kind: str,
    idempotency_key: str,
    contract: str,
    function: str,
    args: list[Any],
    signer: str = "relayer",
) -> ChainCall:
    """The call under ``idempotency_key``, created (and run after commit) if new.

    Call it inside the transaction of the business change that needs the call, so both are
    committed or neither. ``signer`` is ``"relayer"`` (the operator key: escrow calls) or
    ``"treasury"`` (payouts); its address is stored as ``sender``. Race-safe: a concurrent
    enqueue of the same key gets the same row. The same key with another kind, contract,
    function or args raises ``Conflict`` (``idempotency_mismatch``); a bad function or args,
    an unknown signer or a kind without handlers raise ``ValueError``.
    """
    if kind not in _HANDLERS:
        raise ValueError(f"no handlers registered for chain call kind {kind!r}")
    if signer not in SIGNERS:
        raise ValueError(f"signer must be one of {list(SIGNERS)}, not {signer!r}")
    fields = {
        "kind": kind,
        "contract": to_checksum_address(contract),
        "function": function,
        "args": _normalised_args(function, args),
    }
    try:
        with transaction.atomic():
            call = ChainCall.objects.create(
                idempotency_key=idempotency_key, sender=SIGNERS[signer]().address, **fields
            )
    except IntegrityError:
        call = ChainCall.objects.get(idempotency_key=idempotency_key)
        if any(getattr(call, name) != value for name, value in fields.items()):
            raise Conflict(
                f"chain call {idempotency_key!r} was enqueued with another kind, contract, "
                "function or arguments",
                code="idempotency_mismatch",
            ) from None
        return call
    transaction.on_commit(lambda: async_task("payments.tasks.run_chain_call", call.pk))
    return call


def chain_calls_due(now: datetime | None = None) -> QuerySet[ChainCall]:
    """Open calls (QUEUED or SENT) whose next attempt is not scheduled in the future."""
    now = now or timezone.now()
    return (
        ChainCall.objects.filter(status__in=_OPEN)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
    )


def chain_calls_run_due(*, budget_seconds: float = RETRY_BUDGET_SECONDS) -> int:
    """Run every due call (short receipt waits) until ``budget_seconds`` are spent.

    Returns how many were run. What is left is due again at the next run.
    """
    deadline = time.monotonic() + budget_seconds
    ran = 0
    for call_id in list(chain_calls_due().values_list("pk", flat=True)):
        if time.monotonic() > deadline:
            break
        chain_call_run(call_id, receipt_timeout=RETRY_RECEIPT_TIMEOUT)
        ran += 1
    return ran


# ---------------------------------------------------------------- running


def backoff(attempts: int) -> timedelta:
    """How long to wait after ``attempts`` failed tries: 30 s, doubling, at most 10 min."""
    factor: int = 2 ** min(attempts, 10)
    return min(BACKOFF_MAX, BACKOFF_BASE * factor)


def chain_call_retry(call_id: int) -> ChainCall:
    """Run a call now, on an operator's request (the admin's retry action).

    An open call simply runs (re-sending its stored transaction). A failed call is queued
    again only if nothing acted on its failure: when its kind has a `failed` handler, that
    handler already compensated (a failed payout's amount is owed to the provider again and
    paid by the next payout run), so running it again could move the money twice.
    """
    call = ChainCall.objects.get(pk=call_id)
    if call.status == ChainCall.Status.FAILED:
        if chain_call_compensated(call):
            raise Conflict(
                f"{call.idempotency_key} failed and its failure was already acted on; "
                "retrying it could move the money twice",
                code="chain_call_compensated",
            )
        ChainCall.objects.filter(pk=call.pk, status=ChainCall.Status.FAILED).update(
            status=ChainCall.Status.QUEUED,
            raw_tx="",
            tx_hash="",
            nonce=None,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
    return chain_call_run(call_id)


def compensated_kinds() -> frozenset[str]:
    """The kinds whose failure their `failed` handler acts on (a failed call of such a kind
    must never run again)."""
    return frozenset(kind for kind, handlers in _HANDLERS.items() if handlers.failed)


def chain_call_compensated(call: ChainCall) -> bool:
    """Whether the failure of this failed call was acted on by its kind's `failed` handler."""
    return call.status == ChainCall.Status.FAILED and call.kind in compensated_kinds()


def chain_call_run(call_id: int, *, receipt_timeout: float | None = None) -> ChainCall:
    """Drive the call as far as it goes now; returns it (re-read). Never raises on chain or
    RPC trouble: the error is recorded on the call with a backoff for the next attempt.

    Idempotent and safe to run concurrently for one call: a run that finds the row locked
    by another leaves it to that one. Waits up to ``receipt_timeout`` seconds (default
    ``settings.SETTLE_TIMEOUT``) for a receipt. A transaction found dead (its nonce taken)
    is signed afresh and sent within the same run.
    """
    timeout = float(settings.SETTLE_TIMEOUT if receipt_timeout is None else receipt_timeout)
    try:
        for _ in range(2):
            call = chain_call_sign(call_id, lease=timeout)
            if call is None or call.status != ChainCall.Status.SENT:
                break
            call = _await_receipt(call, timeout=timeout)
            if call.status != ChainCall.Status.QUEUED:
                break
    except Exception as exc:  # a task must not die of a flaky node: record it, retry later
        logger.warning("chain call %s: %s", call_id, exc, exc_info=True)
        _record_error(call_id, f"{type(exc).__name__}: {exc}")
    return ChainCall.objects.get(pk=call_id)


def chain_call_sign(call_id: int, *, lease: float = 0.0) -> ChainCall | None:
    """The first half of a run: claim a QUEUED call, simulate it, sign and store it (SENT).

    Nothing is broadcast here: the signed transaction is committed first, so whatever
    happens next, the retry sends these same bytes. ``lease`` seconds pass before the retry
    schedule looks at it (the caller is about to wait for it). A simulation revert concludes
    the call here. Returns the call as found (any status), or None when another worker holds
    it.
    """
    signer: Relayer | None = None
    signed: SignedCall | None = None
    try:
        with transaction.atomic():
            call = ChainCall.objects.select_for_update(skip_locked=True).filter(pk=call_id).first()
            if call is None or call.status != ChainCall.Status.QUEUED:
                return call
            handlers = _handlers(call.kind)
            signer = _relayer_for(call.sender)
            fn = _contract_function(signer.w3, call)
            try:
                fn.call({"from": signer.address})
            except ContractLogicError as exc:
                _conclude_revert(call, handlers, revert_message(exc) or "reverted")
                return call
            signed = signer.sign(fn)
            call.status = ChainCall.Status.SENT
            call.nonce = signed.nonce
            call.raw_tx = signed.raw_tx
            call.tx_hash = signed.tx_hash
            call.next_attempt_at = timezone.now() + timedelta(seconds=lease)
            call.save(
                update_fields=[
                    "status",
                    "nonce",
                    "raw_tx",
                    "tx_hash",
                    "next_attempt_at",
                    "updated_at",
                ]
            )
            return call
    except BaseException:
        if signer is not None and signed is not None:
            # Not stored, so never to be broadcast: give its nonce back rather than leave a gap.
            signer.resync()
        raise


def _await_receipt(call: ChainCall, *, timeout: float) -> ChainCall:
    """(Re)broadcast a SENT call's stored transaction and settle it from its receipt."""
    signer = _relayer_for(call.sender)
    rejected = ""
    try:
        signer.broadcast(call.raw_tx)
    except ChainError as exc:
        # E.g. no gas money: it cannot be mined now, yet may be once the sender is funded.
        rejected = f"broadcast rejected: {exc.reason}"
        logger.warning("chain call %s: %s", call.pk, rejected)
    receipt = None
    if not _nonce_used(signer.w3, call):
        receipt = signer.wait(call.tx_hash, timeout=0 if rejected else timeout)
        if receipt is None and not _nonce_used(signer.w3, call):
            return _postpone(call, rejected or f"no receipt within {timeout:g}s")
    if receipt is None:
        # The nonce is used: by ours, or by another and ours can never be mined. Look it up
        # strictly (an RPC error raises rather than reading as "absent"), and after reading
        # the count, so that ours, mined before the count was read, is found.
        receipt = _receipt_or_none(signer.w3, call.tx_hash)
        if receipt is None:
            return _resign(call)
    return _conclude_receipt(call, receipt, signer)


def _nonce_used(w3: Web3, call: ChainCall) -> bool:
    """Whether a mined transaction of the sender has used the call's nonce."""
    assert call.nonce is not None  # a SENT call has one
    return int(w3.eth.get_transaction_count(call.sender, "latest")) > call.nonce  # type: ignore[arg-type]


def _receipt_or_none(w3: Web3, tx_hash: str) -> TxReceipt | None:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return None


def _conclude_receipt(call: ChainCall, receipt: TxReceipt, signer: Relayer) -> ChainCall:
    reason = "" if receipt["status"] == 1 else _mined_revert_reason(call, signer, receipt)
    with transaction.atomic():
        locked = ChainCall.objects.select_for_update().get(pk=call.pk)
        if locked.status != ChainCall.Status.SENT or locked.tx_hash != call.tx_hash:
            return locked  # another run concluded (or re-signed) it meanwhile
        handlers = _handlers(locked.kind)
        locked.gas_used = int(receipt["gasUsed"])
        if receipt["status"] == 1:
            locked.block_number = int(receipt["blockNumber"])
            _conclude(locked, handlers, ChainCall.Status.CONFIRMED)
        else:
            note = f"reverted on chain: {reason}" if reason else "reverted on chain"
            _conclude_revert(locked, handlers, reason, note=note)
        return locked


def _mined_revert_reason(call: ChainCall, signer: Relayer, receipt: TxReceipt) -> str:
    """Why a mined transaction reverted, best effort ("" when unknown): a receipt carries no
    reason, so the call is replayed on the state at the end of its block (which holds
    whatever made it revert, e.g. an escrow already released)."""
    fn = _contract_function(signer.w3, call)
    try:
        fn.call({"from": call.sender}, block_identifier=receipt["blockNumber"])
    except ContractLogicError as exc:
        return revert_message(exc)
    except Exception:  # the reason is a courtesy; the receipt already decided
        logger.info("chain call %s: replaying its revert failed", call.pk, exc_info=True)
    return ""


def _conclude_revert(
    call: ChainCall, handlers: _Handlers, reason: str, *, note: str | None = None
) -> None:
    """FAILED, or CONFIRMED when the kind says ``reason`` means the effect already happened.

    Call while holding the call's row lock. ``note`` (default: the reason) is kept in
    ``last_error``.
    """
    note = reason if note is None else note
    if handlers.already_done is not None and handlers.already_done(call, reason):
        _conclude(call, handlers, ChainCall.Status.CONFIRMED, note=f"already done: {note}")
    else:
        _conclude(call, handlers, ChainCall.Status.FAILED, note=note)


def _conclude(call: ChainCall, handlers: _Handlers, status: str, *, note: str = "") -> None:
    """Mark the call CONFIRMED or FAILED and run the kind's handler, in the caller's
    transaction (which holds the call's row lock), so they commit together."""
    call.status = status
    call.next_attempt_at = None
    call.last_error = note[:500]
    if status == ChainCall.Status.CONFIRMED:
        call.confirmed_at = timezone.now()
    call.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "last_error",
            "confirmed_at",
            "gas_used",
            "block_number",
            "updated_at",
        ]
    )
    handler = handlers.confirmed if status == ChainCall.Status.CONFIRMED else handlers.failed
    if handler is not None:
        handler(call)


@dataclass(frozen=True)
class Reorganised:
    """A confirmed call whose transaction is not on the chain as it was confirmed."""

    call: ChainCall
    what: str
    sent_again: bool = False


def chain_calls_recheck(*, also: Iterable[str] = ()) -> list[Reorganised]:
    """Look again at the calls confirmed in blocks the chain has not finalized (and at the
    calls keyed `also`, found in trouble before): a reorganisation may have taken their
    transaction back. One that is gone is broadcast again (the same signed bytes: its nonce
    is free again, so it is mined again, once); one mined again elsewhere is followed to its
    new block. Returns the calls that are not on the chain as they were confirmed, each with
    what became of it."""
    w3 = relayer().w3
    finalized = int(w3.eth.get_block("finalized")["number"])
    calls = ChainCall.objects.filter(
        Q(block_number__gt=finalized) | Q(idempotency_key__in=list(also)),
        status=ChainCall.Status.CONFIRMED,
        block_number__isnull=False,
    ).order_by("sender", "nonce")  # a sender's gaps are filled in nonce order
    troubled: list[Reorganised] = []
    for call in calls:
        receipt = _receipt_or_none(w3, call.tx_hash)
        if receipt is None and _nonce_used(w3, call):
            # Read after the count: ours, mined again meanwhile, is found.
            receipt = _receipt_or_none(w3, call.tx_hash)
            if receipt is None:
                troubled.append(Reorganised(call, f"{_left(call)}, and its nonce went to another"))
                continue
        if receipt is None:
            troubled.append(_send_again(call))
        elif receipt["status"] != 1:
            what = f"mined again in block {receipt['blockNumber']}, it reverted"
            troubled.append(Reorganised(call, what))
        elif receipt["blockNumber"] != call.block_number:
            ChainCall.objects.filter(pk=call.pk).update(block_number=receipt["blockNumber"])
    return troubled


def _left(call: ChainCall) -> str:
    return f"its transaction {call.tx_hash} (block {call.block_number}) left the chain"


def _send_again(call: ChainCall) -> Reorganised:
    """Broadcast a confirmed call's transaction that a reorganisation took back (its nonce
    is free again)."""
    try:
        _relayer_for(call.sender).broadcast(call.raw_tx)
    except ChainError as exc:
        return Reorganised(call, f"{_left(call)}; sending it again was refused: {exc.reason}")
    logger.warning("chain call %s: %s; sent again", call.pk, _left(call))
    return Reorganised(call, f"{_left(call)}; sent again", sent_again=True)


def _postpone(call: ChainCall, error: str) -> ChainCall:
    """No receipt yet, and the transaction may still be mined: look again later."""
    now = timezone.now()
    ChainCall.objects.filter(pk=call.pk, status=ChainCall.Status.SENT, tx_hash=call.tx_hash).update(
        attempts=F("attempts") + 1,
        next_attempt_at=now + backoff(call.attempts),
        last_error=error[:500],
        updated_at=now,
    )
    return ChainCall.objects.get(pk=call.pk)


def _resign(call: ChainCall) -> ChainCall:
    """The stored transaction can never be mined (its nonce went to another): forget it, so
    the next attempt signs a fresh one."""
    logger.warning(
        "chain call %s: %s (nonce %s) was superseded; signing afresh",
        call.pk,
        call.tx_hash,
        call.nonce,
    )
    ChainCall.objects.filter(pk=call.pk, status=ChainCall.Status.SENT, tx_hash=call.tx_hash).update(
        status=ChainCall.Status.QUEUED,
        nonce=None,
        raw_tx="",
        tx_hash="",
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        last_error=f"{call.tx_hash} can never be mined: nonce {call.nonce} went to another",
        updated_at=timezone.now(),
    )
    return ChainCall.objects.get(pk=call.pk)


def _record_error(call_id: int, error: str) -> None:
    try:
        attempts = (
            ChainCall.objects.filter(pk=call_id).values_list("attempts", flat=True).first() or 0
        )
        now = timezone.now()
        ChainCall.objects.filter(pk=call_id, status__in=_OPEN).update(
            attempts=F("attempts") + 1,
            next_attempt_at=now + backoff(attempts),
            last_error=error[:500],
            updated_at=now,
        )
    except Exception:  # the database itself is down: the retry schedule will come back
        logger.exception("chain call %s: could not record the error", call_id)
