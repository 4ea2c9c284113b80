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
    chain_call_enqueue,
    chain_call_run,
    chain_call_sign,
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
    owner = Account.from_key(chain.owner_key)
    other = owner.sign_transaction(
        {
            "to": owner.address,
            "value": 0,
            "nonce": signed.nonce,
            "gas": 21_000,
            "gasPrice": 2 * w3.eth.gas_price,
            "chainId": chain.chain_id,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(other.raw_transaction))

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
    call = chain_call_enqueue(
        kind=kind.name,
        idempotency_key="release-unknown",
        contract=chain.escrow,
        function="release",
        args=["0x" + secrets.token_hex(32)],
    )
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
    call = chain_call_enqueue(
        kind=kind.name,
        idempotency_key="release-again",
        contract=chain.escrow,
        function="release",
        args=["0x" + secrets.token_hex(32)],
    )

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


def test_a_call_mined_again_in_another_block_is_followed_there(
    w3: Web3, reorganised: tuple[ChainCall, Kind, str]
) -> None:
    call, _, _ = reorganised
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    w3.eth.send_raw_transaction(call.raw_tx)
    assert reorg_issues() == []
    call.refresh_from_db()
    assert call.block_number == w3.eth.block_number


def test_a_call_whose_nonce_a_reorganisation_gave_to_another_is_left_to_an_operator(
    chain: Deployment, w3: Web3, reorganised: tuple[ChainCall, Kind, str]
) -> None:
    call, _, _ = reorganised
    other = Account.from_key(chain.owner_key).sign_transaction(
        {
            "to": _address(),
            "value": 1,
            "gas": 21_000,
            "gasPrice": 2 * w3.eth.gas_price,
            "nonce": call.nonce,
            "chainId": w3.eth.chain_id,
        }
    )
    w3.eth.send_raw_transaction(other.raw_transaction)
    (issue,) = reorg_issues()
    assert issue.detail.endswith("left the chain, and its nonce went to another")
    assert issue.action.startswith("Its effect was recorded when it first confirmed")
    w3.provider.make_request(RPCEndpoint("anvil_mine"), [200])  # finalized past its block
    assert w3.eth.get_block("finalized")["number"] > call.block_number
    assert reorg_issues() == [issue]  # still found: it stays open


def test_a_call_that_reverts_when_mined_again_is_left_to_an_operator(
    chain: Deployment,
    w3: Web3,
    reorganised: tuple[ChainCall, Kind, str],
    authorize: Callable[..., Any],
) -> None:
    call, _, _ = reorganised
    # The relayer's USDC leaves by an authorization someone else submits (its nonce stays).
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
    (sent_again,) = reorg_issues()
    (reverted,) = reorg_issues()
    assert reverted.pk == sent_again.pk
    assert reverted.detail == f"mined again in block {w3.eth.block_number}, it reverted"
    assert reverted.action.startswith("Its effect was recorded when it first confirmed")
