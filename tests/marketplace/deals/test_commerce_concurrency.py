"""Commerce flows under concurrency: accept, verify, dispute, decline, provider updates.

Each test lines requests up on a barrier and fires them at once; exactly one wins and money
moves exactly once. SQLite serialises writers (IMMEDIATE transactions), so there the tests
check that the loser is refused cleanly; on PostgreSQL (CI) the row locks are what is tested.

Jobs are made the way the API makes them: a thread with an open proposal, accepted by
`accept_perform` (paid from the buyer's balance into a ledger escrow). A human service can
only be bought by x402 through the API; here the backing of the escrow is incidental.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.conf import Conf

from marketplace.deals.agreements import accept_perform
from marketplace.deals.jobs import auto_verify_due, job_dispute, job_update
from marketplace.deals.threads import proposal_make, thread_open
from marketplace.models import Job, JobTransition, Proposal, ServiceType, Thread
from payments.chain.usdc import balance_of as chain_balance
from payments.chain_calls import chain_calls_run_due
from payments.charges import Paid
from payments.ledger import (
    agent_account,
    balance_of,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import ChainCall, Escrow, EscrowTransition, Participant
from payments.reconcile import reconcile
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db(transaction=True)

PRICE = 1_000_000
DISPUTE_PRICE = 5_000
REASON = {"reason": "The delivery is missing half of the pages."}
DELIVERABLES = {"status": "completed", "deliverables": {"report": "done"}}


# --- helpers ----------------------------------------------------------------------------
def post(path: str, body: Any = None, **headers: str) -> Any:
    """One request on its own client and database connection (as a server thread would)."""
    client = Client(HTTP_HOST="127.0.0.1")
    try:
        return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)
    finally:
        connection.close()


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run `calls` in parallel threads released together; their results, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def agent(**fields: Any) -> tuple[Participant, str]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT, **fields)
    return buyer, api_key_issue(participant=buyer)


def negotiating(
    buyer: Participant, service_type: str = ServiceType.AUTOMATED_SERVICE
) -> tuple[Thread, Proposal]:
    """A thread on a new provider's service, with an open proposal at PRICE."""
    service = ServiceFactory(service_type=service_type, price_micros=PRICE)
    thread = thread_open(service=service, buyer=buyer, brief=None, message="hi")
    proposal = proposal_make(thread=thread, provider=service.provider, price_micros=PRICE)
    return thread, proposal


def accepted_job(buyer: Participant, service_type: str) -> Job:
    """A dispatched job with its thread, its proposal's total held in a ledger escrow (the
    buyer's balance is back where it was)."""
    thread, proposal = negotiating(buyer, service_type)
    deposit(buyer, proposal.total_micros)
    return accept_perform(
        thread=thread, proposal=proposal, paid=Paid("balance", buyer, proposal.total_micros)
    )


def completed_human_job(buyer: Participant) -> Job:
    job = accepted_job(buyer, ServiceType.HUMAN_SERVICE)
    return job_update(job=job, provider=job.provider, status="completed", deliverables={"ok": 1})


def transitions(job: Job, to: str) -> int:
    return JobTransition.objects.filter(job=job, to_status=to).count()


def escrow_moves(escrow: Escrow, to: str) -> int:
    return EscrowTransition.objects.filter(escrow=escrow, to_status=to).count()


def statuses(responses: list[Any]) -> list[int]:
    return [response.status_code for response in responses]


# --- accepting one proposal -------------------------------------------------------------
def test_parallel_balance_accepts_of_one_proposal_make_one_job_and_charge_once() -> None:
    buyer, key = agent()
    thread, proposal = negotiating(buyer)
    deposit(buyer, 5 * proposal.total_micros)  # enough for every accept: no 402
    url = f"/v1/threads/{thread.public_id}/accept"
    agreed = {"proposal_id": proposal.public_id}
    responses = race(*[lambda: post(url, agreed, HTTP_X_BALANCE_AUTH=key)] * 6)
    codes = statuses(responses)
    assert codes.count(201) == 1, codes
    assert set(codes) == {201, 409}, [r.content for r in responses]
    job = Job.objects.get(thread=thread)
    assert job.public_id == next(r.json()["job_id"] for r in responses if r.status_code == 201)
    assert Escrow.objects.filter(payer=buyer).count() == 1
    assert job.escrow is not None and job.escrow.status == Escrow.Status.HELD
    assert balance_of(agent_account(buyer)) == 4 * proposal.total_micros
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.ACCEPTED
    assert Thread.objects.get(pk=thread.pk).status == Thread.Status.ACCEPTED
    assert ledger_problems() == []


def test_two_x402_accepts_of_one_proposal_make_one_job_and_return_the_losers_usdc(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(5 * PRICE)
    buyer, _ = agent(wallet=payer.address)
    thread, proposal = negotiating(buyer)
    url = f"/v1/threads/{thread.public_id}/accept"
    challenge = post(url)
    payments = [payment_header(challenge, payer, version=2) for _ in range(2)]
    responses = race(*[lambda h=h, v=v: post(url, **{h: v}) for h, v in payments])
    codes = statuses(responses)
    assert sorted(codes) == [201, 409], [r.content for r in responses]
    chain_calls_run_due(budget_seconds=20)
    assert list(ChainCall.objects.exclude(status=ChainCall.Status.CONFIRMED)) == []
    job = Job.objects.get(thread=thread)
    assert job.escrow is not None
    job.escrow.refresh_from_db()
    assert job.escrow.status == Escrow.Status.HELD  # funded on-chain
    assert chain_balance(token=chain.usdc, address=payer.address) == (
        5 * PRICE - proposal.total_micros
    )
    assert reconcile() == []
    assert ledger_problems() == []


# --- verify, auto-verify, dispute -------------------------------------------------------
def test_a_buyer_verify_racing_auto_verify_releases_the_escrow_once() -> None:
    buyer, key = agent()
    job = completed_human_job(buyer)
    Job.objects.filter(pk=job.pk).update(completed_at=timezone.now() - timedelta(hours=49))
    verify, auto_released = race(
        lambda: post(f"/v1/jobs/{job.public_id}/verify", HTTP_X_API_KEY=key),
        auto_verify_due,
    )
    assert (verify.status_code, auto_released) in {(200, 0), (409, 1)}, verify.content
    job.refresh_from_db()
    assert job.status == Job.Status.RELEASED
    assert (transitions(job, Job.Status.VERIFIED), transitions(job, Job.Status.RELEASED)) == (1, 1)
    assert job.escrow is not None
    assert escrow_moves(job.escrow, Escrow.Status.RELEASED) == 1
    assert balance_of(provider_account(job.provider)) == PRICE
    assert ledger_problems() == []


def test_a_dispute_racing_a_verify_leaves_one_outcome_and_charges_only_a_dispute() -> None:
    for _ in range(5):
        buyer, key = agent()
        deposit(buyer, DISPUTE_PRICE)
        job = completed_human_job(buyer)
        base = f"/v1/jobs/{job.public_id}"
        dispute, verify = race(
            lambda base=base, key=key: post(f"{base}/dispute", REASON, HTTP_X_BALANCE_AUTH=key),
            lambda base=base, key=key: post(f"{base}/verify", HTTP_X_API_KEY=key),
        )
        codes = (dispute.status_code, verify.status_code)
        job.refresh_from_db()
        assert job.escrow is not None
        job.escrow.refresh_from_db()
        if codes == (200, 409):
            assert job.status == Job.Status.DISPUTED
            assert job.escrow.status == Escrow.Status.HELD
            assert balance_of(agent_account(buyer)) == 0  # the dispute was paid
            assert balance_of(provider_account(job.provider)) == 0
        else:
            assert codes == (409, 200), [dispute.content, verify.content]
            assert job.status == Job.Status.RELEASED
            assert job.escrow.status == Escrow.Status.RELEASED
            assert balance_of(agent_account(buyer)) == DISPUTE_PRICE  # not charged
            assert balance_of(provider_account(job.provider)) == PRICE
        assert transitions(job, Job.Status.DISPUTED) + transitions(job, Job.Status.VERIFIED) == 1
        assert ledger_problems() == []


def test_a_dispute_racing_the_providers_completion_leaves_one_outcome() -> None:
    """An automated service: completing it releases the escrow at once."""
    for _ in range(3):
        buyer, key = agent()
        deposit(buyer, DISPUTE_PRICE)
        job = accepted_job(buyer, ServiceType.AUTOMATED_SERVICE)
        provider_key = api_key_issue(participant=job.provider)
        base = f"/v1/jobs/{job.public_id}"
        dispute, update = race(
            lambda base=base, key=key: post(f"{base}/dispute", REASON, HTTP_X_BALANCE_AUTH=key),
            lambda base=base, k=provider_key: post(
                f"{base}/update", DELIVERABLES, HTTP_X_API_KEY=k
            ),
        )
        codes = (dispute.status_code, update.status_code)
        job.refresh_from_db()
        if codes == (200, 409):
            assert job.status == Job.Status.DISPUTED
            assert balance_of(agent_account(buyer)) == 0
            assert balance_of(provider_account(job.provider)) == 0
        else:
            assert codes == (409, 200), [dispute.content, update.content]
            assert job.status == Job.Status.RELEASED
            assert balance_of(agent_account(buyer)) == DISPUTE_PRICE
            assert balance_of(provider_account(job.provider)) == PRICE
        assert ledger_problems() == []


def test_an_x402_dispute_racing_the_providers_completion_leaves_one_outcome(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    """The dispute paid by x402 this time: a refused one is credited to the buyer's balance."""
    for _ in range(3):
        payer = funded_payer(PRICE)
        buyer, _ = agent(wallet=payer.address)
        job = accepted_job(buyer, ServiceType.AUTOMATED_SERVICE)
        provider_key = api_key_issue(participant=job.provider)
        base = f"/v1/jobs/{job.public_id}"
        header, value = payment_header(post(f"{base}/dispute", REASON), payer, version=2)
        dispute, update = race(
            lambda base=base, h=header, v=value: post(f"{base}/dispute", REASON, **{h: v}),
            lambda base=base, k=provider_key: post(
                f"{base}/update", DELIVERABLES, HTTP_X_API_KEY=k
            ),
        )
        codes = (dispute.status_code, update.status_code)
        job.refresh_from_db()
        if codes == (200, 409):
            assert job.status == Job.Status.DISPUTED
            assert balance_of(provider_account(job.provider)) == 0
        else:
            assert codes == (409, 200), [dispute.content, update.content]
            assert job.status == Job.Status.RELEASED
            assert balance_of(provider_account(job.provider)) == PRICE
        # Paid once if the dispute was performed or refused after settling (then credited
        # to the balance); not at all if it was refused before.
        credited = balance_of(agent_account(buyer))
        spent = PRICE - chain_balance(token=chain.usdc, address=payer.address)
        assert (spent, credited) in {(0, 0), (DISPUTE_PRICE, 0), (DISPUTE_PRICE, DISPUTE_PRICE)}
        assert codes == (200, 409) or credited == spent
        assert ledger_problems() == []
    assert reconcile() == []


# --- decline and provider updates -------------------------------------------------------
def test_a_decline_racing_an_accept_never_leaves_the_buyer_charged_for_a_dead_thread() -> None:
    buyer, key = agent()
    thread, proposal = negotiating(buyer)
    deposit(buyer, proposal.total_micros)
    provider_key = api_key_issue(participant=thread.provider)
    base = f"/v1/threads/{thread.public_id}"
    accept, decline = race(
        lambda: post(
            f"{base}/accept", {"proposal_id": proposal.public_id}, HTTP_X_BALANCE_AUTH=key
        ),
        lambda: post(f"{base}/decline", {"reason": "busy"}, HTTP_X_API_KEY=provider_key),
    )
    codes = (accept.status_code, decline.status_code)
    thread.refresh_from_db()
    job = Job.objects.filter(thread=thread).first()
    if codes == (201, 409):  # accepted first; the decline found the job meanwhile
        assert job is not None and job.status == Job.Status.DISPATCHED
        assert thread.status == Thread.Status.ACCEPTED
        assert balance_of(agent_account(buyer)) == 0
    elif codes == (201, 200):  # accepted, then declined: the job is cancelled and refunded
        assert job is not None and job.status == Job.Status.CANCELLED
        assert job.escrow is not None and job.escrow.status == Escrow.Status.REFUNDED
        assert thread.status == Thread.Status.CANCELLED
        assert balance_of(agent_account(buyer)) == proposal.total_micros
    else:
        assert codes == (409, 200), [accept.content, decline.content]
        assert job is None
        assert thread.status == Thread.Status.CANCELLED
        assert not Escrow.objects.filter(payer=buyer).exists()
        assert balance_of(agent_account(buyer)) == proposal.total_micros
    assert ledger_problems() == []


def test_two_completions_of_one_job_release_its_escrow_once() -> None:
    buyer, _ = agent()
    job = accepted_job(buyer, ServiceType.AUTOMATED_SERVICE)
    provider_key = api_key_issue(participant=job.provider)
    url = f"/v1/jobs/{job.public_id}/update"
    responses = race(*[lambda: post(url, DELIVERABLES, HTTP_X_API_KEY=provider_key)] * 2)
    assert sorted(statuses(responses)) == [200, 409], [r.content for r in responses]
    job.refresh_from_db()
    assert job.status == Job.Status.RELEASED
    assert transitions(job, Job.Status.COMPLETED) == 1
    assert job.escrow is not None
    assert escrow_moves(job.escrow, Escrow.Status.RELEASED) == 1
    assert balance_of(provider_account(job.provider)) == PRICE
    assert ledger_problems() == []


# --- dispute resolution in the admin ------------------------------------------------------
def test_two_admins_resolving_one_dispute_at_once_move_the_money_once() -> None:
    buyer, _ = agent()
    job = accepted_job(buyer, ServiceType.HUMAN_SERVICE)
    job = job_update(job=job, provider=job.provider, status="in_progress")
    job = job_dispute(job=job, buyer=buyer, reason=REASON["reason"])
    assert job.escrow is not None
    url = f"/admin/marketplace/dispute/{job.pk}/change/"

    def admin(name: str, resolution: str) -> Callable[[], Any]:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.create_superuser(name, f"{name}@example.com", "pw"))
        return lambda: client.post(url, {"resolution": resolution, "note": "Decided."})

    responses = race(admin("alice", "release"), admin("bob", "refund"))
    assert sorted(statuses(responses)) == [200, 302], [r.content for r in responses]
    job.refresh_from_db()
    paid_to_provider = balance_of(provider_account(job.provider))
    returned_to_buyer = balance_of(agent_account(buyer))
    if job.status == Job.Status.RELEASED:
        assert (paid_to_provider, returned_to_buyer) == (PRICE, 0)
    else:
        assert job.status == Job.Status.REFUNDED
        assert (paid_to_provider, returned_to_buyer) == (0, job.escrow.total)
    moves = EscrowTransition.objects.filter(escrow=job.escrow).exclude(to_status="held")
    assert moves.count() == 1
    assert ledger_problems() == []


# --- an escrow whose funding the contract refuses ----------------------------------------
def test_a_refused_funding_racing_the_providers_completion_leaves_one_outcome(
    chain: Any,
    w3: Any,
    funded_payer: Callable[..., Any],
    snapshot: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Either the job is cancelled and the buyer repaid, or the provider finished first
    and is paid from the contract (its release waited for the funding, or came before the
    failure's settlement); never both, and no deadlock between the escrow's failure and the
    job's moves."""
    monkeypatch.setattr(Conf, "SYNC", False)  # chain calls wait in the queue, as in production
    payer = funded_payer(5 * PRICE)
    buyer, _ = agent(wallet=payer.address)
    thread, proposal = negotiating(buyer)
    url = f"/v1/threads/{thread.public_id}/accept"
    header, value = payment_header(post(url), payer, version=2)
    assert post(url, **{header: value}).status_code == 201
    job = Job.objects.select_related("escrow").get(thread=thread)
    assert job.escrow is not None and job.escrow.status == Escrow.Status.PENDING
    provider_key = api_key_issue(participant=job.provider)
    w3.provider.make_request("evm_increaseTime", [31 * 24 * 3600])  # past the escrow's expiry
    w3.provider.make_request("evm_mine", [])
    _, update = race(
        lambda: chain_calls_run_due(budget_seconds=20),
        lambda: post(f"/v1/jobs/{job.public_id}/update", DELIVERABLES, HTTP_X_API_KEY=provider_key),
    )
    chain_calls_run_due(budget_seconds=20)  # the money's way out of the contract
    job.refresh_from_db()
    escrow = Escrow.objects.get(pk=job.escrow_id)
    assert escrow.status == Escrow.Status.FAILED
    assert balance_of(f"escrow:{escrow.public_id}") == 0
    spent = 5 * PRICE - chain_balance(token=chain.usdc, address=payer.address)
    if update.status_code == 200:
        assert job.status == Job.Status.RELEASED
        assert spent == proposal.total_micros
        assert chain_balance(token=chain.usdc, address=job.provider.wallet) == escrow.amount
    else:
        assert update.status_code == 409, update.content
        assert job.status == Job.Status.CANCELLED
        assert spent == 0
    assert ledger_problems() == []
