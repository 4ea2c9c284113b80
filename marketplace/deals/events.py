"""What the provider is told about its deals: every webhook body about a thread or a job is
built here, and nowhere else.

Each function stores its event in the caller's transaction (`notify.outbox.
webhook_enqueue`), so the event exists exactly when the change it reports does. A job's
events carry the job's, service's and thread's ids, then their own details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marketplace.catalog.models import Service
from marketplace.deals.models import Job, Proposal, Thread, ThreadMessage
from marketplace.notify.outbox import webhook_enqueue
from payments.models import Participant
from the402.lib import money
from the402.lib.urls import public_base_url


def job_callback_url(job_id: str) -> str:
    """Where the provider reports on the job (`POST /v1/jobs/:id/update`)."""
    return f"{public_base_url(None)}/v1/jobs/{job_id}/update"


def dispatch_payload(
    *,
    job_id: str,
    service: Service,
    thread_id: str | None,
    brief: Any,
    callback_url: str | None,
    deadline: datetime | None,
) -> dict[str, Any]:
    """The body of a `job_dispatch` event: the work to do. A data API call sends it too
    (`notify.data_api.data_api_call`), without a callback: its answer is the delivery."""
    return {
        "job_id": job_id,
        "service_id": service.public_id,
        "thread_id": thread_id,
        "service_name": service.name,
        "brief": brief,
        "callback_url": callback_url,
        "deadline": deadline,
    }


def _job_event(job: Job, event_type: str, **details: Any) -> None:
    webhook_enqueue(
        participant=job.provider,
        event_type=event_type,
        service=job.service,
        payload={
            "job_id": job.public_id,
            "service_id": job.service.public_id,
            "thread_id": job.thread.public_id if job.thread else None,
            **details,
        },
    )


def job_dispatched(job: Job) -> None:
    """`job_dispatch`: a paid job for the provider to start."""
    payload = dispatch_payload(
        job_id=job.public_id,
        service=job.service,
        thread_id=job.thread.public_id if job.thread else None,
        brief=job.brief,
        callback_url=job_callback_url(job.public_id),
        deadline=job.deadline,
    )
    webhook_enqueue(
        participant=job.provider, event_type="job_dispatch", service=job.service, payload=payload
    )


def job_verified(job: Job) -> None:
    """`job_verified`: the buyer (or the platform) accepted the delivery; paid out."""
    _job_event(job, "job_verified")


def job_disputed(job: Job, *, reason: str) -> None:
    """`job_disputed`: the escrow stays held until an admin resolves it."""
    _job_event(job, "job_disputed", reason=reason)


def job_cancelled(job: Job, *, reason: str) -> None:
    """`job_cancelled`: the platform cancelled a dispatched job (an escrow that expired or
    could not be funded)."""
    _job_event(job, "job_cancelled", reason=reason)


def dispute_resolved(job: Job, *, resolution: str, note: str, payee_amount: int | None) -> None:
    """`dispute_resolved`: how an admin settled the dispute, and why."""
    _job_event(
        job,
        "dispute_resolved",
        resolution=resolution,
        payee_amount_usd=money.usd_decimal(payee_amount or 0) if resolution == "split" else None,
        note=note,
    )


def thread_inquiry(thread: Thread, *, buyer: Participant, message: str) -> None:
    """`thread_inquiry`: a buyer opened a thread (or requested a legacy quote)."""
    service = thread.service
    webhook_enqueue(
        participant=service.provider,
        event_type="thread_inquiry",
        service=service,
        payload={
            "thread_id": thread.public_id,
            "quote_id": thread.quote_id,
            "service_id": service.public_id,
            "service_name": service.name,
            "buyer_id": buyer.public_id,
            "brief": thread.brief,
            "message": message,
            "expires_at": thread.expires_at,
        },
    )


def new_message(thread: Thread, message: ThreadMessage) -> None:
    """`new_message`: the buyer wrote in the thread."""
    webhook_enqueue(
        participant=thread.provider,
        event_type="new_message",
        service=thread.service,
        payload={
            "thread_id": thread.public_id,
            "service_id": thread.service.public_id,
            "message_id": message.public_id,
            "kind": message.kind,
            # A credential's text never leaves in a webhook: the provider reads it in the
            # thread, over an authenticated request.
            "message": message.body if message.kind == ThreadMessage.Kind.TEXT else "",
            "attachment": message.attachment_name or None,
        },
    )


def proposal_accepted(thread: Thread, proposal: Proposal, job: Job) -> None:
    """`proposal_accepted`: the buyer paid the proposal; the job follows (`job_dispatch`)."""
    webhook_enqueue(
        participant=thread.provider,
        event_type="proposal_accepted",
        service=thread.service,
        payload={
            "thread_id": thread.public_id,
            "proposal_id": proposal.public_id,
            "job_id": job.public_id,
            "service_id": thread.service.public_id,
            "price_usd": money.usd_decimal(proposal.price_micros),
        },
    )


def thread_declined(thread: Thread, *, job: Job | None, reason: str) -> None:
    """`thread_declined`: the buyer ended the thread (and cancelled its job, if any)."""
    webhook_enqueue(
        participant=thread.provider,
        event_type="thread_declined",
        service=thread.service,
        payload={
            "thread_id": thread.public_id,
            "service_id": thread.service.public_id,
            "job_id": job.public_id if job is not None else None,
            "reason": reason,
        },
    )
