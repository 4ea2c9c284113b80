"""Reads of the deals: one thread or job by id, the caller's lists, what a thread shows.

Views call these (never `Q`, `Count` or `Prefetch` themselves); each read loads what its
answer walks (`select_related`, `prefetch_related`), so a list costs a fixed number of
queries whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from marketplace.deals.models import Job, Proposal, Thread, ThreadMessage, ThreadTransition
from payments.models import Participant
from the402.lib.errors import Conflict, NotFound
from the402.lib.ids import is_public_id

# The proposals a thread shows: the open one, else the accepted one.
LIVE_PROPOSALS = (Proposal.Status.OPEN, Proposal.Status.ACCEPTED)


# --- threads ----------------------------------------------------------------------------
def _threads() -> QuerySet[Thread]:
    return Thread.objects.select_related("service", "buyer", "provider")


def thread_get(thread_id: str) -> Thread:
    """A thread by public id, with its service and parties; 404 `thread_not_found`."""
    found = (
        _threads().filter(public_id=thread_id).first() if is_public_id(thread_id, "thr") else None
    )
    if found is None:
        raise NotFound(f"Thread {thread_id} not found", code="thread_not_found")
    return found


def thread_by_quote(quote_id: str) -> Thread:
    """The thread of a legacy quote; 404 `quote_not_found`."""
    found = _threads().filter(quote_id=quote_id).first() if is_public_id(quote_id, "qt") else None
    if found is None:
        raise NotFound(f"Quote {quote_id} not found", code="quote_not_found")
    return found


def threads_of(participant: Participant, *, status: str | None = None) -> QuerySet[Thread]:
    """A participant's threads, as buyer or provider, newest activity first, each with its
    job, its message count and its live proposals (`live_proposals`)."""
    found = (
        _threads()
        .filter(Q(buyer=participant) | Q(provider=participant))
        .select_related("job")
        .annotate(message_count=Count("messages"))
        .prefetch_related(
            Prefetch(
                "proposals",
                queryset=Proposal.objects.filter(status__in=LIVE_PROPOSALS),
                to_attr="live_proposals",
            )
        )
    )
    return found.filter(status=status) if status is not None else found


def open_proposal(thread: Thread) -> Proposal | None:
    """The thread's open proposal, if any (at most one: `proposal_one_open`)."""
    return Proposal.objects.filter(thread=thread, status=Proposal.Status.OPEN).first()


def quote_proposal(thread: Thread) -> Proposal | None:
    """The proposal a legacy quote shows: the open one, else the accepted one."""
    return open_proposal(thread) or thread.proposals.filter(status="accepted").first()


def live_proposal(thread: Thread) -> Proposal | None:
    """The open proposal, else the accepted one (prefetched as `live_proposals` in lists)."""
    live = getattr(thread, "live_proposals", None)
    if live is None:
        live = list(thread.proposals.filter(status__in=LIVE_PROPOSALS))
    by_status = {p.status: p for p in live}
    return by_status.get(Proposal.Status.OPEN) or by_status.get(Proposal.Status.ACCEPTED)


@dataclass(frozen=True)
class ThreadHistory:
    """Everything a thread's detail shows besides its summary, in order."""

    messages: list[ThreadMessage]
    proposals: list[Proposal]
    transitions: list[ThreadTransition]


def thread_history(thread: Thread) -> ThreadHistory:
    return ThreadHistory(
        messages=list(thread.messages.select_related("proposal").order_by("created_at", "id")),
        proposals=list(thread.proposals.order_by("created_at", "id")),
        transitions=list(thread.transitions.order_by("created_at", "id")),
    )


def message_of(thread: Thread, message_id: str) -> ThreadMessage:
    """One message of the thread; 404 `message_not_found`."""
    message = ThreadMessage.objects.filter(thread=thread, public_id=message_id).first()
    if message is None:
        raise NotFound(f"Message {message_id} not found", code="message_not_found")
    return message


# --- jobs -------------------------------------------------------------------------------
def _jobs() -> QuerySet[Job]:
    return Job.objects.select_related("service", "buyer", "provider", "escrow", "thread")


def job_get(job_id: str) -> Job:
    """A job by public id, with what its answer shows; 404 `job_not_found`."""
    job = _jobs().filter(public_id=job_id).first() if is_public_id(job_id, "job") else None
    if job is None:
        raise NotFound(f"Job {job_id} not found", code="job_not_found")
    return job


def job_of_thread(thread: Thread) -> Job:
    """The paid job of a thread; 409 `no_job` before the thread is paid."""
    job = _jobs().filter(thread=thread).first()
    if job is None:
        raise Conflict(
            f"thread {thread.public_id} is {thread.status}: it has no job yet", code="no_job"
        )
    return job


def jobs_of(participant: Participant, *, status: str | None = None) -> QuerySet[Job]:
    """A participant's jobs, as buyer or provider, newest first."""
    found = _jobs().filter(Q(buyer=participant) | Q(provider=participant))
    return found.filter(status=status) if status is not None else found


def service_ids_of_jobs(job_ids: Iterable[str]) -> dict[str, str]:
    """{job public id: its service's public id}, for the jobs that exist (answers
    `payments.hooks.services_of_jobs`)."""
    return dict(
        Job.objects.filter(public_id__in=list(job_ids)).values_list(
            "public_id", "service__public_id"
        )
    )
