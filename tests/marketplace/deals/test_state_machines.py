"""The job and thread state machines: every move outside their tables is refused (no status
change, no audit row), the allowed ones are taken, and the API answers a move from the wrong
state with a JSON 409 (never charging for it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from marketplace.deals import jobs, threads
from marketplace.deals.jobs import InvalidJobTransition, job_create, job_dispatch, job_move
from marketplace.deals.threads import InvalidThreadTransition
from marketplace.models import (
    Job,
    JobTransition,
    PricingModel,
    Proposal,
    ServiceType,
    Thread,
    ThreadMessage,
    ThreadTransition,
)
from payments import crypto
from payments.escrow import escrow_open_ledger
from payments.ledger import agent_account, balance_of
from payments.ledger_check import ledger_problems
from payments.models import Escrow, EscrowTransition, Participant
from payments.services import api_key_issue
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory, deposit
from the402.lib.money import platform_fee

pytestmark = pytest.mark.django_db

JS = Job.Status
TS = Thread.Status
JOB_STATUSES: list[str] = list(JS.values)
THREAD_STATUSES: list[str] = list(TS.values)


def _pairs(statuses: list[str], table: dict[str, frozenset[str]], *, allowed: bool) -> list[Any]:
    return [
        pytest.param(start, to, id=f"{start}->{to}")
        for start in statuses
        for to in statuses
        if (to in table.get(start, frozenset())) is allowed
    ]


REFUSED_JOB_MOVES = _pairs(JOB_STATUSES, jobs.TRANSITIONS, allowed=False)
ALLOWED_JOB_MOVES = _pairs(JOB_STATUSES, jobs.TRANSITIONS, allowed=True)
REFUSED_THREAD_MOVES = _pairs(THREAD_STATUSES, threads.TRANSITIONS, allowed=False)
ALLOWED_THREAD_MOVES = _pairs(THREAD_STATUSES, threads.TRANSITIONS, allowed=True)


# --- the tables themselves --------------------------------------------------------------
def test_the_job_table_is_the_specified_one() -> None:
    """Pinned: a new move is a product decision (and may move money), not a quiet edit."""
    assert jobs.TRANSITIONS == {
        JS.CREATED: {JS.DISPATCHED, JS.CANCELLED},
        JS.DISPATCHED: {JS.IN_PROGRESS, JS.COMPLETED, JS.FAILED, JS.DISPUTED, JS.CANCELLED},
        JS.IN_PROGRESS: {JS.COMPLETED, JS.FAILED, JS.DISPUTED},
        JS.COMPLETED: {JS.VERIFIED, JS.DISPUTED},
        JS.VERIFIED: {JS.RELEASED},
        JS.DISPUTED: {JS.RELEASED, JS.REFUNDED},
        JS.FAILED: {JS.REFUNDED},
    }


def test_the_thread_table_is_the_specified_one() -> None:
    assert threads.TRANSITIONS == {
        TS.INQUIRY: {TS.NEGOTIATING, TS.CANCELLED, TS.EXPIRED},
        TS.NEGOTIATING: {TS.ACCEPTED, TS.CANCELLED, TS.EXPIRED},
        TS.ACCEPTED: {TS.IN_PROGRESS, TS.COMPLETED, TS.DISPUTED, TS.CANCELLED},
        TS.IN_PROGRESS: {TS.COMPLETED, TS.DISPUTED, TS.CANCELLED},
        TS.COMPLETED: {TS.VERIFIED, TS.DISPUTED},
        TS.DISPUTED: {TS.VERIFIED, TS.CANCELLED},
    }


def test_the_tables_name_only_known_statuses() -> None:
    tables = ((jobs.TRANSITIONS, JOB_STATUSES), (threads.TRANSITIONS, THREAD_STATUSES))
    for table, statuses in tables:
        for start, targets in table.items():
            assert start in statuses
            assert targets <= set(statuses), start
            assert start not in targets, f"{start} may not move to itself"


def test_the_move_lists_cover_every_pair() -> None:
    assert len(REFUSED_JOB_MOVES) + len(ALLOWED_JOB_MOVES) == len(JOB_STATUSES) ** 2
    assert len(ALLOWED_JOB_MOVES) == sum(len(t) for t in jobs.TRANSITIONS.values())
    assert len(REFUSED_THREAD_MOVES) + len(ALLOWED_THREAD_MOVES) == len(THREAD_STATUSES) ** 2
    assert len(ALLOWED_THREAD_MOVES) == sum(len(t) for t in threads.TRANSITIONS.values())


def test_finished_jobs_and_threads_have_no_way_out() -> None:
    for status in (JS.RELEASED, JS.REFUNDED, JS.CANCELLED):
        assert not jobs.TRANSITIONS.get(status), status
    for status in (TS.VERIFIED, TS.CANCELLED, TS.EXPIRED):
        assert not threads.TRANSITIONS.get(status), status


def test_every_job_status_has_a_thread_status() -> None:
    assert set(threads.FOR_JOB_STATUS) == set(JOB_STATUSES)
    assert set(threads.FOR_JOB_STATUS.values()) <= set(THREAD_STATUSES) - threads.OPEN


@pytest.mark.parametrize(("start", "to"), ALLOWED_JOB_MOVES)
def test_every_job_move_carries_its_thread_along_an_allowed_move(start: str, to: str) -> None:
    """thread_follow_job must never need a move the thread table refuses."""
    before, after = threads.FOR_JOB_STATUS[start], threads.FOR_JOB_STATUS[to]
    assert before == after or after in threads.TRANSITIONS.get(before, frozenset())


# --- jobs -------------------------------------------------------------------------------
def job_in(status: str) -> Job:
    job = JobFactory(dispatched=False)
    Job.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(("start", "to"), REFUSED_JOB_MOVES)
def test_a_job_move_outside_the_table_is_refused(start: str, to: str) -> None:
    job = job_in(start)
    audit = JobTransition.objects.filter(job=job).count()
    with pytest.raises(InvalidJobTransition) as refused:
        job_move(job, to)
    assert refused.value.status_code == 409
    assert refused.value.code == "invalid_job_transition"
    job.refresh_from_db()
    assert job.status == start
    assert JobTransition.objects.filter(job=job).count() == audit
    assert (job.completed_at, job.verified_at) == (None, None)


@pytest.mark.parametrize(("start", "to"), ALLOWED_JOB_MOVES)
def test_a_job_move_in_the_table_is_taken_with_an_audit_row(start: str, to: str) -> None:
    job = job_in(start)
    moved = job_move(job, to, note="by the table")
    job.refresh_from_db()
    assert moved.status == job.status == to
    last = JobTransition.objects.filter(job=job).last()
    assert last is not None
    assert (last.from_status, last.to_status, last.note) == (start, to, "by the table")


def test_a_job_move_is_a_compare_and_swap_on_the_stored_status() -> None:
    """A stale instance cannot move a job: job_move reads the locked row, not the caller's."""
    job = job_in(JS.DISPATCHED)
    Job.objects.filter(pk=job.pk).update(status=JS.CANCELLED)  # moved meanwhile
    audit = JobTransition.objects.filter(job=job).count()
    with pytest.raises(InvalidJobTransition):
        job_move(job, JS.IN_PROGRESS)
    job.refresh_from_db()
    assert job.status == JS.CANCELLED
    assert JobTransition.objects.filter(job=job).count() == audit


# --- threads ----------------------------------------------------------------------------
def thread_in(status: str) -> Thread:
    service = ServiceFactory()
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    thread = threads.thread_open(service=service, buyer=buyer, brief={"a": 1}, message="hello")
    Thread.objects.filter(pk=thread.pk).update(status=status)
    return Thread.objects.get(pk=thread.pk)


@pytest.mark.parametrize(("start", "to"), REFUSED_THREAD_MOVES)
def test_a_thread_move_outside_the_table_is_refused(start: str, to: str) -> None:
    thread = thread_in(start)
    audit = ThreadTransition.objects.filter(thread=thread).count()
    expires_at = thread.expires_at
    with pytest.raises(InvalidThreadTransition) as refused, transaction.atomic():
        threads.move(thread, to, actor=None)
    assert (refused.value.status_code, refused.value.code) == (409, "invalid_thread_transition")
    thread.refresh_from_db()
    assert (thread.status, thread.expires_at) == (start, expires_at)
    assert ThreadTransition.objects.filter(thread=thread).count() == audit


@pytest.mark.parametrize(("start", "to"), ALLOWED_THREAD_MOVES)
def test_a_thread_move_in_the_table_is_taken_with_an_audit_row(start: str, to: str) -> None:
    thread = thread_in(start)
    with transaction.atomic():
        threads.move(thread, to, actor=thread.buyer, note="by the table")
    thread.refresh_from_db()
    assert thread.status == to
    if to not in threads.OPEN:
        assert thread.expires_at is None
    last = ThreadTransition.objects.filter(thread=thread).last()
    assert last is not None
    assert (last.from_status, last.to_status, last.actor) == (start, to, thread.buyer)


def test_a_thread_move_is_a_compare_and_swap() -> None:
    thread = thread_in(TS.NEGOTIATING)  # as the caller read it
    Thread.objects.filter(pk=thread.pk).update(status=TS.CANCELLED)  # declined meanwhile
    audit = ThreadTransition.objects.filter(thread=thread).count()
    with pytest.raises(InvalidThreadTransition, match="moved by another request"):
        with transaction.atomic():
            threads.move(thread, TS.ACCEPTED, actor=None)
    thread.refresh_from_db()
    assert thread.status == TS.CANCELLED
    assert ThreadTransition.objects.filter(thread=thread).count() == audit


@pytest.mark.parametrize("to", sorted(threads.DONE))
def test_reaching_a_done_status_erases_credentials(to: str) -> None:
    start = next(s for s, targets in threads.TRANSITIONS.items() if to in targets)
    thread = thread_in(start)
    message = ThreadMessage.objects.create(
        thread=thread,
        sender=thread.buyer,
        kind=ThreadMessage.Kind.CREDENTIAL,
        secret=crypto.encrypt("pw", purpose=threads.CREDENTIAL_PURPOSE),
    )
    with transaction.atomic():
        threads.move(thread, to, actor=None)
    message.refresh_from_db()
    assert (message.secret, message.redacted_at is not None) == (None, True)


@pytest.mark.parametrize("to", [TS.ACCEPTED, TS.IN_PROGRESS, TS.DISPUTED, TS.NEGOTIATING])
def test_other_statuses_keep_credentials(to: str) -> None:
    start = next(s for s, targets in threads.TRANSITIONS.items() if to in targets)
    thread = thread_in(start)
    message = ThreadMessage.objects.create(
        thread=thread,
        sender=thread.buyer,
        kind=ThreadMessage.Kind.CREDENTIAL,
        secret=crypto.encrypt("pw", purpose=threads.CREDENTIAL_PURPOSE),
    )
    with transaction.atomic():
        threads.move(thread, to, actor=None)
    message.refresh_from_db()
    assert message.secret is not None and threads.credential_text(message) == "pw"


# --- through the API --------------------------------------------------------------------
PRICE = 2_000_000
FEE = platform_fee(PRICE)


@dataclass
class PaidJob:
    """A human-service job with its thread, paid from the buyer's balance into escrow."""

    job: Job
    buyer_key: str
    provider_key: str

    @property
    def thread_path(self) -> str:
        return f"/v1/threads/{self.job.thread.public_id}"  # type: ignore[union-attr]

    @property
    def job_path(self) -> str:
        return f"/v1/jobs/{self.job.public_id}"


def paid_job_in(status: str) -> PaidJob:
    service = ServiceFactory(service_type=ServiceType.HUMAN_SERVICE, price_micros=PRICE)
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, PRICE + FEE + 100_000)
    escrow = escrow_open_ledger(
        payer=buyer,
        payee=service.provider,
        amount=PRICE,
        fee=FEE,
        expires_at=timezone.now() + timedelta(days=30),
    )
    thread = threads.thread_for_purchase(service=service, buyer=buyer, brief={"a": 1})
    job = job_create(service=service, buyer=buyer, brief={"a": 1}, escrow=escrow, thread=thread)
    if status != JS.CREATED:
        job = job_dispatch(job)
    Job.objects.filter(pk=job.pk).update(status=status)
    Thread.objects.filter(pk=thread.pk).update(status=threads.FOR_JOB_STATUS[status])
    job.refresh_from_db()
    return PaidJob(
        job,
        api_key_issue(participant=buyer),
        api_key_issue(participant=service.provider),
    )


def _refused_from(target: str) -> list[str]:
    return [s for s in JOB_STATUSES if target not in jobs.TRANSITIONS.get(s, frozenset())]


UPDATE_CASES = [
    pytest.param(body, start, id=f"{body['status']}-from-{start}")
    for body in (
        {"status": JS.IN_PROGRESS},
        {"status": JS.COMPLETED, "deliverables": {"report": "done"}},
        {"status": JS.FAILED, "notes": "gave up"},
    )
    for start in _refused_from(body["status"])
]


def _post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def assert_conflict(response: Any, code: str | None = "invalid_job_transition") -> None:
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    if code is not None:
        assert body["code"] == code, body


def snapshot(paid: PaidJob) -> tuple[Any, ...]:
    job = Job.objects.select_related("thread", "escrow").get(pk=paid.job.pk)
    return (
        job.status,
        job.thread.status,  # type: ignore[union-attr]
        job.escrow.status,  # type: ignore[union-attr]
        JobTransition.objects.filter(job=job).count(),
        ThreadTransition.objects.filter(thread=job.thread).count(),
        EscrowTransition.objects.filter(escrow=job.escrow).count(),
        balance_of(agent_account(job.buyer)),
        ThreadMessage.objects.filter(thread=job.thread).count(),
    )


@pytest.mark.parametrize("via", ["thread", "job"])
@pytest.mark.parametrize(("body", "start"), UPDATE_CASES)
def test_a_provider_update_from_the_wrong_state_is_a_json_409(
    api: Client, via: str, body: dict[str, Any], start: str
) -> None:
    paid = paid_job_in(start)
    before = snapshot(paid)
    path = (paid.thread_path if via == "thread" else paid.job_path) + "/update"
    assert_conflict(_post(api, path, body, HTTP_X_API_KEY=paid.provider_key))
    assert snapshot(paid) == before
    assert ledger_problems() == []


@pytest.mark.parametrize("via", ["thread", "job"])
@pytest.mark.parametrize("start", _refused_from(JS.VERIFIED))
def test_a_verify_from_the_wrong_state_is_a_json_409(api: Client, via: str, start: str) -> None:
    paid = paid_job_in(start)
    before = snapshot(paid)
    path = (paid.thread_path if via == "thread" else paid.job_path) + "/verify"
    assert_conflict(_post(api, path, HTTP_X_API_KEY=paid.buyer_key))
    assert snapshot(paid) == before
    assert ledger_problems() == []


@pytest.mark.parametrize("start", _refused_from(JS.VERIFIED))
def test_a_paid_verify_from_the_wrong_state_is_not_charged(api: Client, start: str) -> None:
    paid = paid_job_in(start)
    before = snapshot(paid)
    assert_conflict(_post(api, paid.thread_path + "/verify", HTTP_X_BALANCE_AUTH=paid.buyer_key))
    assert snapshot(paid) == before
    assert ledger_problems() == []


@pytest.mark.parametrize("via", ["thread", "job"])
@pytest.mark.parametrize("start", _refused_from(JS.DISPUTED))
def test_a_dispute_from_the_wrong_state_is_a_json_409_and_free(
    api: Client, via: str, start: str
) -> None:
    paid = paid_job_in(start)
    before = snapshot(paid)
    path = (paid.thread_path if via == "thread" else paid.job_path) + "/dispute"
    reason = {"reason": "This was never what I asked for."}
    response = _post(api, path, reason, HTTP_X_BALANCE_AUTH=paid.buyer_key)
    assert_conflict(response)
    assert snapshot(paid) == before
    assert ledger_problems() == []


@pytest.mark.parametrize("start", sorted(set(JOB_STATUSES) - jobs.NOT_STARTED))
@pytest.mark.parametrize("who", ["buyer", "provider"])
def test_a_decline_once_the_work_started_is_a_json_409(api: Client, start: str, who: str) -> None:
    paid = paid_job_in(start)
    before = snapshot(paid)
    key = paid.buyer_key if who == "buyer" else paid.provider_key
    response = _post(api, paid.thread_path + "/decline", {"reason": "no"}, HTTP_X_API_KEY=key)
    assert_conflict(response)
    assert snapshot(paid) == before
    assert ledger_problems() == []


@pytest.mark.parametrize("start", sorted(jobs.NOT_STARTED))
def test_a_decline_before_the_work_refunds(api: Client, start: str) -> None:
    paid = paid_job_in(start)
    response = _post(api, paid.thread_path + "/decline", HTTP_X_API_KEY=paid.provider_key)
    assert response.status_code == 200, response.content
    job = Job.objects.select_related("escrow", "thread").get(pk=paid.job.pk)
    assert (job.status, job.thread.status, job.escrow.status) == (  # type: ignore[union-attr]
        JS.CANCELLED,
        TS.CANCELLED,
        Escrow.Status.REFUNDED,
    )
    assert balance_of(agent_account(job.buyer)) == PRICE + FEE + 100_000
    assert ledger_problems() == []


# --- thread-only moves through the API --------------------------------------------------
@dataclass
class Talk:
    thread: Thread
    buyer_key: str
    provider_key: str

    @property
    def path(self) -> str:
        return f"/v1/threads/{self.thread.public_id}"


def talk_in(status: str) -> Talk:
    """A thread about a quoted service, with an open proposal, forced to `status`."""
    service = ServiceFactory(
        service_type=ServiceType.AUTOMATED_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=PRICE,
        price_max_micros=10 * PRICE,
    )
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, 10 * PRICE)
    thread = threads.thread_open(service=service, buyer=buyer, brief=None, message="hi")
    threads.proposal_make(thread=thread, provider=service.provider, price_micros=PRICE)
    Thread.objects.filter(pk=thread.pk).update(status=status)
    return Talk(
        Thread.objects.get(pk=thread.pk),
        api_key_issue(participant=buyer),
        api_key_issue(participant=service.provider),
    )


@pytest.mark.parametrize("start", sorted(set(THREAD_STATUSES) - threads.OPEN))
def test_no_proposal_outside_an_open_thread(api: Client, start: str) -> None:
    talk = talk_in(start)
    proposals = Proposal.objects.filter(thread=talk.thread).count()
    response = _post(api, talk.path + "/propose", {"price": "3"}, HTTP_X_API_KEY=talk.provider_key)
    assert_conflict(response, "invalid_thread_transition")
    assert Proposal.objects.filter(thread=talk.thread).count() == proposals
    talk.thread.refresh_from_db()
    assert talk.thread.status == start


@pytest.mark.parametrize("start", sorted(set(THREAD_STATUSES) - {TS.NEGOTIATING, TS.EXPIRED}))
def test_no_accept_outside_negotiating(api: Client, start: str) -> None:
    talk = talk_in(start)
    buyer = talk.thread.buyer
    balance = balance_of(agent_account(buyer))
    response = _post(api, talk.path + "/accept", HTTP_X_BALANCE_AUTH=talk.buyer_key)
    assert_conflict(response, "invalid_thread_transition")
    assert balance_of(agent_account(buyer)) == balance
    assert not Job.objects.exists()


def test_an_expired_thread_answers_accept_with_410(api: Client) -> None:
    talk = talk_in(TS.EXPIRED)
    response = _post(api, talk.path + "/accept", HTTP_X_BALANCE_AUTH=talk.buyer_key)
    assert response.status_code == 410
    assert response.json()["code"] == "thread_expired"
    assert not Job.objects.exists()


@pytest.mark.parametrize("start", sorted(threads.CLOSED))
@pytest.mark.parametrize("kind", ["text", "credential"])
def test_no_message_on_a_closed_thread(api: Client, start: str, kind: str) -> None:
    talk = talk_in(start)
    messages = ThreadMessage.objects.filter(thread=talk.thread).count()
    response = _post(
        api,
        talk.path + "/messages",
        {"type": kind, "message": "still there?"},
        HTTP_X_API_KEY=talk.buyer_key,
    )
    assert_conflict(response, "invalid_thread_transition")
    assert ThreadMessage.objects.filter(thread=talk.thread).count() == messages


@pytest.mark.parametrize("start", sorted(threads.CLOSED))
def test_a_closed_thread_without_a_job_cannot_be_declined(api: Client, start: str) -> None:
    talk = talk_in(start)
    audit = ThreadTransition.objects.filter(thread=talk.thread).count()
    response = _post(api, talk.path + "/decline", HTTP_X_API_KEY=talk.buyer_key)
    assert_conflict(response, "invalid_thread_transition")
    assert ThreadTransition.objects.filter(thread=talk.thread).count() == audit
