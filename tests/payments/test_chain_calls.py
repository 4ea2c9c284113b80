"""Chain calls on a real anvil: one transaction mined exactly once, whatever happens."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule
from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import RPCEndpoint

from payments.chain.client import Relayer, clear_caches, relayer
from payments.chain.devnet import ANVIL_DEV_KEYS, Deployment, free_port, rpc_url_for
from payments.chain.usdc import balance_of, mint, split_signature, usdc_contract
from payments.chain_calls import (
    _HANDLERS,
    BACKOFF_BASE,
    _await_receipt,
    chain_call_enqueue,
    chain_call_retry,
    chain_call_run,
    chain_call_sign,
    chain_calls_due,
    register_handlers,
)
from payments.ledger_check import ledger_problems
from payments.models import ChainCall, ReconciliationIssue
from payments.reconcile import reconcile
from payments.tasks import retry_chain_calls
from the402.lib.errors import Conflict

pytestmark = pytest.mark.django_db


@dataclass
class Kind:
    """A chain-call kind registered for one test, recording its handlers' runs."""

    name: str
    confirmed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


MakeKind = Callable[..., Kind]


@pytest.fixture
def make_kind() -> Iterator[MakeKind]:
    names: list[str] = []

    def _make(already_done: Callable[[ChainCall, str], bool] | None = None) -> Kind:
        kind = Kind(f"test-{secrets.token_hex(4)}")
        register_handlers(
            kind.name,
            confirmed=lambda call: kind.confirmed.append(call.pk),
            failed=lambda call: kind.failed.append(call.pk),
            already_done=already_done,
        )
        names.append(kind.name)
        return kind

    yield _make
    for name in names:
        _HANDLERS.pop(name)


@pytest.fixture(autouse=True)
def _ledger_stays_sound(db: None) -> Iterator[None]:
    yield
    assert ledger_problems() == []


def _address() -> str:
    return str(Account.create().address)


def _transfer(chain: Deployment, kind: Kind, to: str, amount: int, key: str = "") -> ChainCall:
    """Enqueue a USDC transfer of ``amount`` from the relayer, which gets it minted first."""
    mint(token=chain.usdc, to=relayer().address, amount=amount)
    return chain_call_enqueue(
        kind=kind.name,
        idempotency_key=key or secrets.token_hex(8),
        contract=chain.usdc,
        function="transfer",
        args=[to, amount],
    )


def take_the_nonce(chain: Deployment, w3: Web3, nonce: int | None) -> None:
    """Another transaction from the relayer's key is mined with `nonce` (ours, if any, can
    then never be)."""
    owner = Account.from_key(chain.owner_key)
    other = owner.sign_transaction(
        {
            "to": owner.address,
            "value": 0,
            "nonce": nonce,
            "gas": 21_000,
            "gasPrice": 2 * w3.eth.gas_price,
            "chainId": chain.chain_id,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(other.raw_transaction))


def _release_of_no_escrow(chain: Deployment, kind: Kind, key: str) -> ChainCall:
    """Enqueue a `release` of an escrow the contract does not hold: it reverts "Escrow: not
    held" in simulation, before anything is signed."""
    return chain_call_enqueue(
        kind=kind.name,
        idempotency_key=key,
        contract=chain.escrow,
        function="release",
        args=["0x" + secrets.token_hex(32)],
    )


def _sent_count(w3: Web3, address: str) -> int:
    return int(w3.eth.get_transaction_count(address, "latest"))  # type: ignore[arg-type]


def test_a_queued_call_is_signed_stored_sent_and_confirmed_after_commit(
    chain: Deployment,
    w3: Web3,
    make_kind: MakeKind,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    kind, to = make_kind(), _address()

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        call = _transfer(chain, kind, to, 5)
        assert call.status == ChainCall.Status.QUEUED  # nothing runs before the commit

    call.refresh_from_db()
    assert call.status == ChainCall.Status.CONFIRMED
    assert call.sender == relayer().address
    assert Web3.keccak(hexstr=call.raw_tx).to_0x_hex() == call.tx_hash
    receipt = w3.eth.get_transaction_receipt(call.tx_hash)  # type: ignore[arg-type]
    assert (receipt["status"], receipt["from"], receipt["gasUsed"]) == (
        1,
        call.sender,
        call.gas_used,
    )
    assert w3.eth.get_transaction(call.tx_hash)["nonce"] == call.nonce  # type: ignore[arg-type]
    assert call.confirmed_at is not None and call.next_attempt_at is None
    assert (call.attempts, call.last_error) == (0, "")
    assert balance_of(token=chain.usdc, address=to) == 5
    assert (kind.confirmed, kind.failed) == ([call.pk], [])


def test_running_a_confirmed_call_again_sends_nothing(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind = make_kind()
    call = chain_call_run(_transfer(chain, kind, _address(), 1).pk)
    assert call.status == ChainCall.Status.CONFIRMED
    sent = _sent_count(w3, call.sender)

    again = chain_call_run(call.pk)

    assert (again.status, again.tx_hash, again.updated_at) == (
        call.status,
        call.tx_hash,
        call.updated_at,
    )
    assert _sent_count(w3, call.sender) == sent
    assert kind.confirmed == [call.pk]


def test_a_crash_between_signing_and_sending_is_completed_with_the_same_transaction(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind, to = make_kind(), _address()
    call = _transfer(chain, kind, to, 3)
    signed = chain_call_sign(call.pk)  # the first half of a run; then the worker "dies"
    assert signed is not None and signed.status == ChainCall.Status.SENT
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction(signed.tx_hash)  # type: ignore[arg-type]

    done = chain_call_run(call.pk)

    assert done.status == ChainCall.Status.CONFIRMED
    assert (done.tx_hash, done.nonce, done.raw_tx) == (signed.tx_hash, signed.nonce, signed.raw_tx)
    assert balance_of(token=chain.usdc, address=to) == 3
    assert kind.confirmed == [call.pk]


def test_a_transaction_whose_nonce_was_taken_is_signed_afresh_and_mined_once(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind, to = make_kind(), _address()
    call = _transfer(chain, kind, to, 7)
    signed = chain_call_sign(call.pk)
    assert signed is not None and signed.nonce is not None
    # Another transaction from the same key takes that nonce first: ours can never be mined.
    take_the_nonce(chain, w3, signed.nonce)

    done = chain_call_run(call.pk)

    assert done.status == ChainCall.Status.CONFIRMED
    assert done.tx_hash != signed.tx_hash
    assert done.nonce is not None and done.nonce > signed.nonce
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(signed.tx_hash)  # type: ignore[arg-type]
    assert done.attempts == 1  # the dead transaction counts as one failed attempt
    assert balance_of(token=chain.usdc, address=to) == 7
    assert kind.confirmed == [call.pk]


def test_a_simulation_revert_fails_the_call_with_its_reason(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind = make_kind()
    call = _release_of_no_escrow(chain, kind, "release-unknown")
    sent = _sent_count(w3, call.sender)

    failed = chain_call_run(call.pk)

    assert failed.status == ChainCall.Status.FAILED
    assert failed.last_error == "Escrow: not held"
    assert (failed.tx_hash, failed.raw_tx, failed.nonce) == ("", "", None)
    assert _sent_count(w3, call.sender) == sent
    assert (kind.confirmed, kind.failed) == ([], [call.pk])


def test_already_done_turns_a_revert_into_a_confirmation(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    seen: list[str] = []

    def already_released(call: ChainCall, reason: str) -> bool:
        seen.append(reason)
        return reason == "Escrow: not held"

    kind = make_kind(already_done=already_released)
    call = _release_of_no_escrow(chain, kind, "release-again")

    done = chain_call_run(call.pk)

    assert done.status == ChainCall.Status.CONFIRMED
    assert done.tx_hash == "" and done.confirmed_at is not None
    assert seen == ["Escrow: not held"]
    assert (kind.confirmed, kind.failed) == ([call.pk], [])


@pytest.mark.django_db(transaction=True)
def test_two_parallel_runs_of_one_call_send_one_transaction(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind, to = make_kind(), _address()
    mint(token=chain.usdc, to=relayer().address, amount=4)
    # Created directly: in autocommit mode `chain_call_enqueue` would run it at once.
    call = ChainCall.objects.create(
        kind=kind.name,
        idempotency_key="parallel",
        contract=chain.usdc,
        function="transfer",
        args=[to, 4],
        sender=relayer().address,
    )
    sent = _sent_count(w3, call.sender)
    start = threading.Barrier(2)

    def run(_: int) -> None:
        try:
            start.wait()
            chain_call_run(call.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, range(2)))

    call.refresh_from_db()
    assert call.status == ChainCall.Status.CONFIRMED
    assert _sent_count(w3, call.sender) == sent + 1
    assert balance_of(token=chain.usdc, address=to) == 4
    assert kind.confirmed == [call.pk]


def test_a_receipt_timeout_leaves_the_call_sent_until_it_is_mined(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 2)
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        before = timezone.now()
        waiting = chain_call_run(call.pk, receipt_timeout=0.3)

        assert waiting.status == ChainCall.Status.SENT
        assert waiting.attempts == 1 and "no receipt" in waiting.last_error
        assert waiting.next_attempt_at is not None and waiting.next_attempt_at > before
        assert w3.eth.get_transaction(waiting.tx_hash)["blockNumber"] is None  # type: ignore[arg-type]
        assert kind.confirmed == []
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    done = chain_call_run(call.pk)

    assert done.status == ChainCall.Status.CONFIRMED
    assert done.tx_hash == waiting.tx_hash
    assert kind.confirmed == [call.pk]


def test_a_transaction_the_node_dropped_is_sent_again_and_mined_once(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind, to = make_kind(), _address()
    call = _transfer(chain, kind, to, 2)
    w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
    try:
        waiting = chain_call_run(call.pk, receipt_timeout=0.3)
        assert waiting.status == ChainCall.Status.SENT
        w3.provider.make_request(RPCEndpoint("anvil_dropTransaction"), [waiting.tx_hash])
        with pytest.raises(TransactionNotFound):
            w3.eth.get_transaction(waiting.tx_hash)  # type: ignore[arg-type]
    finally:
        w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])

    done = chain_call_run(call.pk)

    assert (done.status, done.tx_hash) == (ChainCall.Status.CONFIRMED, waiting.tx_hash)
    assert balance_of(token=chain.usdc, address=to) == 2
    assert kind.confirmed == [call.pk]


def test_an_unreachable_node_is_recorded_and_retried_later(
    chain: Deployment, settings: Any, make_kind: MakeKind
) -> None:
    call = _transfer(chain, make_kind(), _address(), 1)
    settings.CHAIN_RPC_URL = rpc_url_for(free_port())  # nothing listens there
    clear_caches()
    before = timezone.now()

    failed_once = chain_call_run(call.pk)

    assert failed_once.status == ChainCall.Status.QUEUED
    assert failed_once.attempts == 1 and "Connection" in failed_once.last_error
    assert failed_once.next_attempt_at is not None and failed_once.next_attempt_at > before
    settings.CHAIN_RPC_URL = chain.rpc_url
    clear_caches()
    assert chain_call_run(call.pk).status == ChainCall.Status.CONFIRMED


def test_the_same_key_with_other_arguments_is_a_conflict(
    chain: Deployment, make_kind: MakeKind
) -> None:
    kind, to = make_kind(), _address()

    def enqueue(amount: int) -> ChainCall:
        return chain_call_enqueue(
            kind=kind.name,
            idempotency_key="same-key",
            contract=chain.usdc,
            function="transfer",
            args=[to.lower(), amount],
        )

    first = enqueue(1)
    assert enqueue(1).pk == first.pk  # a retry (with the address spelt differently)
    with pytest.raises(Conflict) as raised:
        enqueue(2)
    assert raised.value.code == "idempotency_mismatch"
    assert ChainCall.objects.count() == 1


def test_retry_runs_only_the_calls_that_are_due(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind = make_kind()
    due = _transfer(chain, kind, _address(), 1)
    later = _transfer(chain, kind, _address(), 1)
    ChainCall.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    assert retry_chain_calls() == 1

    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == ChainCall.Status.CONFIRMED
    assert (later.status, later.tx_hash, later.attempts) == (ChainCall.Status.QUEUED, "", 0)
    assert kind.confirmed == [due.pk]


def test_setup_schedules_installs_the_chain_call_retry() -> None:
    call_command("setup_schedules", verbosity=0)
    schedule = Schedule.objects.get(name="chain-calls-retry")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "payments.tasks.retry_chain_calls",
        Schedule.MINUTES,
        1,
    )


# --- reorganisations of the chain -------------------------------------------------------
@pytest.fixture
def empty_the_relayer(
    chain: Deployment, w3: Web3, authorize: Callable[..., Any], snapshot: None
) -> Callable[[], None]:
    """Send all the relayer's USDC away by an authorization someone else submits: the
    relayer's nonce stays where it is, so its signed transactions can still be mined (and
    a transfer of USDC then reverts)."""

    def _empty() -> None:
        sender = Account.from_key(chain.owner_key)
        held = balance_of(token=chain.usdc, address=sender.address)
        authorization, signature = authorize(sender, _address(), held)
        v, r, s = split_signature(signature)
        submit = usdc_contract(w3, chain.usdc).functions.transferWithAuthorization(
            authorization.from_address,
            authorization.to_address,
            authorization.value,
            authorization.valid_after,
            authorization.valid_before,
            bytes.fromhex(authorization.nonce.removeprefix("0x")),
            v,
            r,
            s,
        )
        someone = Relayer(w3, ANVIL_DEV_KEYS[2])
        assert someone.wait(someone.send(submit), timeout=30)["status"] == 1

    return _empty


@pytest.fixture
def reorganised(
    chain: Deployment, w3: Web3, make_kind: MakeKind, snapshot: None
) -> tuple[ChainCall, Kind, str]:
    """A confirmed transfer of 5 whose block a reorganisation then took back (with it, the
    transfer: the recipient holds nothing again)."""
    kind, to = make_kind(), _address()
    call = chain_call_run(_transfer(chain, kind, to, 5).pk)
    assert call.status == ChainCall.Status.CONFIRMED
    assert call.block_number == w3.eth.block_number
    w3.provider.make_request(RPCEndpoint("anvil_reorg"), [1, []])
    assert balance_of(token=chain.usdc, address=to) == 0
    return call, kind, to


def reorg_issues() -> list[ReconciliationIssue]:
    return [issue for issue in reconcile() if issue.kind == "chain_call_reorged"]


@pytest.mark.slow
def test_reconcile_sends_a_call_a_reorganisation_took_back_again(
    chain: Deployment, reorganised: tuple[ChainCall, Kind, str]
) -> None:
    call, kind, to = reorganised
    (issue,) = reorg_issues()
    assert (issue.subject, issue.detail) == (
        call.idempotency_key,
        f"its transaction {call.tx_hash} (block {call.block_number}) left the chain; sent again",
    )
    assert balance_of(token=chain.usdc, address=to) == 5
    assert kind.confirmed == [call.pk]  # its effect was recorded once, when it first confirmed
    assert reorg_issues() == []  # mined again: the next run resolves the issue
    issue.refresh_from_db()
    assert issue.resolved_by == ReconciliationIssue.ResolvedBy.RECONCILE


@pytest.mark.slow
def test_a_call_mined_again_in_another_block_is_followed_there(
    w3: Web3, reorganised: tuple[ChainCall, Kind, str]
) -> None:
    call, _, _ = reorganised
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    w3.eth.send_raw_transaction(call.raw_tx)
    assert reorg_issues() == []
    call.refresh_from_db()
    assert call.block_number == w3.eth.block_number


@pytest.mark.slow
def test_a_call_whose_nonce_a_reorganisation_gave_to_another_is_left_to_an_operator(
    chain: Deployment, w3: Web3, reorganised: tuple[ChainCall, Kind, str]
) -> None:
    call, _, _ = reorganised
    take_the_nonce(chain, w3, call.nonce)
    (issue,) = reorg_issues()
    assert issue.detail.endswith("left the chain, and its nonce went to another")
    assert issue.action.startswith("Its effect was recorded when it first confirmed")
    w3.provider.make_request(RPCEndpoint("anvil_mine"), [200])  # finalized past its block
    assert w3.eth.get_block("finalized")["number"] > call.block_number
    assert reorg_issues() == [issue]  # still found: it stays open


@pytest.mark.slow
def test_a_call_that_reverts_when_mined_again_is_left_to_an_operator(
    w3: Web3, reorganised: tuple[ChainCall, Kind, str], empty_the_relayer: Callable[[], None]
) -> None:
    empty_the_relayer()
    (sent_again,) = reorg_issues()
    (reverted,) = reorg_issues()
    assert reverted.pk == sent_again.pk
    assert reverted.detail == f"mined again in block {w3.eth.block_number}, it reverted"
    assert reverted.action.startswith("Its effect was recorded when it first confirmed")


# --- what a mutation run of payments/chain_calls.py found untested -----------------------
def test_a_call_that_reverts_when_mined_fails_with_the_reason_replayed(
    chain: Deployment, w3: Web3, make_kind: MakeKind, empty_the_relayer: Callable[[], None]
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 5)
    signed = chain_call_sign(call.pk)  # the simulation passes: the relayer holds the USDC
    assert signed is not None and signed.status == ChainCall.Status.SENT
    empty_the_relayer()  # before it is sent

    failed = chain_call_run(call.pk)

    assert failed.status == ChainCall.Status.FAILED
    receipt = w3.eth.get_transaction_receipt(failed.tx_hash)  # type: ignore[arg-type]
    assert (receipt["status"], failed.gas_used) == (0, receipt["gasUsed"])
    assert failed.last_error.startswith("reverted on chain: ")
    assert "exceeds balance" in failed.last_error
    assert failed.confirmed_at is None and failed.next_attempt_at is None
    assert (kind.confirmed, kind.failed) == ([], [call.pk])


def test_a_simulation_revert_leaves_the_call_unconfirmed(
    chain: Deployment, make_kind: MakeKind
) -> None:
    kind = make_kind(already_done=lambda call, reason: False)
    call = _release_of_no_escrow(chain, kind, "release-nothing")

    failed = chain_call_run(call.pk)

    assert (failed.status, failed.confirmed_at) == (ChainCall.Status.FAILED, None)
    assert (kind.confirmed, kind.failed) == ([], [call.pk])


def test_a_revert_taken_as_already_done_says_so(chain: Deployment, make_kind: MakeKind) -> None:
    kind = make_kind(already_done=lambda call, reason: reason == "Escrow: not held")
    call = _release_of_no_escrow(chain, kind, "release-done")
    assert chain_call_run(call.pk).last_error == "already done: Escrow: not held"


def test_a_receipt_seen_after_another_run_concluded_the_call_changes_nothing(
    chain: Deployment, make_kind: MakeKind
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 1)
    stale = chain_call_sign(call.pk)  # this worker's copy, SENT
    assert stale is not None and stale.status == ChainCall.Status.SENT
    done = chain_call_run(call.pk)  # another run confirms it meanwhile
    assert done.status == ChainCall.Status.CONFIRMED

    again = _await_receipt(stale, timeout=5)

    assert (again.status, again.updated_at) == (ChainCall.Status.CONFIRMED, done.updated_at)
    assert kind.confirmed == [call.pk]  # its effect recorded once


def test_a_broadcast_the_node_rejects_is_recorded_and_retried_later(
    chain: Deployment, w3: Web3, make_kind: MakeKind, snapshot: None
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 1)
    signed = chain_call_sign(call.pk)
    assert signed is not None
    gas_money = w3.eth.get_balance(signed.sender)  # type: ignore[arg-type]
    w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [signed.sender, "0x0"])
    try:
        waiting = chain_call_run(call.pk, receipt_timeout=0.3)
    finally:
        w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [signed.sender, hex(gas_money)])

    assert waiting.status == ChainCall.Status.SENT
    assert waiting.last_error.startswith("broadcast rejected: ")
    assert chain_call_run(call.pk).status == ChainCall.Status.CONFIRMED  # sent once funded
    assert kind.confirmed == [call.pk]


def test_a_call_without_a_receipt_backs_off_before_its_next_attempt(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 2)
    w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
    try:
        before = timezone.now()
        waiting = chain_call_run(call.pk, receipt_timeout=0.3)
        assert waiting.status == ChainCall.Status.SENT
        assert waiting.next_attempt_at is not None
        assert waiting.next_attempt_at >= before + BACKOFF_BASE
        assert call.pk not in chain_calls_due().values_list("pk", flat=True)
    finally:
        w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])
        w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    assert chain_call_run(call.pk).status == ChainCall.Status.CONFIRMED


def test_a_superseded_transaction_is_forgotten_whole(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 7)
    signed = chain_call_sign(call.pk)
    assert signed is not None and signed.nonce is not None
    take_the_nonce(chain, w3, signed.nonce)

    requeued = _await_receipt(signed, timeout=1)

    assert (requeued.status, requeued.nonce, requeued.raw_tx, requeued.tx_hash) == (
        ChainCall.Status.QUEUED,
        None,
        "",
        "",
    )
    assert requeued.attempts == 1
    assert chain_call_run(call.pk).status == ChainCall.Status.CONFIRMED


def test_a_signed_call_is_leased_to_the_run_that_waits_for_it(
    chain: Deployment, make_kind: MakeKind
) -> None:
    call = _transfer(chain, make_kind(), _address(), 1)
    before = timezone.now()
    signed = chain_call_sign(call.pk, lease=60)
    assert signed is not None
    signed.refresh_from_db()
    assert signed.next_attempt_at is not None
    assert signed.next_attempt_at >= before + timedelta(seconds=60)
    assert call.pk not in chain_calls_due().values_list("pk", flat=True)
    assert chain_call_run(call.pk).status == ChainCall.Status.CONFIRMED


def test_a_signed_transaction_that_could_not_be_stored_gives_its_nonce_back(
    chain: Deployment, w3: Web3, make_kind: MakeKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 1)
    nonce = _sent_count(w3, call.sender)

    def lost(self: ChainCall, *args: Any, **kwargs: Any) -> None:  # a failpoint: the database
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(ChainCall, "save", lost)
        assert chain_call_run(call.pk).status == ChainCall.Status.QUEUED

    done = chain_call_run(call.pk, receipt_timeout=10)

    assert (done.status, done.nonce) == (ChainCall.Status.CONFIRMED, nonce)
    assert kind.confirmed == [call.pk]


def test_enqueueing_a_call_again_runs_it_once(
    chain: Deployment,
    make_kind: MakeKind,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    kind, to = make_kind(), _address()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = _transfer(chain, kind, to, 1, key="twice")
        again = _transfer(chain, kind, to, 1, key="twice")
    assert again.pk == first.pk
    assert len(callbacks) == 1


def test_retrying_a_failed_call_nothing_compensated_sends_it_again(chain: Deployment) -> None:
    confirmed: list[int] = []
    name = f"test-{secrets.token_hex(4)}"
    register_handlers(name, confirmed=lambda call: confirmed.append(call.pk))  # no `failed`
    try:
        to = _address()
        mint(token=chain.usdc, to=relayer().address, amount=3)
        call = ChainCall.objects.create(
            kind=name,
            idempotency_key="failed-once",
            contract=chain.usdc,
            function="transfer",
            args=[to, 3],
            sender=relayer().address,
            status=ChainCall.Status.FAILED,
            last_error="reverted",
        )

        retried = chain_call_retry(call.pk)

        assert retried.status == ChainCall.Status.CONFIRMED
        assert balance_of(token=chain.usdc, address=to) == 3
        assert confirmed == [call.pk]
    finally:
        _HANDLERS.pop(name)


@pytest.mark.slow
def test_reconcile_says_a_call_sent_again_needs_nothing_done(
    reorganised: tuple[ChainCall, Kind, str],
) -> None:
    (issue,) = reorg_issues()
    assert issue.action.startswith("Nothing to do if a later run resolves this")


@pytest.mark.slow
def test_a_call_the_node_refuses_to_send_again_is_left_to_an_operator(
    w3: Web3, reorganised: tuple[ChainCall, Kind, str]
) -> None:
    call, _, _ = reorganised
    w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [call.sender, "0x0"])  # no gas
    (issue,) = reorg_issues()
    assert issue.detail.startswith(
        f"its transaction {call.tx_hash} (block {call.block_number}) left the chain; "
        "sending it again was refused: "
    )
    assert issue.action.startswith("Its effect was recorded when it first confirmed")


def test_a_receipt_of_a_transaction_the_call_no_longer_stands_for_changes_nothing(
    chain: Deployment, w3: Web3, make_kind: MakeKind
) -> None:
    """Between this worker's read and its receipt, another run re-signed the call (its
    stored transaction is another now): the old receipt must not conclude it."""
    kind = make_kind()
    call = _transfer(chain, kind, _address(), 1)
    stale = chain_call_sign(call.pk)
    assert stale is not None and stale.status == ChainCall.Status.SENT
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(stale.raw_tx))
    other = "0x" + "ee" * 32
    ChainCall.objects.filter(pk=call.pk).update(tx_hash=other)  # as a re-signing run left it

    after = _await_receipt(stale, timeout=5)

    assert (after.status, after.tx_hash) == (ChainCall.Status.SENT, other)
    assert kind.confirmed == []
    ChainCall.objects.filter(pk=call.pk).update(tx_hash=stale.tx_hash)
    assert chain_call_run(call.pk).status == ChainCall.Status.CONFIRMED
    assert kind.confirmed == [call.pk]
