"""Jobs: one purchase of a service, from dispatch to the escrow's release or refund.

Every status change goes through `job_move`: one table of allowed moves (`TRANSITIONS`),
taken under a row lock with a compare-and-swap and an audit row (`JobTransition`), as
`payments.escrow` does for escrows. Money moves with the job: `released` releases the
escrow to the provider, `refunded` gives it back to the buyer, `disputed` keeps it held.

Auto-verify: instant and automated services are verified as soon as the provider completes
them; human services wait for the buyer's verify, or `auto_verify_due` 48 hours later.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from marketplace.catalog.models import FulfillmentType, Service, ServiceType
from marketplace.catalog.schemas import schema_error
from marketplace.deals import events, reputation_feed
from marketplace.deals.models import Job, JobTransition, Thread, ThreadMessage
from marketplace.deals.threads import (
    forbidden,
    message_note,
    thread_follow_job,
    thread_for_purchase,
)
from payments.escrow import escrow_refund, escrow_release, escrow_split
from payments.models import Escrow, Participant
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.states import cas_move

logger = logging.getLogger(__name__)

S = Job.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.DISPATCHED, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.FAILED, S.DISPUTED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED, S.DISPUTED}),
    S.COMPLETED: frozenset({S.VERIFIED, S.DISPUTED}),
    S.VERIFIED: frozenset({S.RELEASED}),
    S.DISPUTED: frozenset({S.RELEASED, S.REFUNDED}),  # admin resolution
    S.FAILED: frozenset({S.REFUNDED}),
}
PROVIDER_STATUSES = (S.IN_PROGRESS, S.COMPLETED, S.FAILED)
DISPUTABLE = frozenset(s for s, targets in TRANSITIONS.items() if S.DISPUTED in targets)
AUTO_VERIFY_AFTER = timedelta(hours=48)
REASON_MIN, REASON_MAX = 10, 2000


class InvalidJobTransition(Conflict):
    code = "invalid_job_transition"


def _locked(job: Job) -> Job:
    """The job, locked; its thread is locked first (the lock order: thread, then job)."""
    list(Thread.objects.select_for_update().filter(job=job.pk).values_list("pk", flat=True))
    return (
        Job.objects.select_for_update(of=("self",))
        .select_related("service", "buyer", "provider", "escrow", "thread")
        .get(pk=job.pk)
    )


def _move(job: Job, to: str, *, actor: Participant | None, note: str) -> Job:
    """Move a job (call while holding select_for_update on it): compare-and-swap plus audit
    row; its thread follows."""
    now = timezone.now()
    stamps: dict[str, dict[str, datetime]] = {
        S.COMPLETED: {"completed_at": now},
        S.VERIFIED: {"verified_at": now},
    }
    previous = cas_move(
        job, to, transitions=TRANSITIONS, error=InvalidJobTransition, fields=stamps.get(to)
    )
    JobTransition.objects.create(
        job=job, from_status=previous, to_status=to, actor=actor, note=note[:300]
    )
    thread_follow_job(job, actor=actor)
    return job


@transaction.atomic
def job_move(job: Job, to: str, *, actor: Participant | None = None, note: str = "") -> Job:
    """Move `job` to `to` if the table allows it (else InvalidJobTransition, 409). Moves no
    money: the workflows below do that."""
    locked = _locked(job)
    _move(locked, to, actor=actor, note=note)
    job.status = locked.status
    return locked


@transaction.atomic
def job_create(
    *,
    service: Service,
    buyer: Participant,
    brief: Any,
    escrow: Escrow | None,
    thread: Thread | None = None,
    public_id: str | None = None,
) -> Job:
    job = Job(
        service=service,
        buyer=buyer,
        provider=service.provider,
        escrow=escrow,
        thread=thread,
        brief=brief if brief is not None else {},
    )
    if public_id is not None:
        job.public_id = public_id
    job.full_clean()
    job.save()
    JobTransition.objects.create(job=job, from_status="", to_status=S.CREATED, actor=buyer)
    return job


@transaction.atomic
def job_dispatch(job: Job) -> Job:
    """created -> dispatched, and the `job_dispatch` webhook to the provider."""
    locked = _locked(job)
    _move(locked, S.DISPATCHED, actor=None, note="dispatched to the provider")
    events.job_dispatched(locked)
    return locked


def _release(
    job: Job,
    *,
    actor: Participant | None,
    note: str,
    rating: int | None = None,
    feedback: str = "",
) -> Job:
    """completed -> verified -> released, releasing the escrow (call holding the job lock);
    the buyer's optional rating and feedback go to reputation."""
    _move(job, S.VERIFIED, actor=actor, note=note)
    _move(job, S.RELEASED, actor=actor, note="escrow released")
    if job.escrow is not None:
        escrow_release(job.escrow, reason=f"job {job.public_id} verified")
    reputation_feed.job_ended(job, outcome="released", rating=rating, feedback=feedback)
    events.job_verified(job)
    return job


def _check_deliverables(service: Service, deliverables: Any) -> None:
    if not isinstance(deliverables, dict):
        raise ApplicationError(
            "completed requires deliverables (a JSON object)", code="invalid_deliverables"
        )
    problem = schema_error(service.deliverable_schema, deliverables)
    if problem is not None:
        raise ApplicationError(
            f"deliverables do not match the deliverable_schema: {problem}",
            code="invalid_deliverables",
        )


@transaction.atomic
def job_update(
    *,
    job: Job,
    provider: Participant,
    status: str,
    deliverables: Any = None,
    notes: str = "",
) -> Job:
    """The provider reports progress: in_progress, completed (with deliverables valid
    against the service's deliverable_schema; instant and automated services are then
    verified and released at once) or failed (the escrow goes back to the buyer)."""
    if job.provider_id != provider.pk:
        raise forbidden("Only the job's provider can update it")
    if status not in PROVIDER_STATUSES:
        raise ApplicationError(
            f"status must be one of {', '.join(PROVIDER_STATUSES)}", code="invalid_status"
        )
    locked = _locked(job)
    if status == S.COMPLETED:
        _check_deliverables(locked.service, deliverables)
    _move(locked, status, actor=provider, note=notes)
    update: dict[str, Any] = {"notes": notes} if notes else {}
    if status == S.COMPLETED:
        update["deliverables"] = deliverables
    if update:
        Job.objects.filter(pk=locked.pk).update(**update)
        for name, value in update.items():
            setattr(locked, name, value)
    if status == S.FAILED:
        _move(locked, S.REFUNDED, actor=provider, note="escrow refunded")
        if locked.escrow is not None:
            escrow_refund(locked.escrow, reason=f"job {locked.public_id} failed")
        reputation_feed.job_ended(locked, outcome="failed")
    elif status == S.COMPLETED and locked.service.fulfillment_type != FulfillmentType.HUMAN:
        _release(locked, actor=None, note="auto-verified: automated fulfilment")
    return locked


@transaction.atomic
def job_verify(
    *, job: Job, buyer: Participant, rating: int | None = None, feedback: str = ""
) -> Job:
    """The buyer accepts the delivery: completed -> verified -> released (exactly once),
    with an optional rating (1 to 5) and feedback for the provider's reputation."""
    if job.buyer_id != buyer.pk:
        raise forbidden("Only the job's buyer can verify it")
    reputation_feed.rating_check(rating, feedback)
    return _release(
        _locked(job), actor=buyer, note="verified by the buyer", rating=rating, feedback=feedback
    )


def check_dispute_reason(reason: Any) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise ApplicationError(
            f"reason must be {REASON_MIN} to {REASON_MAX} characters", code="invalid_reason"
        )
    return text


@transaction.atomic
def job_dispute(*, job: Job, buyer: Participant, reason: str) -> Job:
    """The buyer disputes: -> disputed; the escrow stays held until an admin resolves it."""
    if job.buyer_id != buyer.pk:
        raise forbidden("Only the job's buyer can dispute it")
    return _dispute(_locked(job), actor=buyer, reason=check_dispute_reason(reason))


def _dispute(locked: Job, *, actor: Participant | None, reason: str) -> Job:
    _move(locked, S.DISPUTED, actor=actor, note=reason)
    Job.objects.filter(pk=locked.pk).update(dispute_reason=reason)
    locked.dispute_reason = reason
    if locked.thread is not None:
        message_note(locked.thread, kind=ThreadMessage.Kind.DISPUTE, body=reason, sender=actor)
    events.job_disputed(locked, reason=reason)
    return locked


NOT_STARTED = frozenset({S.CREATED, S.DISPATCHED})
RESOLUTIONS = ("release", "refund", "split")


@transaction.atomic
def job_cancel(*, job: Job, actor: Participant | None, reason: str = "") -> Job:
    """Cancel a job whose work has not started (a decline, or the platform's `actor=None`):
    the escrow goes back to the buyer. Once the provider is working, the way out is a
    dispute. A provider told of the job hears of a cancellation by the platform
    (`job_cancelled`); a decline by the buyer is told by the thread (`thread_declined`)."""
    locked = _locked(job)
    if locked.status not in NOT_STARTED:
        raise InvalidJobTransition(
            f"job {locked.public_id} is {locked.status}: work has started, dispute it instead"
        )
    return _cancel(locked, actor=actor, reason=reason)


def _cancel(locked: Job, *, actor: Participant | None, reason: str) -> Job:
    dispatched = locked.status == S.DISPATCHED
    _move(locked, S.CANCELLED, actor=actor, note=reason or "declined")
    if actor is not None and actor.pk == locked.provider_id:
        reputation_feed.job_ended(locked, outcome="cancelled_by_provider")
    if locked.escrow is not None:
        escrow_refund(locked.escrow, reason=f"job {locked.public_id} cancelled")
    if actor is None and dispatched:
        events.job_cancelled(locked, reason=reason)
    return locked


@transaction.atomic
def job_escrow_expired(job: Job) -> Job:
    """The job's escrow expired while still held: a job not started is cancelled (the money
    goes back to the buyer); one under way, delivered or disputed waits for the people
    involved. Decided under the job's lock: the provider may be reporting at the same
    moment."""
    locked = _locked(job)
    if locked.status in NOT_STARTED:
        _cancel(locked, actor=None, reason="the escrow expired before the work started")
        reputation_feed.job_ended(locked, outcome="expired")
    return locked


@transaction.atomic
def job_escrow_failed(job: Job) -> Job:
    """The contract refused to fund the job's escrow; its money waits in the contract,
    unallocated. A job not started is cancelled (the money goes back to the buyer); one
    under way is disputed, for an admin to release, refund or split it from there. Any other
    job already made its escrow's move, or waits for an admin. Decided under the job's lock:
    the provider may be reporting at the same moment."""
    locked = _locked(job)
    if locked.status in NOT_STARTED:
        _cancel(locked, actor=None, reason="the payment could not be held in escrow")
    elif locked.status in DISPUTABLE:
        _dispute(
            locked,
            actor=None,
            reason="The payment could not be held in escrow after the work had started; an "
            "admin will settle this job with both parties.",
        )
    return locked


@transaction.atomic
def job_record_instant(
    *,
    service: Service,
    buyer: Participant,
    brief: Any,
    result: Any,
    public_id: str,
    thread_id: str,
) -> Job:
    """A data API call that already answered: the job is created, completed with the
    provider's result as its deliverables, and verified at once (its thread too). The money
    was taken by the payment gate (provider share and fee), so there is no escrow."""
    thread = thread_for_purchase(service=service, buyer=buyer, brief=brief, public_id=thread_id)
    job = job_create(
        service=service, buyer=buyer, brief=brief, escrow=None, thread=thread, public_id=public_id
    )
    locked = _locked(job)
    _move(locked, S.DISPATCHED, actor=None, note="called the provider")
    _move(locked, S.COMPLETED, actor=None, note="the provider answered")
    Job.objects.filter(pk=locked.pk).update(deliverables=result)
    locked.deliverables = result
    _move(locked, S.VERIFIED, actor=None, note="auto-verified: instant fulfilment")
    _move(locked, S.RELEASED, actor=None, note="paid to the provider")
    return locked


@transaction.atomic
def job_resolve_dispute(
    *, job: Job, resolution: str, note: str, payee_amount: int | None = None
) -> Job:
    """An admin settles a disputed job: `release` pays the provider, `refund` pays the buyer
    back, `split` gives the provider `payee_amount` and the buyer the rest. The note is
    posted to the thread and sent to the provider (`dispute_resolved`)."""
    if resolution not in RESOLUTIONS:
        raise ApplicationError(
            f"resolution must be one of {', '.join(RESOLUTIONS)}", code="invalid_resolution"
        )
    note = note.strip()
    if not note:
        raise ApplicationError("a resolution needs a note", code="invalid_note")
    locked = _locked(job)
    if locked.status != S.DISPUTED:
        raise InvalidJobTransition(f"job {locked.public_id} is {locked.status}, not disputed")
    escrow = locked.escrow
    if resolution == "split" and (escrow is None or payee_amount is None):
        raise ApplicationError("a split needs an escrow and payee_amount", code="invalid_split")
    to = S.REFUNDED if resolution == "refund" else S.RELEASED
    _move(locked, to, actor=None, note=f"dispute resolved ({resolution}): {note}")
    if escrow is not None:
        if resolution == "release":
            escrow_release(escrow, reason=f"dispute on job {locked.public_id} resolved")
        elif resolution == "refund":
            escrow_refund(escrow, reason=f"dispute on job {locked.public_id} resolved")
        else:
            escrow_split(
                escrow,
                payee_amount=payee_amount or 0,
                reason=f"dispute on job {locked.public_id} split",
            )
    Job.objects.filter(pk=locked.pk).update(resolution=resolution, resolution_note=note)
    locked.resolution, locked.resolution_note = resolution, note
    reputation_feed.job_ended(locked, outcome=f"dispute_{resolution}")  # type: ignore[arg-type]
    summary = f"Dispute resolved: {resolution}. {note}"
    if locked.thread is not None:
        message_note(locked.thread, kind=ThreadMessage.Kind.RESOLUTION, body=summary)
    events.dispute_resolved(locked, resolution=resolution, note=note, payee_amount=payee_amount)
    return locked


def auto_verify_due(now: datetime | None = None) -> int:
    """Verify and release human-service jobs completed more than 48 hours ago; returns how
    many. Each job in its own transaction; one moved meanwhile (verified, disputed) is
    skipped."""
    cutoff = (now or timezone.now()) - AUTO_VERIFY_AFTER
    due = Job.objects.filter(
        status=S.COMPLETED,
        completed_at__lte=cutoff,
        service__service_type=ServiceType.HUMAN_SERVICE,
    ).values_list("pk", flat=True)
    released = 0
    for pk in list(due):
        try:
            with transaction.atomic():
                _release(
                    _locked(Job(pk=pk)), actor=None, note="auto-verified 48 hours after completion"
                )
            released += 1
        except InvalidJobTransition:
            logger.info("job %s moved before auto-verify", pk)
    return released
