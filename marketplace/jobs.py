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
from jsonschema import Draft202012Validator

from marketplace.models import FulfillmentType, Job, JobTransition, Service, ServiceType
from marketplace.webhooks import webhook_enqueue
from payments.escrow import escrow_refund, escrow_release
from payments.models import Escrow, Participant
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.urls import public_base_url

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


def forbidden(message: str) -> ApplicationError:
    return ApplicationError(message, code="forbidden", status=403)


def _locked(job: Job) -> Job:
    return (
        Job.objects.select_for_update(of=("self",))
        .select_related("service", "buyer", "provider", "escrow")
        .get(pk=job.pk)
    )


def _move(job: Job, to: str, *, actor: Participant | None, note: str) -> Job:
    """Move a job (call while holding select_for_update on it): compare-and-swap plus audit
    row. Also sets `job.status` on the instance."""
    if to not in TRANSITIONS.get(job.status, frozenset()):
        raise InvalidJobTransition(f"job {job.public_id} is {job.status}, cannot become {to}")
    now = timezone.now()
    fields: dict[str, Any] = {"status": to, "updated_at": now}
    if to == S.COMPLETED:
        fields["completed_at"] = now
    elif to == S.VERIFIED:
        fields["verified_at"] = now
    moved = Job.objects.filter(pk=job.pk, status=job.status).update(**fields)
    if moved != 1:
        raise InvalidJobTransition(f"job {job.public_id} was moved by another request")
    JobTransition.objects.create(
        job=job, from_status=job.status, to_status=to, actor=actor, note=note[:300]
    )
    for name, value in fields.items():
        setattr(job, name, value)
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
def job_create(*, service: Service, buyer: Participant, brief: Any, escrow: Escrow | None) -> Job:
    job = Job(
        service=service,
        buyer=buyer,
        provider=service.provider,
        escrow=escrow,
        brief=brief if brief is not None else {},
    )
    job.full_clean()
    job.save()
    JobTransition.objects.create(job=job, from_status="", to_status=S.CREATED, actor=buyer)
    return job


def job_callback_url(job: Job) -> str:
    return f"{public_base_url(None)}/v1/jobs/{job.public_id}/update"


@transaction.atomic
def job_dispatch(job: Job) -> Job:
    """created -> dispatched, and the `job_dispatch` webhook to the provider."""
    locked = _locked(job)
    _move(locked, S.DISPATCHED, actor=None, note="dispatched to the provider")
    webhook_enqueue(
        participant=locked.provider,
        event_type="job_dispatch",
        service=locked.service,
        payload={
            "job_id": locked.public_id,
            "service_id": locked.service.public_id,
            "service_name": locked.service.name,
            "brief": locked.brief,
            "callback_url": job_callback_url(locked),
            "deadline": locked.deadline,
        },
    )
    return locked


def _release(job: Job, *, actor: Participant | None, note: str) -> Job:
    """completed -> verified -> released, releasing the escrow (call holding the job lock)."""
    _move(job, S.VERIFIED, actor=actor, note=note)
    _move(job, S.RELEASED, actor=actor, note="escrow released")
    if job.escrow is not None:
        escrow_release(job.escrow, reason=f"job {job.public_id} verified")
    webhook_enqueue(
        participant=job.provider,
        event_type="job_verified",
        service=job.service,
        payload={"job_id": job.public_id, "service_id": job.service.public_id},
    )
    return job


def _check_deliverables(service: Service, deliverables: Any) -> None:
    if not isinstance(deliverables, dict):
        raise ApplicationError(
            "completed requires deliverables (a JSON object)", code="invalid_deliverables"
        )
    if not service.deliverable_schema:
        return
    error = next(
        iter(Draft202012Validator(service.deliverable_schema).iter_errors(deliverables)), None
    )
    if error is not None:
        path = "/".join(str(p) for p in error.path)
        where = f" at {path}" if path else ""
        raise ApplicationError(
            f"deliverables do not match the deliverable_schema{where}: {error.message}",
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
    elif status == S.COMPLETED and locked.service.fulfillment_type != FulfillmentType.HUMAN:
        _release(locked, actor=None, note="auto-verified: automated fulfilment")
    return locked


@transaction.atomic
def job_verify(*, job: Job, buyer: Participant) -> Job:
    """The buyer accepts the delivery: completed -> verified -> released (exactly once)."""
    if job.buyer_id != buyer.pk:
        raise forbidden("Only the job's buyer can verify it")
    return _release(_locked(job), actor=buyer, note="verified by the buyer")


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
    text = check_dispute_reason(reason)
    locked = _locked(job)
    _move(locked, S.DISPUTED, actor=buyer, note=text)
    Job.objects.filter(pk=locked.pk).update(dispute_reason=text)
    locked.dispute_reason = text
    webhook_enqueue(
        participant=locked.provider,
        event_type="job_disputed",
        service=locked.service,
        payload={
            "job_id": locked.public_id,
            "service_id": locked.service.public_id,
            "reason": text,
        },
    )
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
