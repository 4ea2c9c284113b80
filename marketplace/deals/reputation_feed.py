"""What the marketplace tells `reputation` when a job, data API call or thread ends.

Reputation sits below the marketplace and learns only from its own signal table; these
functions turn a job or thread into the plain values `reputation.services.record_*` takes.
Each is called inside the transaction that ends the job, so the signal commits with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from reputation import services as reputation

if TYPE_CHECKING:
    from marketplace.catalog.models import Service
    from marketplace.deals.models import Job, Thread
    from reputation.services import JobOutcome


def _amount(job: Job) -> int:
    escrow = job.escrow
    if escrow is not None:
        return int(escrow.amount) + int(escrow.fee)
    return int(job.service.price_micros)


def rating_check(rating: object, feedback: object) -> None:
    """A buyer's rating (None, or 1 to 5) and feedback as reputation takes them; 400
    `invalid_rating` otherwise (called before anything moves)."""
    reputation.check_rating(rating, feedback)


def job_ended(
    job: Job, *, outcome: JobOutcome, rating: int | None = None, feedback: str = ""
) -> None:
    """A job reached its end: released, failed, cancelled by its provider, expired before
    the work started, or a dispute resolved (`dispute_release|refund|split`). A buyer's
    verification carries its optional `rating` and `feedback`."""
    delivery = None
    if job.completed_at is not None:
        delivery = (job.completed_at - job.created_at).total_seconds()
    share = None
    escrow = job.escrow
    if outcome == "dispute_split" and escrow is not None and escrow.amount:
        share = (escrow.payee_amount or 0) / escrow.amount
    reputation.record_job_end(
        provider_id=job.provider_id,
        buyer_id=job.buyer_id,
        service_public_id=job.service.public_id,
        service_type=job.service.service_type,
        job_public_id=job.public_id,
        outcome=outcome,
        amount_micros=_amount(job),
        rating=rating,
        feedback=feedback,
        delivery_seconds=delivery,
        estimated_delivery=job.service.estimated_delivery,
        provider_share=share,
    )


def data_api_answered(job: Job, *, latency_ms: float | None = None) -> None:
    """A data API job: the provider answered, the buyer paid."""
    reputation.record_data_api_call(
        provider_id=job.provider_id,
        buyer_id=job.buyer_id,
        service_public_id=job.service.public_id,
        reference=job.public_id,
        outcome="answered",
        latency_ms=latency_ms,
        amount_micros=_amount(job),
    )


def data_api_unanswered(service: Service, *, reference: str, rejected: bool) -> None:
    """A data API call gave no usable answer (the buyer was not charged): nothing, or an
    answer its deliverable_schema rejects (`rejected`)."""
    reputation.record_data_api_call(
        provider_id=service.provider_id,
        buyer_id=None,
        service_public_id=service.public_id,
        reference=reference,
        outcome="rejected" if rejected else "failed",
    )


def provider_answered(thread: Thread) -> None:
    """The provider wrote in a thread (a message or a proposal): its first answer counts
    for communication, once per thread."""
    reputation.record_first_answer(
        provider_id=thread.provider_id,
        buyer_id=thread.buyer_id,
        service_public_id=thread.service.public_id,
        service_type=thread.service.service_type,
        thread_public_id=thread.public_id,
        waited_seconds=(timezone.now() - thread.created_at).total_seconds(),
    )
