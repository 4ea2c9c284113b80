"""Reads of stored reputation, shaped the way the API shows it."""

from __future__ import annotations

from typing import TypedDict

from reputation.models import ReputationScore


class Dimensions(TypedDict):
    quality: float
    speed: float
    reliability: float
    communication: float


class ReputationView(TypedDict):
    composite: float
    tier: str
    dimensions: Dimensions
    confidence: float
    is_new: bool
    total_jobs: int
    completed_jobs: int
    completion_rate: float | None


def default_score(participant_id: int, scope: str, scope_key: str = "") -> ReputationScore:
    """An unsaved score holding the defaults, for a participant or scope without history."""
    return ReputationScore(participant_id=participant_id, scope=scope, scope_key=scope_key)


def reputation_view(score: ReputationScore) -> ReputationView:
    return {
        "composite": round(score.composite, 1),
        "tier": score.tier,
        "dimensions": {
            "quality": round(score.quality, 1),
            "speed": round(score.speed, 1),
            "reliability": round(score.reliability, 1),
            "communication": round(score.communication, 1),
        },
        "confidence": round(score.confidence, 2),
        "is_new": score.is_new,
        "total_jobs": score.total_jobs,
        "completed_jobs": score.completed_jobs,
        "completion_rate": score.completion_rate,
    }


def provider_scores(participant_ids: list[int]) -> dict[int, ReputationScore]:
    """Provider-level scores of these participants (defaults for any without a stored row)."""
    stored = {
        score.participant_id: score
        for score in ReputationScore.objects.filter(
            participant_id__in=set(participant_ids),
            scope=ReputationScore.Scope.PROVIDER,
            scope_key="",
        )
    }
    return {
        pid: stored.get(pid) or default_score(pid, ReputationScore.Scope.PROVIDER)
        for pid in participant_ids
    }


def reputation_levels(
    *, participant_id: int, service_type: str, service_public_id: str
) -> dict[str, ReputationScore]:
    """The three levels the service detail shows: service, service type and provider."""
    wanted = {
        ReputationScore.Scope.SERVICE: service_public_id,
        ReputationScore.Scope.SERVICE_TYPE: service_type,
        ReputationScore.Scope.PROVIDER: "",
    }
    stored = {
        (row.scope, row.scope_key): row
        for row in ReputationScore.objects.filter(
            participant_id=participant_id,
            scope__in=list(wanted),
            scope_key__in=list(wanted.values()),
        )
    }
    return {
        str(scope): stored.get((scope, key)) or default_score(participant_id, scope, key)
        for scope, key in wanted.items()
    }


def participant_reputation(participant_id: int | None) -> dict[str, object]:
    """Provider-level reputation, `by_service_type` (each type's composite, as the seeds
    describe it) and `service_types` (each type's full view with its job counts); the
    prior without history."""
    rows = (
        list(
            ReputationScore.objects.filter(
                participant_id=participant_id,
                scope__in=[ReputationScore.Scope.PROVIDER, ReputationScore.Scope.SERVICE_TYPE],
            )
        )
        if participant_id is not None
        else []
    )
    provider = next(
        (r for r in rows if r.scope == ReputationScore.Scope.PROVIDER),
        None,
    ) or ReputationScore(scope=ReputationScore.Scope.PROVIDER)
    types = sorted(
        (r for r in rows if r.scope == ReputationScore.Scope.SERVICE_TYPE),
        key=lambda r: r.scope_key,
    )
    return {
        **reputation_view(provider),
        "is_new_provider": provider.is_new,
        "by_service_type": {r.scope_key: round(r.composite, 1) for r in types},
        "service_types": {r.scope_key: reputation_view(r) for r in types},
    }
