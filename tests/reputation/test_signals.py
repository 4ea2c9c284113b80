"""Signals recorded as jobs and threads end (through the marketplace's real flows), the
incremental update at once, and the full recompute agreeing with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketplace.deals.jobs import (
    job_cancel,
    job_dispute,
    job_resolve_dispute,
    job_update,
    job_verify,
)
from marketplace.deals.threads import message_post, thread_open
from marketplace.models import Job, ServiceType
from payments.models import Participant
from reputation import scoring
from reputation.models import ReputationScore, Signal
from reputation.services import recompute_all, recompute_providers, record_job_end
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory

pytestmark = pytest.mark.django_db
S = Job.Status
DIMS = ("composite", "quality", "speed", "reliability", "communication", "confidence")


def score(participant: Participant, scope: str = "provider", key: str = "") -> ReputationScore:
    return ReputationScore.objects.get(participant=participant, scope=scope, scope_key=key)


def delivered(service_type: str = ServiceType.HUMAN_SERVICE, **service: Any) -> Job:
    job = JobFactory(service=ServiceFactory(service_type=service_type, **service))
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"ok": True})
    return job


def test_a_verified_job_counts_at_once_at_all_three_levels() -> None:
    job = delivered(estimated_delivery="2 days")
    job_verify(job=job, buyer=job.buyer)
    signal = Signal.objects.get(reference=job.public_id)
    assert (signal.kind, signal.quality, signal.speed, signal.reliability) == (
        "job_released",
        1.0,
        1.0,
        1.0,
    )
    service = job.service
    for scope, key in (
        ("provider", ""),
        ("service_type", "human_service"),
        ("service", service.public_id),
    ):
        row = score(job.provider, scope, key)
        assert (row.total_jobs, row.completed_jobs) == (1, 1)
        assert row.quality > 75 and row.confidence > 0


def test_a_failed_job_lowers_reliability_and_counts_as_not_completed() -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE))
    job_update(job=job, provider=job.provider, status=S.FAILED)
    row = score(job.provider)
    assert row.reliability < 75
    assert (row.total_jobs, row.completed_jobs, row.completion_rate) == (1, 0, 0.0)


def test_a_buyer_declining_before_work_says_nothing_about_the_provider() -> None:
    job = JobFactory()
    job_cancel(job=job, actor=job.buyer, reason="changed my mind")
    assert not Signal.objects.exists()


def test_a_provider_declining_lowers_its_reliability() -> None:
    job = JobFactory()
    job_cancel(job=job, actor=job.provider, reason="too busy")
    assert Signal.objects.get().kind == "job_cancelled"
    assert score(job.provider).reliability < 75


@pytest.mark.parametrize(
    ("resolution", "payee", "quality"),
    [("release", None, 1.0), ("refund", None, 0.0), ("split", 250_000, 0.25)],
)
def test_a_resolved_dispute_scores_quality_by_its_outcome(
    resolution: str, payee: int | None, quality: float
) -> None:
    job = delivered()
    job_dispute(job=job, buyer=job.buyer, reason="the report is incomplete")
    job_resolve_dispute(job=job, resolution=resolution, note="decided", payee_amount=payee)
    signal = Signal.objects.get(reference=job.public_id)
    assert (signal.kind, signal.quality) == (f"dispute_{resolution}", quality)


def test_a_late_delivery_scores_speed_by_the_estimate() -> None:
    job = delivered(estimated_delivery="1 hour")
    Job.objects.filter(pk=job.pk).update(completed_at=job.created_at + timedelta(hours=4))
    job.refresh_from_db()
    job_verify(job=job, buyer=job.buyer)
    assert Signal.objects.get(reference=job.public_id).speed == 0.25


def test_the_providers_first_answer_counts_once_for_communication() -> None:
    service = ServiceFactory(service_type=ServiceType.HUMAN_SERVICE)
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    thread = thread_open(service=service, buyer=buyer, brief=None, message="Can you do this?")
    message_post(thread=thread, sender=service.provider, text="Yes.")
    message_post(thread=thread, sender=service.provider, text="Starting tomorrow.")
    signal = Signal.objects.get()
    assert (signal.kind, signal.communication) == ("first_answer", 1.0)
    assert score(service.provider).communication > 75


def test_recording_the_same_job_end_twice_counts_it_once() -> None:
    job = delivered()
    job_verify(job=job, buyer=job.buyer)
    again = record_job_end(
        provider_id=job.provider_id,
        buyer_id=job.buyer_id,
        service_public_id=job.service.public_id,
        service_type=job.service.service_type,
        job_public_id=job.public_id,
        outcome="released",
    )
    assert again is None
    assert score(job.provider).total_jobs == 1


def _record(provider: Participant, buyer: Participant, n: int, **kwargs: Any) -> None:
    record_job_end(
        provider_id=provider.pk,
        buyer_id=buyer.pk,
        service_public_id=kwargs.pop("service", "svc_0000000000000001"),
        service_type=kwargs.pop("service_type", "data_api"),
        job_public_id=f"job_{n:016x}",
        **kwargs,
    )


def test_the_full_recompute_agrees_with_the_incremental_updates() -> None:
    provider, buyer = ParticipantFactory(), ParticipantFactory(type=Participant.Type.AGENT)
    now = timezone.now()
    history = [
        ("released", 40, "data_api", 5),
        ("failed", 20, "data_api", None),
        ("released", 3, "human_service", 3),
        ("dispute_refund", 1, "human_service", None),
    ]
    for n, (outcome, days, service_type, rating) in enumerate(history):
        _record(
            provider,
            buyer,
            n,
            outcome=outcome,
            occurred_at=now - timedelta(days=days),
            service_type=service_type,
            service=f"svc_{len(service_type):016x}",  # one service per type
            rating=rating,
        )
    incremental = {
        (r.scope, r.scope_key): [getattr(r, f) for f in DIMS]
        for r in ReputationScore.objects.filter(participant=provider)
    }
    recompute_all()
    full = {
        (r.scope, r.scope_key): [getattr(r, f) for f in DIMS]
        for r in ReputationScore.objects.filter(participant=provider)
    }
    assert full.keys() == incremental.keys()
    for key, values in full.items():
        assert values == pytest.approx(incremental[key], abs=1e-6), key


def test_a_recompute_of_a_provider_without_signals_gives_the_prior() -> None:
    provider = ParticipantFactory()
    ReputationScore.objects.create(participant=provider, composite=12.0, total_jobs=3)
    recompute_providers([provider.pk])
    row = score(provider)
    assert (row.composite, row.confidence, row.total_jobs, row.is_new) == (
        scoring.DEFAULT_SCORE,
        0.0,
        0,
        True,
    )


def test_the_command_recomputes_every_provider(capsys: Any) -> None:
    provider, buyer = ParticipantFactory(), ParticipantFactory(type=Participant.Type.AGENT)
    _record(provider, buyer, 1, outcome="failed")
    ReputationScore.objects.filter(participant=provider).update(reliability=75.0)
    call_command("reputation_recompute", "--no-chain")
    assert score(provider).reliability < 75
    assert "recomputed 1 providers" in capsys.readouterr().out


def test_new_providers_stay_new_until_about_four_recent_jobs() -> None:
    provider, buyer = ParticipantFactory(), ParticipantFactory(type=Participant.Type.AGENT)
    for n in range(3):
        _record(provider, buyer, n, outcome="released")
    assert score(provider).is_new
    _record(provider, buyer, 3, outcome="released")
    assert not score(provider).is_new
