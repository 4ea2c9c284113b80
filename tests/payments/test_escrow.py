"""Escrow: ledger-backed and on-chain, every move checked on-chain and in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from web3 import Web3

from payments import hooks
from payments import reconcile as reconciliation
from payments.chain.client import relayer
from payments.chain.escrow_state import escrow_record, unallocated
from payments.chain.usdc import balance_of, mint, settle_transfer_with_authorization
from payments.chain_calls import chain_call_run, chain_call_sign
from payments.contracts import load_artifact
from payments.escrow import (
    InvalidTransition,
    _fund_failed,
    _funded,
    escrow_open_ledger,
    escrow_open_on_chain,
    escrow_refund,
    escrow_release,
    escrow_split,
    provider_account,
    return_unallocated,
    split_parts,
)
from payments.ledger import (
    PLATFORM_FEES,
    WORLD,
    InsufficientFunds,
    Posting,
    agent_account,
    ledger_record,
)
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import ChainCall, Escrow, ReconciliationIssue, X402Payment
from payments.reconcile import escrows_to_compare, held_on_ledger, reconcile
from payments.services import participant_for_wallet
from payments.settlements import payment_return_from_escrow
from tests.factories import ParticipantFactory, settled_payment_row
from the402.lib.errors import ApplicationError

pytestmark = pytest.mark.django_db
LATER = timedelta(minutes=30)
AMOUNT, FEE = 2_000_000, 100_000  # a $2.00 job and its 5% fee


def in_a_day() -> Any:
    return timezone.now() + timedelta(days=1)


def ledger_escrow(payer: Any, *, payee: Any = None, **overrides: Any) -> Escrow:
    """A held ledger escrow of AMOUNT + FEE for a day (keyword arguments change it)."""
    values = {"amount": AMOUNT, "fee": FEE, "expires_at": in_a_day(), **overrides}
    return escrow_open_ledger(payer=payer, payee=payee or ParticipantFactory(), **values)


@pytest.fixture
def agent_with_balance() -> Any:
    agent = ParticipantFactory(type="agent")
    ledger_record(
        kind="deposit",
        idempotency_key=f"d-{agent.public_id}",
        postings=[Posting(WORLD, agent_account(agent), 5_000_000)],
    )
    return agent


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """Run what the code schedules after commit (the chain-call tasks), as production does."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def paid_escrow(
    chain: Any,
    funded_payer: Callable[..., Any],
    authorize: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Escrow]:
    """An on-chain escrow opened from a real x402 payment to The402Escrow."""

    def _open(expires_at: Any = None, *, funded: Any = None) -> Escrow:
        """`funded`: a list to collect the funding's after-commit callbacks in, instead of
        running them (the escrow then stays pending until the test runs them)."""
        payer = funded_payer(10_000_000)
        authorization, signature = authorize(payer, chain.escrow, AMOUNT + FEE)
        result = settle_transfer_with_authorization(
            token=chain.usdc, authorization=authorization, signature=signature
        )
        assert result.status == "settled"
        payment = settled_payment_row(chain.usdc, authorization, result.tx_hash)
        with django_capture_on_commit_callbacks(execute=funded is None) as callbacks:
            escrow = escrow_open_on_chain(
                payment=payment,
                payer=participant_for_wallet(payer.address),
                payee=ParticipantFactory(type="provider"),
                amount=AMOUNT,
                fee=FEE,
                expires_at=expires_at or in_a_day(),
                reference="job_0123456789abcdef",
            )
        if funded is not None:
            funded.extend(callbacks)
        escrow.payer_account = payer  # the test may act as the payer on-chain
        return escrow

    return _open


def assert_confirmed_and_emptied(escrow: Escrow, function: str) -> None:
    """The move's chain call is confirmed and its handler emptied the escrow's ledger account
    (a handler that raises leaves the call unconfirmed, to be retried)."""
    call = ChainCall.objects.get(idempotency_key=f"escrow-{function}:{escrow.public_id}")
    assert call.status == "confirmed", call.last_error
    assert ledger_balance(f"escrow:{escrow.public_id}") == 0


# --- ledger-backed -------------------------------------------------------------------------
def test_a_ledger_escrow_holds_the_agents_balance(agent_with_balance: Any) -> None:
    escrow = ledger_escrow(agent_with_balance)
    assert escrow.status == "held"
    assert ledger_balance(agent_account(agent_with_balance)) == 5_000_000 - AMOUNT - FEE
    assert ledger_balance(f"escrow:{escrow.public_id}") == AMOUNT + FEE
    assert ledger_problems() == []


def test_a_ledger_escrow_needs_the_balance(agent_with_balance: Any) -> None:
    with pytest.raises(InsufficientFunds):
        ledger_escrow(agent_with_balance, amount=5_000_000, fee=1)
    assert not Escrow.objects.exists()


@pytest.mark.parametrize(
    ("amount", "fee"), [(-1, FEE + 1), (AMOUNT, -1), (0, 0)], ids=["amount", "fee", "nothing"]
)
def test_an_escrow_holds_a_positive_amount(agent_with_balance: Any, amount: int, fee: int) -> None:
    with pytest.raises(ApplicationError, match="positive amount"):
        ledger_escrow(agent_with_balance, amount=amount, fee=fee)
    assert not Escrow.objects.exists()


def test_an_escrow_of_a_fee_alone_or_an_amount_alone_is_accepted(agent_with_balance: Any) -> None:
    for amount, fee in ((0, FEE), (AMOUNT, 0)):
        ledger_escrow(agent_with_balance, amount=amount, fee=fee)
    assert Escrow.objects.count() == 2


def test_an_escrow_must_expire_in_the_future(agent_with_balance: Any) -> None:
    with pytest.raises(ApplicationError, match="expire in the future"):
        ledger_escrow(agent_with_balance, expires_at=timezone.now() - timedelta(seconds=1))
    assert ledger_balance(agent_account(agent_with_balance)) == 5_000_000


@pytest.mark.parametrize(("payee_amount", "to_agent"), [(0, AMOUNT + FEE), (AMOUNT, 0)])
def test_a_split_may_give_all_or_nothing_to_the_provider(
    agent_with_balance: Any, payee_amount: int, to_agent: int
) -> None:
    escrow = ledger_escrow(agent_with_balance)
    assert split_parts(escrow, payee_amount)[2] == to_agent


@pytest.mark.parametrize("payee_amount", [-1, AMOUNT + 1])
def test_a_split_outside_the_amount_is_refused(agent_with_balance: Any, payee_amount: int) -> None:
    escrow = ledger_escrow(agent_with_balance)
    with pytest.raises(ApplicationError) as refused:
        escrow_split(escrow, payee_amount=payee_amount)
    assert refused.value.code == "invalid_split"
    assert Escrow.objects.get(pk=escrow.pk).status == "held"


def test_releasing_a_ledger_escrow_owes_the_provider_and_earns_the_fee(
    agent_with_balance: Any,
) -> None:
    payee = ParticipantFactory()
    escrow = ledger_escrow(agent_with_balance, payee=payee)
    escrow_release(escrow)
    assert ledger_balance(provider_account(payee)) == AMOUNT
    assert ledger_balance(PLATFORM_FEES) == FEE
    assert ledger_balance(f"escrow:{escrow.public_id}") == 0
    assert [t.to_status for t in escrow.transitions.order_by("id")] == ["held", "released"]
    assert ledger_problems() == []


def test_refunding_a_ledger_escrow_returns_everything(agent_with_balance: Any) -> None:
    escrow = ledger_escrow(agent_with_balance)
    escrow_refund(escrow)
    assert ledger_balance(agent_account(agent_with_balance)) == 5_000_000
    assert ledger_problems() == []


def test_splitting_a_ledger_escrow_follows_the_contracts_rule(agent_with_balance: Any) -> None:
    payee = ParticipantFactory()
    escrow = ledger_escrow(agent_with_balance, payee=payee)
    escrow_split(escrow, payee_amount=500_000)
    assert ledger_balance(provider_account(payee)) == 500_000
    assert ledger_balance(PLATFORM_FEES) == 25_000  # 100_000 * 500_000 // 2_000_000
    assert ledger_balance(agent_account(agent_with_balance)) == 5_000_000 - 525_000
    assert ledger_problems() == []


def test_a_split_moves_even_a_single_micro_usdc(agent_with_balance: Any) -> None:
    escrow = ledger_escrow(agent_with_balance)
    escrow_split(escrow, payee_amount=20)  # its fee: 100_000 * 20 // 2_000_000 = 1
    assert ledger_balance(PLATFORM_FEES) == 1
    assert ledger_balance(f"escrow:{escrow.public_id}") == 0
    assert ledger_problems() == []


def test_an_escrow_moves_once(agent_with_balance: Any) -> None:
    escrow = ledger_escrow(agent_with_balance)
    escrow_release(escrow)
    with pytest.raises(InvalidTransition):
        escrow_refund(escrow)
    with pytest.raises(InvalidTransition):
        escrow_release(Escrow.objects.get(pk=escrow.pk))
    assert ledger_problems() == []


# --- on-chain ------------------------------------------------------------------------------
def test_an_on_chain_escrow_is_funded_right_after_settlement(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    escrow.refresh_from_db()
    assert escrow.status == "held"
    record = escrow_record(escrow.chain_id)
    assert (record["state"], record["amount"], record["fee"]) == ("Held", AMOUNT, FEE)
    assert record["payee"] == escrow.payee.wallet
    assert ledger_balance(f"escrow:{escrow.public_id}") == AMOUNT + FEE
    assert reconcile() == []
    assert ledger_problems() == []


@pytest.mark.parametrize("fee", [FEE - 1, FEE + 1])
def test_an_on_chain_escrow_must_match_its_payment(
    chain: Any, funded_payer: Callable[..., Any], authorize: Callable[..., Any], fee: int
) -> None:
    payer = funded_payer(10_000_000)
    authorization, _ = authorize(payer, chain.escrow, AMOUNT + FEE)
    payment = settled_payment_row(chain.usdc, authorization, "0x" + "aa" * 32)
    with pytest.raises(ApplicationError, match="does not match"):
        escrow_open_on_chain(
            payment=payment,
            payer=participant_for_wallet(payer.address),
            payee=ParticipantFactory(type="provider"),
            amount=AMOUNT,
            fee=fee,
            expires_at=in_a_day(),
        )
    assert not Escrow.objects.exists()


def test_releasing_on_chain_pays_the_provider_and_the_treasury(
    chain: Any, paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    escrow = paid_escrow()
    treasury_before = balance_of(token=chain.usdc, address=chain.treasury)
    with on_commit():
        escrow_release(Escrow.objects.get(pk=escrow.pk))
    assert escrow_record(escrow.chain_id)["state"] == "Released"
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == AMOUNT
    assert balance_of(token=chain.usdc, address=chain.treasury) == treasury_before + FEE
    assert_confirmed_and_emptied(escrow, "release")
    assert reconcile() == []
    assert ledger_problems() == []


def test_a_release_asked_for_before_the_funding_is_mined_waits_for_it(
    chain: Any, paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    funding: list[Callable[[], None]] = []
    escrow = paid_escrow(funded=funding)
    with on_commit():
        escrow_release(Escrow.objects.get(pk=escrow.pk), reason="verified early")
    escrow.refresh_from_db()
    assert (escrow.status, escrow.deferred) == ("pending", "released")
    assert not ChainCall.objects.filter(kind="escrow_release").exists()
    with on_commit():
        for run in funding:  # the fund call is mined; the release follows
            run()
    escrow.refresh_from_db()
    assert (escrow.status, escrow.deferred) == ("released", "")
    assert escrow_record(escrow.chain_id)["state"] == "Released"
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == AMOUNT
    assert reconcile() == []
    assert ledger_problems() == []


def test_only_one_move_can_wait_for_the_funding(
    paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    funding: list[Callable[[], None]] = []
    escrow = paid_escrow(funded=funding)
    escrow_refund(Escrow.objects.get(pk=escrow.pk))
    with pytest.raises(InvalidTransition):
        escrow_release(Escrow.objects.get(pk=escrow.pk))
    with on_commit():
        for run in funding:
            run()
    assert escrow_record(escrow.chain_id)["state"] == "Refunded"
    assert reconcile() == []
    assert ledger_problems() == []


@pytest.fixture
def refused_escrow(
    w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> Callable[..., Escrow]:
    """An on-chain escrow whose `fund` is mined only after its expiry, which the contract
    refuses; `meanwhile` acts on the escrow while the funding waits."""

    def _refused(meanwhile: Callable[[Escrow], object] | None = None) -> Escrow:
        funding: list[Callable[[], None]] = []
        escrow = paid_escrow(timezone.now() + timedelta(hours=1), funded=funding)
        if meanwhile is not None:
            meanwhile(Escrow.objects.get(pk=escrow.pk))
        w3.provider.make_request("evm_increaseTime", [2 * 3600])
        w3.provider.make_request("evm_mine", [])
        for run in funding:
            run()
        escrow.refresh_from_db()
        return escrow

    return _refused


def release_early(escrow: Escrow) -> Escrow:
    return escrow_release(escrow, reason="verified early")


def test_a_funding_the_contract_refuses_sends_the_money_back_to_the_payer(
    chain: Any, refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        escrow = refused_escrow()
    assert escrow.status == "failed"
    assert ChainCall.objects.get(kind="escrow_fund").status == "failed"
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == 10_000_000
    assert unallocated() == 0
    assert ledger_balance(f"escrow:{escrow.public_id}") == 0
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [
        ("chain_call_failed", f"escrow-fund:{escrow.public_id}")
    ]
    assert "must not be retried" in issues[0].action
    assert ledger_problems() == []


def test_reconcile_finishes_the_settlement_of_a_failed_escrow_the_process_left(
    chain: Any,
    refused_escrow: Callable[..., Escrow],
    on_commit: Callable[[], Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # the process died after it
        escrow = refused_escrow()
    assert escrow.status == "failed"
    with on_commit():
        reconcile()  # within the grace period the settlement may still be under way
    assert ledger_balance(f"escrow:{escrow.public_id}") == AMOUNT + FEE
    with on_commit():
        reconcile(now=timezone.now() + LATER)
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == 10_000_000
    assert ledger_balance(f"escrow:{escrow.public_id}") == 0
    assert ledger_problems() == []


def test_a_release_promised_before_a_refused_funding_is_paid_from_the_contract(
    chain: Any, refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    treasury_before = balance_of(token=chain.usdc, address=chain.treasury)
    with on_commit():
        escrow = refused_escrow(meanwhile=release_early)
    assert (escrow.status, escrow.deferred) == ("failed", "released")
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == AMOUNT
    assert balance_of(token=chain.usdc, address=chain.treasury) == treasury_before + FEE
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == 10_000_000 - AMOUNT - FEE
    assert (unallocated(), ledger_balance(f"escrow:{escrow.public_id}")) == (0, 0)
    issues = reconcile(now=timezone.now() + LATER)
    assert [i.kind for i in issues] == ["chain_call_failed"]  # the fund call's, kept to read
    assert ledger_problems() == []


def test_a_refund_promised_before_a_refused_funding_goes_back_to_the_payer(
    chain: Any, refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        escrow = refused_escrow(meanwhile=lambda e: escrow_refund(e, reason="declined"))
    assert (escrow.status, escrow.deferred) == ("failed", "refunded")
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == 10_000_000
    assert (unallocated(), ledger_balance(f"escrow:{escrow.public_id}")) == (0, 0)
    assert ledger_problems() == []


def test_a_split_promised_before_a_refused_funding_is_paid_from_the_contract(
    chain: Any, refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        escrow = refused_escrow(meanwhile=lambda e: escrow_split(e, payee_amount=AMOUNT // 2))
    to_provider, to_fees, to_agent = split_parts(escrow, AMOUNT // 2)
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == to_provider
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == (
        10_000_000 - AMOUNT - FEE + to_agent
    )
    assert ledger_balance(PLATFORM_FEES) == to_fees
    assert (unallocated(), ledger_balance(f"escrow:{escrow.public_id}")) == (0, 0)
    assert ledger_problems() == []


def test_a_failed_escrows_money_is_settled_once(
    chain: Any, refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        escrow = refused_escrow()  # returned to its payer
    with pytest.raises(InvalidTransition, match="settled already"):
        escrow_release(escrow)
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == 0
    assert ChainCall.objects.filter(kind="escrow_return_unallocated").count() == 1
    assert ledger_problems() == []


def test_reconcile_accepts_escrows_whose_ledger_accounts_hold_what_is_due(
    agent_with_balance: Any, chain: Any
) -> None:
    ledger_escrow(agent_with_balance)
    escrow_release(ledger_escrow(agent_with_balance))
    assert reconcile(now=timezone.now() + LATER) == []


def resolve_by_hand(issue: ReconciliationIssue) -> None:
    """What the admin's "Mark the selected issues resolved" does."""
    ReconciliationIssue.objects.filter(pk=issue.pk).update(
        resolved_at=timezone.now(), resolved_by=ReconciliationIssue.ResolvedBy.OPERATOR
    )


def test_reconcile_resolves_an_issue_it_no_longer_finds(chain: Any) -> None:
    gone = ReconciliationIssue.objects.create(
        kind="escrow_move_stuck", subject="esc_0123456789abcdef", detail="d", action="a"
    )
    assert reconcile() == []
    gone.refresh_from_db()
    assert gone.resolved_at is not None
    assert gone.resolved_by == ReconciliationIssue.ResolvedBy.RECONCILE


def test_a_run_that_stops_half_way_resolves_nothing(chain: Any, settings: Any) -> None:
    from payments.chain.client import clear_caches
    from payments.chain.devnet import free_port, rpc_url_for

    open_issue = ReconciliationIssue.objects.create(
        kind="escrow_move_stuck", subject="esc_0123456789abcdef", detail="d", action="a"
    )
    settings.CHAIN_RPC_URL = rpc_url_for(free_port())  # the node is unreachable
    clear_caches()
    try:
        with pytest.raises(Exception, match="Connection"):  # noqa: B017 - requests' error
            reconcile()
    finally:
        settings.CHAIN_RPC_URL = chain.rpc_url
        clear_caches()
    open_issue.refresh_from_db()
    assert open_issue.resolved_at is None


def test_an_issue_found_again_stays_open_and_is_seen_again(chain: Any, snapshot: None) -> None:
    mint(token=chain.usdc, to=chain.escrow, amount=7)
    (first,) = reconcile()
    (again,) = reconcile()
    assert again.pk == first.pk
    assert again.resolved_at is None
    assert again.last_seen_at > first.last_seen_at


def test_an_issue_whose_check_waits_out_the_grace_period_stays_open(
    agent_with_balance: Any, chain: Any
) -> None:
    """A move on the escrow restarts its grace period: the mismatch is not checked again
    until it ends, which is no sign that it cleared."""
    escrow = ledger_escrow(agent_with_balance)
    ledger_record(
        kind="adjustment",
        idempotency_key="taken",
        postings=[Posting(f"escrow:{escrow.public_id}", WORLD, 1)],
    )
    (issue,) = reconcile(now=timezone.now() + LATER)
    Escrow.objects.filter(pk=escrow.pk).update(updated_at=timezone.now())
    assert reconcile() == [issue]
    issue.refresh_from_db()
    assert issue.resolved_at is None


def test_a_stuck_move_whose_check_waits_out_the_grace_period_stays_open(
    paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    escrow = paid_escrow(funded=[])  # its `fund` call never runs
    issues = reconcile(now=timezone.now() + LATER)
    stuck = next(i for i in issues if i.kind == "escrow_move_stuck")
    Escrow.objects.filter(pk=escrow.pk).update(updated_at=timezone.now())
    assert stuck in reconcile()
    stuck.refresh_from_db()
    assert stuck.resolved_at is None


def test_a_resolved_failure_of_a_call_already_acted_on_stays_resolved(
    refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        refused_escrow()
    (issue,) = reconcile(now=timezone.now() + LATER)
    resolve_by_hand(issue)
    assert reconcile(now=timezone.now() + LATER) == []


def test_a_resolved_failure_of_a_call_that_needs_a_retry_comes_back(
    chain: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        call = return_unallocated(to="0x" + "ab" * 20, amount=1, idempotency_key="lost")
    ChainCall.objects.filter(pk=call.pk).update(status=ChainCall.Status.FAILED)
    (issue,) = reconcile()
    resolve_by_hand(issue)
    assert [i.subject for i in reconcile()] == ["lost"]


def test_reconcile_compares_only_escrows_whose_records_can_still_disagree(
    agent_with_balance: Any, paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    settled_on_chain = paid_escrow()
    with on_commit():
        escrow_release(Escrow.objects.get(pk=settled_on_chain.pk))
    releasing_on_chain = paid_escrow()
    escrow_release(Escrow.objects.get(pk=releasing_on_chain.pk))  # not confirmed yet
    held_on_chain = paid_escrow()
    escrow_release(ledger_escrow(agent_with_balance))
    held = ledger_escrow(agent_with_balance)
    compared = {escrow.pk for escrow in escrows_to_compare(held_on_ledger())}
    assert compared == {releasing_on_chain.pk, held_on_chain.pk, held.pk}


def test_reconcile_flags_a_finished_escrow_whose_ledger_account_still_holds_money(
    agent_with_balance: Any, chain: Any
) -> None:
    escrow = escrow_release(ledger_escrow(agent_with_balance))
    ledger_record(  # a stray posting into the finished escrow's account
        kind="adjustment",
        idempotency_key="stray",
        postings=[Posting(WORLD, f"escrow:{escrow.public_id}", 1)],
    )
    assert reconcile() == []  # within the grace period a move may still be landing
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("escrow_ledger_mismatch", escrow.public_id)]
    assert "holds 1 µUSDC on the ledger, where 0 is due" in issues[0].detail
    assert issues[0].action.startswith("Compare the escrow's transitions")


def test_reconcile_flags_a_held_escrow_whose_ledger_account_holds_less(
    agent_with_balance: Any, chain: Any
) -> None:
    escrow = ledger_escrow(agent_with_balance)
    ledger_record(
        kind="adjustment",
        idempotency_key="taken",
        postings=[Posting(f"escrow:{escrow.public_id}", WORLD, AMOUNT + FEE)],
    )
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("escrow_ledger_mismatch", escrow.public_id)]
    assert f"holds 0 µUSDC on the ledger, where {AMOUNT + FEE} is due" in issues[0].detail


def test_an_on_chain_move_not_mined_yet_is_only_flagged_as_stuck(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    escrow_release(Escrow.objects.get(pk=escrow.pk))  # its chain call never runs
    issues = {i.kind: i for i in reconcile(now=timezone.now() + LATER)}
    assert set(issues) == {"escrow_move_stuck", "chain_call_stuck"}  # not a ledger mismatch
    assert issues["chain_call_stuck"].subject == f"escrow-release:{escrow.public_id}"
    assert "(0 attempts; last error: none)" in issues["chain_call_stuck"].detail


def test_an_on_chain_move_is_not_stuck_within_the_grace_period(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    escrow_release(Escrow.objects.get(pk=escrow.pk))  # its chain call has not run yet
    assert reconcile() == []


def test_a_held_on_chain_escrow_raises_nothing_after_the_grace_period(
    paid_escrow: Callable[..., Escrow],
) -> None:
    paid_escrow()
    assert reconcile(now=timezone.now() + LATER) == []


def test_reconcile_flags_a_funding_not_mined_after_the_grace_period(
    paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    """(The snapshot takes back the payment, which would stay unallocated in the contract.)"""
    escrow = paid_escrow(funded=[])  # its `fund` call never runs
    assert reconcile() == []
    issues = reconcile(now=timezone.now() + LATER)
    stuck = next(i for i in issues if i.kind == "escrow_move_stuck")
    assert stuck.subject == escrow.public_id
    assert f"open calls: escrow-fund:{escrow.public_id}" in stuck.detail


def test_a_confirmed_on_chain_move_whose_ledger_account_holds_money_is_a_ledger_mismatch(
    paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    escrow = paid_escrow()
    with on_commit():
        escrow_release(Escrow.objects.get(pk=escrow.pk))
    ledger_record(
        kind="adjustment",
        idempotency_key="stray",
        postings=[Posting(WORLD, f"escrow:{escrow.public_id}", 1)],
    )
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("escrow_ledger_mismatch", escrow.public_id)]
    assert "a released escrow holds 1 µUSDC on the ledger, where 0 is due" in issues[0].detail


def test_an_issue_is_logged_once_however_often_reconcile_finds_it(
    paid_escrow: Callable[..., Escrow], caplog: pytest.LogCaptureFixture
) -> None:
    escrow = paid_escrow()
    Escrow.objects.filter(pk=escrow.pk).update(status="reclaimed")

    def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "payments.reconcile"]

    reconcile()
    assert len(logged()) == 1
    assert escrow.public_id in logged()[0]
    caplog.clear()
    reconcile()
    assert logged() == []


def test_reconcile_flags_an_escrow_the_contract_disagrees_with(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    Escrow.objects.filter(pk=escrow.pk).update(status="reclaimed")  # a record gone wrong
    (issue,) = reconcile()
    assert (issue.kind, issue.subject) == ("escrow_state_mismatch", escrow.public_id)
    assert issue.detail == "we say reclaimed, the contract says Held"


def test_reconcile_flags_a_held_escrow_released_behind_its_back(
    chain: Any, w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    escrow = paid_escrow()
    release_behind_our_back(chain, w3, escrow)
    (issue,) = reconcile()
    assert (issue.kind, issue.detail) == (
        "escrow_state_mismatch",
        "we say held, the contract says Released",
    )
    escrow.refresh_from_db()
    assert escrow.status == "held"  # only a reclaim by the payer is recorded on its own


@pytest.mark.parametrize("fee", [FEE - 1, FEE + 1])
def test_reconcile_flags_an_escrow_holding_other_amounts_than_the_contract(
    paid_escrow: Callable[..., Escrow], fee: int
) -> None:
    escrow = paid_escrow()
    Escrow.objects.filter(pk=escrow.pk).update(fee=fee)  # a record gone wrong
    (issue,) = reconcile()
    assert (issue.kind, issue.subject) == ("escrow_amount_mismatch", escrow.public_id)
    assert issue.detail == f"we hold {AMOUNT}+{fee}, the contract {AMOUNT}+{FEE}"


def test_reconcile_counts_pending_escrows_payments_and_returns_as_explained(
    chain: Any,
    paid_escrow: Callable[..., Escrow],
    pay_escrow_contract: Callable[[int], X402Payment],
    django_capture_on_commit_callbacks: Any,
    snapshot: None,
) -> None:
    before = unallocated()
    paid_escrow(funded=[])  # its `fund` is not mined: the money waits unallocated
    pay_escrow_contract(300)  # a payment whose request has not opened its escrow yet
    with django_capture_on_commit_callbacks(execute=False):  # a return not sent yet
        return_unallocated(to="0x" + "ab" * 20, amount=32, idempotency_key="returning")
    mint(token=chain.usdc, to=chain.escrow, amount=40)
    (issue,) = reconcile()
    assert issue.detail == (
        f"the contract holds {before + AMOUNT + FEE + 300 + 40} µUSDC unallocated; escrows, "
        f"payments and refunds explain {AMOUNT + FEE + 300 + 32}"
    )


def test_reconcile_flags_money_in_the_contract_that_no_record_explains(
    chain: Any, snapshot: None
) -> None:
    before = unallocated()
    mint(token=chain.usdc, to=chain.escrow, amount=7)
    (issue,) = reconcile()
    assert (issue.kind, issue.subject) == ("escrow_unallocated_funds", chain.escrow)
    assert issue.detail == (
        f"the contract holds {before + 7} µUSDC unallocated; escrows, payments and refunds "
        "explain 0"
    )


def take_out_behind_our_back(chain: Any, w3: Any) -> None:
    """The contract's operator key sends all unallocated money away, with no record of ours."""
    stranger = Web3.to_checksum_address("0x" + "ee" * 20)
    call = _escrow_contract(w3, chain).functions.returnUnallocated(stranger, unallocated())
    operator = relayer()  # the operator's key, outside any chain call
    assert operator.wait(operator.send(call), timeout=30)["status"] == 1
    assert unallocated() == 0


def assert_shortfall_flagged(chain: Any, w3: Any, need: int, *, now: Any = None) -> None:
    """Once the money is taken out of the contract behind our back, reconcile says how much
    our records need there."""
    take_out_behind_our_back(chain, w3)
    issues = reconcile(now=now)
    (issue,) = [i for i in issues if i.kind == "escrow_unallocated_shortfall"]
    assert (issue.subject, issue.detail) == (
        chain.escrow,
        "the contract holds 0 µUSDC unallocated; payments not yet in an escrow, escrows not "
        f"yet funded, failed escrows and queued returns need {need}",
    )


def test_reconcile_flags_a_contract_short_of_a_payment_not_yet_in_an_escrow(
    chain: Any, w3: Any, pay_escrow_contract: Callable[[int], X402Payment], snapshot: None
) -> None:
    pay_escrow_contract(300)  # past the grace period, this run returns it: its return needs it
    assert_shortfall_flagged(chain, w3, 300, now=timezone.now() + LATER)


def test_reconcile_flags_a_contract_short_of_an_escrow_not_yet_funded(
    chain: Any, w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    escrow = paid_escrow(funded=[])
    assert_shortfall_flagged(chain, w3, escrow.total, now=timezone.now() + LATER)


def test_reconcile_flags_a_contract_short_of_a_failed_escrow_the_ledger_holds(
    chain: Any,
    w3: Any,
    refused_escrow: Callable[..., Escrow],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # its settlement has not run
        escrow = refused_escrow()
    assert ledger_balance(f"escrow:{escrow.public_id}") == escrow.total
    assert_shortfall_flagged(chain, w3, escrow.total)  # within the grace: the run leaves it


def test_a_funding_mined_but_not_yet_confirmed_is_no_shortfall(
    w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    escrow = paid_escrow(funded=[])
    fund = chain_call_sign(
        ChainCall.objects.get(idempotency_key=f"escrow-fund:{escrow.public_id}").pk
    )
    assert fund is not None and fund.status == "sent"
    w3.eth.send_raw_transaction(fund.raw_tx)  # mined: the money is allocated
    assert escrow_record(escrow.chain_id)["state"] == "Held"
    issues = reconcile(now=timezone.now() + LATER)
    assert "escrow_unallocated_shortfall" not in [i.kind for i in issues]


def test_a_return_mined_but_not_yet_confirmed_is_no_shortfall(
    w3: Any,
    pay_escrow_contract: Callable[[int], X402Payment],
    django_capture_on_commit_callbacks: Any,
) -> None:
    payment = pay_escrow_contract(300)
    with django_capture_on_commit_callbacks(execute=False):
        payment_return_from_escrow(payment)
    call = chain_call_sign(ChainCall.objects.get(kind="escrow_return_unallocated").pk)
    assert call is not None and call.status == "sent"
    w3.eth.send_raw_transaction(call.raw_tx)
    assert unallocated() == 0
    issues = reconcile(now=timezone.now() + LATER)
    assert "escrow_unallocated_shortfall" not in [i.kind for i in issues]


def test_a_payment_within_the_grace_period_is_not_yet_needed_in_the_contract(
    chain: Any, authorize: Callable[..., Any], funded_payer: Callable[..., Any]
) -> None:
    """Its record may say settled before its transfer is mined: the chain read first may
    not have seen it."""
    authorization, _ = authorize(funded_payer(1_000), chain.escrow, 300)
    settled_payment_row(chain.usdc, authorization, "0x" + "12" * 32)  # its transfer not mined
    assert "escrow_unallocated_shortfall" not in [i.kind for i in reconcile()]


def test_refunding_on_chain_returns_amount_and_fee_to_the_payer(
    chain: Any, paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    escrow = paid_escrow()
    with on_commit():
        escrow_refund(Escrow.objects.get(pk=escrow.pk))
    assert escrow_record(escrow.chain_id)["state"] == "Refunded"
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == 10_000_000
    assert_confirmed_and_emptied(escrow, "refund")
    assert reconcile() == []
    assert ledger_problems() == []


def test_splitting_on_chain_pays_exact_parts(
    chain: Any, paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    escrow = paid_escrow()
    with on_commit():
        escrow_split(Escrow.objects.get(pk=escrow.pk), payee_amount=500_000)
    assert escrow_record(escrow.chain_id)["state"] == "Split"
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == 500_000
    assert balance_of(token=chain.usdc, address=escrow.payer.wallet) == 10_000_000 - 525_000
    assert_confirmed_and_emptied(escrow, "split")
    assert reconcile() == []
    assert ledger_problems() == []


def test_a_second_move_is_refused_by_the_service_and_on_chain(
    chain: Any, w3: Any, paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    escrow = paid_escrow()
    with on_commit():
        escrow_release(Escrow.objects.get(pk=escrow.pk))
    with pytest.raises(InvalidTransition):
        escrow_refund(Escrow.objects.get(pk=escrow.pk))
    contract = _escrow_contract(w3, chain)
    with pytest.raises(Exception, match="not held"):  # noqa: B017 - web3's revert error
        contract.functions.refund(bytes.fromhex(escrow.chain_id[2:])).call(
            {"from": relayer().address}
        )


def test_the_payer_reclaims_after_expiry_and_reconcile_records_it(
    chain: Any, w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    escrow = paid_escrow(expires_at=timezone.now() + timedelta(hours=1))
    payer = escrow.payer_account
    contract = _escrow_contract(w3, chain)
    w3.provider.make_request("anvil_setBalance", [payer.address, hex(10**18)])
    with pytest.raises(Exception, match="not expired"):  # noqa: B017 - web3's revert error
        contract.functions.reclaim(bytes.fromhex(escrow.chain_id[2:])).call({"from": payer.address})
    reclaim_after_expiry(chain, w3, escrow)
    assert balance_of(token=chain.usdc, address=payer.address) == 10_000_000
    other = paid_escrow(expires_at=timezone.now() + timedelta(days=2))
    Escrow.objects.filter(pk=other.pk).update(fee=FEE + 1)  # compared after the reclaimed one
    issues = reconcile(now=timezone.now() + LATER)
    assert ("escrow_amount_mismatch", other.public_id) in [(i.kind, i.subject) for i in issues]
    escrow.refresh_from_db()
    assert escrow.status == "reclaimed"
    assert ledger_balance(f"escrow:{escrow.public_id}") == 0
    assert ledger_problems() == []


def test_money_paid_to_the_contract_without_an_escrow_goes_back_to_its_payer(
    chain: Any,
    funded_payer: Callable[..., Any],
    authorize: Callable[..., Any],
    on_commit: Callable[[], Any],
) -> None:
    payer = funded_payer(10_000_000)
    authorization, signature = authorize(payer, chain.escrow, AMOUNT + FEE)
    result = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )
    settled_payment_row(chain.usdc, authorization, result.tx_hash)  # the process died here
    assert unallocated() >= AMOUNT + FEE
    with on_commit():  # within the grace period its request may still open the escrow
        assert reconcile() == []
    assert balance_of(token=chain.usdc, address=payer.address) == 10_000_000 - AMOUNT - FEE
    with on_commit():
        reconcile(now=timezone.now() + LATER)
    assert balance_of(token=chain.usdc, address=payer.address) == 10_000_000
    assert unallocated() == 0
    assert reconcile(now=timezone.now() + LATER) == []
    assert ledger_problems() == []


def test_an_expired_held_escrow_is_refunded_by_reconcile(
    agent_with_balance: Any, chain: Any
) -> None:
    escrow = ledger_escrow(agent_with_balance, expires_at=timezone.now() + timedelta(minutes=5))
    reconcile(now=timezone.now() + LATER)
    escrow.refresh_from_db()
    assert escrow.status == "refunded"
    assert ledger_balance(agent_account(agent_with_balance)) == 5_000_000


def _escrow_contract(w3: Any, chain: Any) -> Any:
    return w3.eth.contract(address=chain.escrow, abi=load_artifact("The402Escrow")["abi"])


def release_behind_our_back(chain: Any, w3: Any, escrow: Escrow) -> None:
    """The operator key releases the escrow on-chain, outside any chain call of ours."""
    call = _escrow_contract(w3, chain).functions.release(bytes.fromhex(escrow.chain_id[2:]))
    w3.eth.wait_for_transaction_receipt(relayer().send(call))


def reclaim_after_expiry(chain: Any, w3: Any, escrow: Escrow) -> None:
    """Past the escrow's expiry, its payer reclaims it on-chain (the payer needs gas)."""
    w3.provider.make_request("evm_increaseTime", [2 * 3600])
    w3.provider.make_request("evm_mine", [])
    payer = escrow.payer_account
    reclaim = _escrow_contract(w3, chain).functions.reclaim(bytes.fromhex(escrow.chain_id[2:]))
    tx = reclaim.build_transaction(
        {"from": payer.address, "nonce": w3.eth.get_transaction_count(payer.address)}
    )
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(payer.sign_transaction(tx).raw_transaction)
    )


# --- what a mutation run of payments/escrow.py found untested ----------------------------
def test_splitting_a_fee_only_escrow_gives_the_treasury_nothing(agent_with_balance: Any) -> None:
    """The contract's rule: with no amount there is no share of the fee to earn."""
    escrow = ledger_escrow(agent_with_balance, amount=0, fee=FEE)
    assert split_parts(escrow, 0) == (0, 0, FEE)
    escrow_split(escrow, payee_amount=0)
    assert ledger_balance(PLATFORM_FEES) == 0
    assert ledger_balance(agent_account(agent_with_balance)) == 5_000_000
    assert ledger_problems() == []


def test_each_move_is_audited_with_the_state_it_left(agent_with_balance: Any) -> None:
    escrow = ledger_escrow(agent_with_balance)
    escrow_release(escrow, reason="delivery verified")
    assert [(t.from_status, t.to_status, t.reason) for t in escrow.transitions.order_by("id")] == [
        ("", "held", "opened"),
        ("held", "released", "delivery verified"),
    ]


def test_a_split_records_the_providers_part_on_the_escrow(agent_with_balance: Any) -> None:
    escrow = ledger_escrow(agent_with_balance)
    escrow_split(escrow, payee_amount=500_000)
    assert escrow.payee_amount == 500_000  # the caller's copy
    assert Escrow.objects.get(pk=escrow.pk).payee_amount == 500_000


def test_opening_the_escrow_of_a_payment_again_returns_the_first(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    again = escrow_open_on_chain(
        payment=escrow.funding_payment,
        payer=escrow.payer,
        payee=escrow.payee,
        amount=AMOUNT,
        fee=FEE,
        expires_at=in_a_day(),
        reference="job_0123456789abcdef",
    )
    assert again.pk == escrow.pk
    assert Escrow.objects.count() == 1
    assert ChainCall.objects.filter(kind="escrow_fund").count() == 1
    assert ledger_balance(f"escrow:{escrow.public_id}") == AMOUNT + FEE
    assert ledger_problems() == []


def test_a_release_with_a_copy_read_before_the_funding_was_mined_is_made_at_once(
    paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    escrow = paid_escrow()  # this copy was read while pending; the funding was mined since
    assert (escrow.status, Escrow.objects.get(pk=escrow.pk).status) == ("pending", "held")
    with on_commit():
        escrow_release(escrow)
    escrow.refresh_from_db()
    assert (escrow.status, escrow.deferred) == ("released", "")
    assert escrow_record(escrow.chain_id)["state"] == "Released"
    assert_confirmed_and_emptied(escrow, "release")


def test_a_release_with_a_copy_read_before_the_funding_failed_is_paid_from_the_contract(
    chain: Any,
    refused_escrow: Callable[..., Escrow],
    on_commit: Callable[[], Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    read_while_pending: list[Escrow] = []
    with django_capture_on_commit_callbacks(execute=False):  # its settlement has not run yet
        escrow = refused_escrow(meanwhile=read_while_pending.append)
    (stale,) = read_while_pending
    assert (stale.status, escrow.status) == ("pending", "failed")
    treasury_before = balance_of(token=chain.usdc, address=chain.treasury)
    with on_commit():
        escrow_release(stale, reason="verified")
    assert balance_of(token=chain.usdc, address=escrow.payee.wallet) == AMOUNT
    assert balance_of(token=chain.usdc, address=chain.treasury) == treasury_before + FEE
    assert (unallocated(), ledger_balance(f"escrow:{escrow.public_id}")) == (0, 0)
    assert ledger_problems() == []


def test_a_move_that_waited_for_the_funding_keeps_its_reason(
    paid_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    funding: list[Callable[[], None]] = []
    escrow = paid_escrow(funded=funding)
    waiting = escrow_release(Escrow.objects.get(pk=escrow.pk), reason="verified early")
    assert (waiting.status, waiting.deferred, waiting.deferred_reason) == (
        "pending",
        "released",
        "verified early",
    )
    with on_commit():
        for run in funding:
            run()
    last = escrow.transitions.order_by("id").last()
    assert (last.from_status, last.to_status, last.reason) == ("held", "released", "verified early")


def test_a_funding_outcome_reported_again_leaves_a_funded_escrow_alone(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    call = ChainCall.objects.get(idempotency_key=f"escrow-fund:{escrow.public_id}")
    _funded(call)  # a confirmation handled twice
    _fund_failed(call)  # a stale failure report
    escrow.refresh_from_db()
    assert escrow.status == "held"
    assert [t.to_status for t in escrow.transitions.order_by("id")] == ["pending", "held"]
    assert ledger_balance(f"escrow:{escrow.public_id}") == AMOUNT + FEE


@pytest.mark.parametrize(
    ("function", "move", "fee_earned"),
    [
        ("release", escrow_release, FEE),
        ("split", lambda escrow: escrow_split(escrow, payee_amount=500_000), 25_000),
        ("refund", escrow_refund, 0),
    ],
    ids=["release", "split", "refund"],
)
def test_a_confirmed_on_chain_move_books_the_fee_it_earned(
    paid_escrow: Callable[..., Escrow],
    on_commit: Callable[[], Any],
    function: str,
    move: Callable[[Escrow], Any],
    fee_earned: int,
) -> None:
    escrow = paid_escrow()
    with on_commit():
        move(Escrow.objects.get(pk=escrow.pk))
    assert_confirmed_and_emptied(escrow, function)
    assert ledger_balance(PLATFORM_FEES) == fee_earned
    assert ledger_problems() == []


def test_a_funding_mined_behind_our_back_is_confirmed_not_failed(
    chain: Any,
    w3: Any,
    paid_escrow: Callable[..., Escrow],
    on_commit: Callable[[], Any],
    snapshot: None,
) -> None:
    funding: list[Callable[[], None]] = []
    escrow = paid_escrow(funded=funding)
    call = ChainCall.objects.get(idempotency_key=f"escrow-fund:{escrow.public_id}")
    escrow_id, payer, payee, amount, fee, expiry = call.args
    contract = _escrow_contract(w3, chain)
    tx_hash = relayer().send(  # as if our first send was mined and its receipt lost
        contract.functions.fund(bytes.fromhex(escrow_id[2:]), payer, payee, amount, fee, expiry)
    )
    w3.eth.wait_for_transaction_receipt(tx_hash)
    with on_commit():
        for run in funding:  # the call reverts ("id already used"): the escrow is funded
            run()
    call.refresh_from_db()
    escrow.refresh_from_db()
    assert call.status == "confirmed", call.last_error
    assert escrow.status == "held"
    assert escrow_record(escrow.chain_id)["state"] == "Held"
    assert ledger_balance(f"escrow:{escrow.public_id}") == AMOUNT + FEE
    assert not ChainCall.objects.filter(kind="escrow_return_unallocated").exists()
    assert ledger_problems() == []


# --- what a mutation run of payments/reconcile.py found untested -------------------------
def test_an_unchecked_escrow_keeps_only_its_own_issue_open(
    agent_with_balance: Any, chain: Any
) -> None:
    """`still_open` keeps the issue of the escrow it was told about, not every issue of
    that kind: another escrow's mismatch that cleared is resolved."""
    fixed = ledger_escrow(agent_with_balance)
    ledger_record(
        kind="adjustment",
        idempotency_key="taken",
        postings=[Posting(f"escrow:{fixed.public_id}", WORLD, 1)],
    )
    (issue,) = reconcile(now=timezone.now() + LATER)
    ledger_record(
        kind="adjustment",
        idempotency_key="given back",
        postings=[Posting(WORLD, f"escrow:{fixed.public_id}", 1)],
    )
    moving = ledger_escrow(agent_with_balance)  # within its grace period: left unchecked
    ledger_record(
        kind="adjustment",
        idempotency_key="taken from the other",
        postings=[Posting(f"escrow:{moving.public_id}", WORLD, 1)],
    )
    assert reconcile() == []
    issue.refresh_from_db()
    assert issue.resolved_by == ReconciliationIssue.ResolvedBy.RECONCILE


def test_reconcile_leaves_an_issue_an_operator_resolved_as_it_was(chain: Any) -> None:
    issue = ReconciliationIssue.objects.create(
        kind="escrow_move_stuck", subject="esc_0123456789abcdef", detail="d", action="a"
    )
    resolve_by_hand(issue)
    issue.refresh_from_db()
    resolved_at = issue.resolved_at
    assert reconcile() == []
    issue.refresh_from_db()
    assert (issue.resolved_at, issue.resolved_by) == (
        resolved_at,
        ReconciliationIssue.ResolvedBy.OPERATOR,
    )


def test_an_escrow_the_payer_reclaimed_raises_no_issue_once_recorded(
    chain: Any, w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    escrow = paid_escrow(expires_at=timezone.now() + timedelta(hours=1))
    w3.provider.make_request("anvil_setBalance", [escrow.payer_account.address, hex(10**18)])
    reclaim_after_expiry(chain, w3, escrow)
    assert reconcile(now=timezone.now() + LATER) == []
    escrow.refresh_from_db()
    assert escrow.status == "reclaimed"


def test_an_escrow_the_contract_disagrees_with_is_not_compared_with_its_ledger(
    chain: Any, w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    """Its state is settled by hand first; only then does its ledger account say anything."""
    escrow = paid_escrow()
    release_behind_our_back(chain, w3, escrow)
    ledger_record(
        kind="adjustment",
        idempotency_key="taken",
        postings=[Posting(f"escrow:{escrow.public_id}", WORLD, 1)],
    )
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("escrow_state_mismatch", escrow.public_id)]


def test_reconcile_flags_an_escrow_whose_amount_differs_from_the_contracts(
    paid_escrow: Callable[..., Escrow],
) -> None:
    escrow = paid_escrow()
    Escrow.objects.filter(pk=escrow.pk).update(amount=AMOUNT + 1)  # a record gone wrong
    (issue,) = reconcile()
    assert (issue.kind, issue.subject) == ("escrow_amount_mismatch", escrow.public_id)
    assert issue.detail == f"we hold {AMOUNT + 1}+{FEE}, the contract {AMOUNT}+{FEE}"


def test_a_funding_mined_but_not_yet_confirmed_is_no_stuck_move(
    w3: Any, paid_escrow: Callable[..., Escrow], snapshot: None
) -> None:
    """The escrow is funded: only its call's confirmation is late (`chain_call_stuck`)."""
    escrow = paid_escrow(funded=[])
    fund = chain_call_sign(
        ChainCall.objects.get(idempotency_key=f"escrow-fund:{escrow.public_id}").pk
    )
    assert fund is not None and fund.status == "sent"
    w3.eth.send_raw_transaction(fund.raw_tx)
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("chain_call_stuck", fund.idempotency_key)]


def test_a_stuck_move_lists_only_the_calls_still_open(paid_escrow: Callable[..., Escrow]) -> None:
    escrow = paid_escrow()  # its `fund` call is confirmed
    escrow_release(Escrow.objects.get(pk=escrow.pk))  # its chain call never runs
    issues = {i.kind: i for i in reconcile(now=timezone.now() + LATER)}
    assert issues["escrow_move_stuck"].detail.endswith(
        f"open calls: escrow-release:{escrow.public_id}"
    )


def test_a_failed_escrows_money_waiting_for_its_dispute_is_flagged_with_its_way_out(
    refused_escrow: Callable[..., Escrow],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        escrow = refused_escrow()
    with hooks.escrow_failed.installed(lambda escrow: None):  # disputed
        issues = {i.kind: i for i in reconcile(now=timezone.now() + LATER)}
    issue = issues["escrow_ledger_mismatch"]
    assert issue.subject == escrow.public_id
    assert issue.action.startswith("Its funding failed after the work had started")


def test_a_failed_escrows_money_in_the_contract_is_explained_until_it_is_settled(
    refused_escrow: Callable[..., Escrow], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):  # its settlement has not run
        escrow = refused_escrow()
    assert unallocated() >= escrow.total
    assert [i.kind for i in reconcile()] == ["chain_call_failed"]  # the refused `fund`


def test_a_settled_failed_escrow_explains_no_money_in_the_contract(
    chain: Any, refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    with on_commit():
        refused_escrow()  # its money went back to its payer
    before = unallocated()
    mint(token=chain.usdc, to=chain.escrow, amount=7)
    issues = {i.kind: i for i in reconcile()}
    assert issues["escrow_unallocated_funds"].detail == (
        f"the contract holds {before + 7} µUSDC unallocated; escrows, payments and refunds "
        "explain 0"
    )


def test_a_payment_still_settling_explains_its_money_in_the_contract(
    pay_escrow_contract: Callable[[int], X402Payment], snapshot: None
) -> None:
    """Its transfer may be mined before its record says settled."""
    payment = pay_escrow_contract(300)
    X402Payment.objects.filter(pk=payment.pk).update(status=X402Payment.Status.SETTLING)
    assert reconcile() == []


def test_a_return_signed_but_not_yet_mined_explains_its_money_in_the_contract(
    pay_escrow_contract: Callable[[int], X402Payment],
    django_capture_on_commit_callbacks: Any,
    snapshot: None,
) -> None:
    payment = pay_escrow_contract(300)
    with django_capture_on_commit_callbacks(execute=False):
        payment_return_from_escrow(payment)
    call = chain_call_sign(ChainCall.objects.get(kind="escrow_return_unallocated").pk)
    assert call is not None and call.status == "sent"  # signed, not broadcast
    assert reconcile() == []
    assert chain_call_run(call.pk).status == "confirmed"  # the money leaves


def test_a_failed_payment_is_not_needed_in_the_contract(
    chain: Any, authorize: Callable[..., Any], funded_payer: Callable[..., Any]
) -> None:
    authorization, _ = authorize(funded_payer(1_000), chain.escrow, 300)
    payment = settled_payment_row(chain.usdc, authorization, "0x" + "34" * 32)
    X402Payment.objects.filter(pk=payment.pk).update(status=X402Payment.Status.FAILED)
    issues = reconcile(now=timezone.now() + LATER)
    assert "escrow_unallocated_shortfall" not in [i.kind for i in issues]


def test_a_call_sent_long_ago_without_a_receipt_is_flagged_as_stuck(
    chain: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        call = return_unallocated(to="0x" + "ab" * 20, amount=1, idempotency_key="in-flight")
    ChainCall.objects.filter(pk=call.pk).update(status=ChainCall.Status.SENT)
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("chain_call_stuck", "in-flight")]
    assert issues[0].detail.startswith("returnUnallocated has been sent since")


def test_an_operator_resolving_another_issue_of_a_failed_call_does_not_silence_it(
    refused_escrow: Callable[..., Escrow], on_commit: Callable[[], Any]
) -> None:
    """Only resolving its `chain_call_failed` issue acknowledges a failure."""
    with on_commit():
        escrow = refused_escrow()
    key = f"escrow-fund:{escrow.public_id}"
    resolve_by_hand(
        ReconciliationIssue.objects.create(
            kind="chain_call_stuck", subject=key, detail="d", action="a"
        )
    )
    issues = reconcile(now=timezone.now() + LATER)
    assert [(i.kind, i.subject) for i in issues] == [("chain_call_failed", key)]


def test_a_return_confirmed_just_after_the_chain_is_read_is_no_unexplained_money(
    pay_escrow_contract: Callable[[int], X402Payment],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What may be unallocated is read before the chain: money leaving in between (a return
    confirmed) is then still explained. The race, made deterministic."""
    payment = pay_escrow_contract(300)
    with django_capture_on_commit_callbacks(execute=False):
        payment_return_from_escrow(payment)
    call = ChainCall.objects.get(kind="escrow_return_unallocated")

    def read_then_return() -> int:
        loose = unallocated()
        assert chain_call_run(call.pk).status == "confirmed"  # the money leaves right after
        return loose

    monkeypatch.setattr(reconciliation, "unallocated", read_then_return)
    assert reconcile() == []
