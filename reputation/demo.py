"""A believable history for the demo providers (devnet only, `manage.py seed_demo`).

Each demo provider gets a profile (`marketplace/demo/reputation.json`, read by
`marketplace.demo.history`): how many jobs, data API calls and threads it had over how many
days, how they ended, how buyers rated it, how late it delivered, how fast its APIs answer
and how long buyers waited for its first answer. From a profile `seed_history` writes the
`Signal` rows the marketplace would have recorded (the same mapping as `record_*`; buyers
are left out, so no sybil detector reads them) and then recomputes the providers' scores
from them, so the catalog shows varied reputations, tiers and confidences. Deterministic
(a random generator seeded by the provider's key) and idempotent (a provider with demo
signals already is left alone).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from reputation import scoring
from reputation.models import Signal
from reputation.services import (
    DataApiOutcome,
    RecomputeReport,
    clean_values,
    data_api_values,
    job_end_values,
)
from reputation.services import recompute_providers as _recompute

REFERENCE = "demo-{key}-{n}"
OUTCOMES = ("released", "failed", "cancelled_by_provider", "dispute_refund", "dispute_split")


@dataclass(frozen=True)
class DemoService:
    """What the history needs of a listed service (reputation knows services by id)."""

    public_id: str
    service_type: str
    estimated_delivery: str


@dataclass(frozen=True)
class Profile:
    """One provider's history; see `marketplace/demo/reputation.json`."""

    jobs: int = 0  # human and automated jobs that ended
    calls: int = 0  # data API calls
    threads: int = 0  # threads the provider answered
    days: float = 90.0  # spread evenly over the last `days`
    outcomes: Mapping[str, float] | None = None  # weights of OUTCOMES for jobs
    ratings: Sequence[int | None] = (None,)  # drawn per released job
    late_share: float = 0.0  # released jobs delivered after their estimate
    late_factor: float = 2.0  # how late (times the estimate), at most
    latency_ms: float = 300.0  # median data API latency
    call_failure_share: float = 0.0  # data API calls without a usable answer
    answer_minutes: float = 30.0  # median wait for the provider's first answer

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "ratings" in values:
            values["ratings"] = tuple(values["ratings"])
        if "outcomes" in values:
            bad = set(values["outcomes"]) - set(OUTCOMES)
            if bad:
                raise ValueError(f"unknown outcomes: {', '.join(sorted(bad))}")
        return cls(**values)


def _signals(
    key: str,
    provider_id: int,
    services: Sequence[DemoService],
    profile: Profile,
    now: datetime,
) -> list[Signal]:
    rng = random.Random(f"demo-history-{key}")  # noqa: S311 - demo data
    by_type: dict[str, list[DemoService]] = {}
    for service in services:
        by_type.setdefault(service.service_type, []).append(service)
    work = by_type.get("human_service", []) + by_type.get("automated_service", [])
    apis = by_type.get("data_api", [])
    human = by_type.get("human_service", []) or work
    weights = profile.outcomes or {"released": 1.0}
    signals: list[Signal] = []

    def when() -> datetime:
        return now - timedelta(days=rng.random() * profile.days)

    def add(
        service: DemoService, kind: str, values: Mapping[str, float | None], **extra: Any
    ) -> None:
        signals.append(
            clean_values(
                Signal(
                    provider_id=provider_id,
                    service_public_id=service.public_id,
                    service_type=service.service_type,
                    kind=kind,
                    reference=REFERENCE.format(key=key, n=len(signals)),
                    **values,
                    **extra,
                )
            )
        )

    for _ in range(profile.jobs if work else 0):
        service = rng.choice(work)
        outcome = rng.choices(list(weights), weights=list(weights.values()))[0]
        estimate = scoring.estimated_seconds(service.estimated_delivery) or 86_400.0
        late = rng.random() < profile.late_share
        factor = rng.uniform(1.1, profile.late_factor) if late else rng.uniform(0.3, 1.0)
        rating = rng.choice(list(profile.ratings))
        kind, completed, values = job_end_values(
            outcome,  # type: ignore[arg-type]
            rating=rating,
            delivery_seconds=estimate * factor,
            estimated_delivery=service.estimated_delivery,
            provider_share=rng.uniform(0.3, 0.7),
        )
        add(
            service,
            kind,
            values,
            is_job=True,
            completed=completed,
            rating=rating if outcome == "released" else None,
            occurred_at=when(),
        )
    for _ in range(profile.calls if apis else 0):
        service = rng.choice(apis)
        failed = rng.random() < profile.call_failure_share
        latency = profile.latency_ms * rng.lognormvariate(0.0, 0.5)
        call: DataApiOutcome = "failed" if failed else "answered"
        kind, values = data_api_values(call, latency_ms=latency)
        add(service, kind, values, is_job=not failed, completed=not failed, occurred_at=when())
    for _ in range(profile.threads if human else 0):
        service = rng.choice(human)
        waited = 60 * profile.answer_minutes * rng.lognormvariate(0.0, 0.7)
        value = scoring.ratio(scoring.FIRST_ANSWER_NORM_SECONDS, waited)
        add(service, Signal.Kind.FIRST_ANSWER, {"communication": value}, occurred_at=when())
    return signals


@transaction.atomic
def seed_history(
    providers: Mapping[str, int],
    services: Mapping[str, Sequence[DemoService]],
    profiles: Mapping[str, Profile],
    *,
    now: datetime | None = None,
) -> RecomputeReport:
    """Write each profiled provider's demo signals (unless it has some already), then
    recompute their scores. `providers` maps a demo key to the participant's id,
    `services` a key to its listed services."""
    now = now or timezone.now()
    created: list[Signal] = []
    seeded: list[int] = []
    for key, profile in profiles.items():
        provider_id = providers.get(key)
        if provider_id is None:
            continue
        prefix = REFERENCE.format(key=key, n="")
        if Signal.objects.filter(provider_id=provider_id, reference__startswith=prefix).exists():
            continue
        created += _signals(key, provider_id, services.get(key, ()), profile, now)
        seeded.append(provider_id)
    Signal.objects.bulk_create(created, batch_size=500)
    return _recompute(seeded, now=now)
