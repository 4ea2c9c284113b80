"""Properties of the reputation model (pure: `reputation.scoring` and the signal mapping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reputation import scoring
from reputation.services import compute_rows, half_life_seconds, job_end_values

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PROVIDER, BUYER = 1, 2
TYPES = ("data_api", "automated_service", "human_service")

value = st.one_of(st.none(), st.floats(min_value=0, max_value=1))
signal = st.fixed_dictionaries(
    {
        "service_type": st.sampled_from(TYPES),
        "service": st.sampled_from(("svc_a", "svc_b", "")),
        "values": st.fixed_dictionaries({dim: value for dim in scoring.DIMENSIONS}),
        "weight": st.floats(min_value=0, max_value=5),
        "is_job": st.booleans(),
        "age_days": st.floats(min_value=0, max_value=3_650),
    }
)
history = st.lists(signal, max_size=30)


def _tuple(s: dict[str, Any], shift_days: float = 0.0) -> tuple[Any, ...]:
    values = s["values"]
    return (
        PROVIDER,
        BUYER,
        s["service"],
        s["service_type"],
        values["quality"],
        values["speed"],
        values["reliability"],
        values["communication"],
        s["weight"],
        s["is_job"],
        s["is_job"],
        NOW - timedelta(days=s["age_days"] + shift_days),
    )


def _provider(signals: list[dict[str, Any]], shift_days: float = 0.0) -> scoring.Evidence:
    rows, _ = compute_rows([_tuple(s, shift_days) for s in signals], now=NOW, excluded=set())
    entry = rows.get((PROVIDER, "provider", ""))
    return entry[0] if entry else scoring.Evidence()


def test_no_history_gives_exactly_75_and_confidence_0() -> None:
    evidence = scoring.Evidence()
    assert evidence.dimensions() == dict.fromkeys(scoring.DIMENSIONS, 75.0)
    assert [evidence.composite(t) for t in (*TYPES, None)] == [75.0] * 4
    assert evidence.confidence() == 0.0
    assert scoring.tier(evidence.composite(None)) == "good"


@given(
    history,
    st.sampled_from(TYPES),
    st.sampled_from((None, 4, 5)),
    st.floats(min_value=0, max_value=1),
)
def test_an_on_time_undisputed_job_never_lowers_a_dimension(
    signals: list[dict[str, Any]], service_type: str, rating: int | None, late: float
) -> None:
    before = _provider(signals).dimensions()
    _, _, values = job_end_values(
        "released", rating=rating, delivery_seconds=3_600 * late, estimated_delivery="1 hour"
    )
    job = {
        "service_type": service_type,
        "service": "svc_a",
        "values": {dim: values.get(dim) for dim in scoring.DIMENSIONS},
        "weight": 1.0,
        "is_job": True,
        "age_days": 0.0,
    }
    after = _provider([*signals, job]).dimensions()
    for dim in scoring.DIMENSIONS:
        assert after[dim] >= before[dim] - 1e-9, dim


@given(
    history.filter(lambda h: any(s["is_job"] and s["weight"] > 0 for s in h)),
    st.floats(min_value=1, max_value=3_650),
)
def test_an_older_identical_history_weighs_less(
    signals: list[dict[str, Any]], older_by_days: float
) -> None:
    newer, older = _provider(signals), _provider(signals, shift_days=older_by_days)
    assert older.confidence() < newer.confidence()
    for dim in scoring.DIMENSIONS:
        assert abs(older.score(dim) - 75) <= abs(newer.score(dim) - 75) + 1e-9


@given(history)
def test_scores_stay_within_0_and_100(signals: list[dict[str, Any]]) -> None:
    rows, _ = compute_rows([_tuple(s) for s in signals], now=NOW, excluded=set())
    for evidence, service_type in rows.values():
        for score in (*evidence.dimensions().values(), evidence.composite(service_type)):
            assert 0 <= score <= 100
        assert 0 <= evidence.confidence() < 1


def test_a_signal_half_a_half_life_old_weighs_its_decay() -> None:
    half_life = half_life_seconds()
    rows, _ = compute_rows(
        [(*_tuple({**_job(), "age_days": 0})[:-1], NOW - timedelta(seconds=half_life))],
        now=NOW,
        excluded=set(),
    )
    assert rows[(PROVIDER, "provider", "")][0].volume == 0.5


def test_jobs_between_excluded_pairs_do_not_count() -> None:
    rows, counted = compute_rows([_tuple(_job())], now=NOW, excluded={(PROVIDER, BUYER)})
    assert (rows, counted) == ({}, 0)


def test_weights_favour_speed_for_data_apis_and_quality_for_human_services() -> None:
    assert scoring.WEIGHTS["data_api"]["speed"] == 0.40
    assert scoring.WEIGHTS["human_service"]["quality"] == 0.40
    for weights in scoring.WEIGHTS.values():
        assert abs(sum(weights.values()) - 1) < 1e-12


def test_tiers_follow_the_seeds() -> None:
    assert [scoring.tier(s) for s in (0, 39.9, 40, 59.9, 60, 74.9, 75, 89.9, 90, 100)] == [
        "poor",
        "poor",
        "new",
        "new",
        "fair",
        "fair",
        "good",
        "good",
        "excellent",
        "excellent",
    ]


def test_estimated_delivery_is_read_as_its_upper_bound() -> None:
    assert [
        scoring.estimated_seconds(text)
        for text in ("instant", "10 minutes", "48h", "3-5 days", "whenever", "")
    ] == [60, 600, 172_800, 432_000, None, None]


def _job() -> dict[str, Any]:
    return {
        "service_type": "human_service",
        "service": "svc_a",
        "values": {"quality": 1.0, "speed": 1.0, "reliability": 1.0, "communication": None},
        "weight": 1.0,
        "is_job": True,
        "age_days": 0.0,
    }
