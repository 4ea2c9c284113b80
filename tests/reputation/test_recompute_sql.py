"""The database computes what the Python model says: the set-based recompute and the one-row
upserts of the incremental update (`reputation.scoresql`) against `compute_rows` and
`scoring.Evidence`, on random histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import Participant
from reputation import scoring
from reputation.models import ReputationScore, Signal
from reputation.services import (
    _SIGNAL_COLUMNS,
    apply_signal,
    clean_values,
    compute_rows,
    recompute_all,
    recompute_providers,
)
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db
SCORES = ("composite", *scoring.DIMENSIONS, "confidence")
TYPES = ("data_api", "automated_service", "human_service", "other_kind")

value = st.one_of(st.none(), st.floats(min_value=0, max_value=1))
signal = st.fixed_dictionaries(
    {
        "service_type": st.sampled_from(TYPES),
        "service": st.sampled_from(("a", "b", "")),
        "values": st.fixed_dictionaries({dim: value for dim in scoring.DIMENSIONS}),
        "weight": st.sampled_from((1.0, 0.25)),
        "is_job": st.booleans(),
        "completed": st.booleans(),
        "age_days": st.floats(min_value=0, max_value=400),
    }
)
relaxed = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _signals(provider: Participant, buyer: Participant, history: list[dict[str, Any]]) -> None:
    now = timezone.now()
    Signal.objects.bulk_create(
        [
            clean_values(  # as `record_*` stores them
                Signal(
                    provider=provider,
                    buyer=buyer,
                    # A service has one type: its id says which.
                    service_public_id=f"svc_{s['service']}_{s['service_type']}"
                    if s["service"]
                    else "",
                    service_type=s["service_type"],
                    kind="job_released",
                    reference=f"job_{n}",
                    weight=s["weight"],
                    is_job=s["is_job"],
                    completed=s["is_job"] and s["completed"],
                    occurred_at=now - timedelta(days=s["age_days"]),
                    **s["values"],
                )
            )
            for n, s in enumerate(history)
        ]
    )


def _assert_rows_match_the_model(provider: Participant) -> None:
    """Every row of the provider holds the model's scores of its signals as of the row's
    own time (`decay_ref`)."""
    signals = list(Signal.objects.filter(provider=provider).values_list(*_SIGNAL_COLUMNS))
    stored = {
        (provider.pk, r.scope, r.scope_key): r
        for r in ReputationScore.objects.filter(participant=provider, decay_ref__gt=0)
    }
    latest = max(r.decay_ref for r in stored.values())
    expected_keys, _ = compute_rows(
        signals, now=datetime.fromtimestamp(latest, UTC), excluded=set()
    )
    assert set(stored) == set(expected_keys)
    for key, row in stored.items():
        at = datetime.fromtimestamp(row.decay_ref, UTC)
        evidence, service_type = compute_rows(signals, now=at, excluded=set())[0][key]
        model = {
            **evidence.dimensions(),
            "composite": evidence.composite(service_type),
            "confidence": evidence.confidence(),
        }
        for name in SCORES:
            assert getattr(row, name) == pytest.approx(model[name], rel=1e-9, abs=1e-9), (
                key,
                name,
            )
        assert (row.total_jobs, row.completed_jobs) == (
            evidence.total_jobs,
            evidence.completed_jobs,
        )


@relaxed
@given(st.lists(signal, min_size=1, max_size=25))
def test_the_recompute_in_sql_gives_the_models_scores(history: list[dict[str, Any]]) -> None:
    Signal.objects.all().delete()
    provider, buyer = ParticipantFactory(), ParticipantFactory()
    _signals(provider, buyer, history)
    recompute_providers([provider.pk])
    _assert_rows_match_the_model(provider)


@relaxed
@given(st.lists(signal, min_size=1, max_size=12), st.floats(min_value=0, max_value=200))
def test_upserting_one_signal_at_a_time_gives_the_models_scores(
    history: list[dict[str, Any]], days_between: float
) -> None:
    Signal.objects.all().delete()
    provider, buyer = ParticipantFactory(), ParticipantFactory()
    _signals(provider, buyer, history)
    # Each signal happens, and is applied, days after the one before: the stored sums age
    # in between.
    start = timezone.now() - timedelta(days=days_between * len(history))
    for n, item in enumerate(Signal.objects.filter(provider=provider).order_by("pk")):
        item.occurred_at = start + timedelta(days=days_between * n)
        item.save(update_fields=["occurred_at"])
        apply_signal(item, now=item.occurred_at)
    _assert_rows_match_the_model(provider)


def test_the_full_recompute_covers_every_provider_in_ranges() -> None:
    providers = [ParticipantFactory() for _ in range(3)]
    buyer = ParticipantFactory()
    for n, provider in enumerate(providers):
        _signals(
            provider,
            buyer,
            [
                {
                    "service_type": "human_service",
                    "service": "a",
                    "values": {"quality": n / 2, "speed": None, "reliability": 1.0},
                    "weight": 1.0,
                    "is_job": True,
                    "completed": True,
                    "age_days": 1.0,
                }
            ],
        )
        Signal.objects.filter(reference="job_0").update(reference=f"job_0_{n}")
    report = recompute_all()
    assert (report.providers, report.jobs, report.rows) == (3, 3, 9)
    for provider in providers:
        _assert_rows_match_the_model(provider)
