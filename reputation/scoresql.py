"""The reputation formulas of `reputation.scoring` as SQL, for the two writes that run in
the database: the incremental update and the full recompute.

A score row keeps its decayed sums in columns (`<dimension>_pos`, `<dimension>_neg`,
`volume`, the job volume per service type), aged to `decay_ref` (seconds since the epoch).

- Incremental update (`accumulate_sql`): one upsert of a provider's three rows ages each
  row's sums by `exp(-ln 2 * (now - decay_ref) / half_life)` and adds the signal's, in the
  database, returning the new sums; `scoring.Evidence` turns them into scores, written by
  one update per row. O(1) rows, whatever the history.
- Full recompute (`recompute_sql`): one `INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO
  UPDATE` per range of providers, decay weights and scores computed in SQL.

The SQL is the same on SQLite (3.35+ math functions) and PostgreSQL (which raises on a
floating-point underflow, hence the floors below); `tests/reputation/test_recompute_sql.py`
holds both against the Python model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import cache

from reputation import scoring

TABLE = "reputation_reputationscore"
SIGNALS = "reputation_signal"
FLAGS = "reputation_sybilflag"
FLAG_PARTIES = "reputation_sybilflag_parties"

SUMS: tuple[str, ...] = tuple(
    f"{dim}_{side}" for dim in scoring.DIMENSIONS for side in ("pos", "neg")
)
TYPE_VOLUMES: dict[str, str] = {
    "data_api": "volume_data_api",
    "automated_service": "volume_automated_service",
    "human_service": "volume_human_service",
}
OTHER_VOLUME = "volume_other"  # job volume of any other type (default weights)
VOLUMES: tuple[str, ...] = ("volume", *TYPE_VOLUMES.values(), OTHER_VOLUME)
ACCUMULATED: tuple[str, ...] = (*SUMS, *VOLUMES)
SCORES: tuple[str, ...] = ("composite", *scoring.DIMENSIONS, "confidence")
COLUMNS: tuple[str, ...] = (
    "participant_id",
    "scope",
    "scope_key",
    *SCORES,
    "total_jobs",
    "completed_jobs",
    *ACCUMULATED,
    "decay_ref",
    "computed_at",
    "created_at",
    "updated_at",
)


def _num(value: float) -> str:
    return repr(float(value))


def decay_rate(half_life_seconds: float) -> float:
    """`k` in `exp(k * age)`, the decay of a signal `age` seconds old."""
    return -math.log(2.0) / half_life_seconds


# `exp(k * age)` is 0 past MAX_HALF_LIVES (as `scoring.decay`), and a stored sum below
# TINY is aged to 0: PostgreSQL raises on a floating-point underflow instead of giving 0.
_EXPONENT_FLOOR = _num(-scoring.MAX_HALF_LIVES * math.log(2.0))
TINY = "1e-100"


def decay_factor(k: str, age: str) -> str:
    """SQL of `scoring.decay` for an age (seconds, SQL) and a decay rate (SQL literal)."""
    return (
        f"(CASE WHEN {age} <= 0 THEN 1.0 WHEN {k} * {age} > {_EXPONENT_FLOOR} "
        f"THEN EXP({k} * {age}) ELSE 0.0 END)"
    )


# ---------------------------------------------------------------- formulas
def dimension(pos: str, neg: str) -> str:
    """`100 (m S + pos) / (S + pos + neg)`: the Beta posterior mean."""
    prior = scoring.PRIOR_MEAN * scoring.PRIOR_STRENGTH
    return f"(100.0 * ({_num(prior)} + {pos}) / ({_num(scoring.PRIOR_STRENGTH)} + {pos} + {neg}))"


def confidence(volume: str) -> str:
    return f"({volume} / ({volume} + {_num(scoring.CONFIDENCE_HALF_VOLUME)}))"


def _weighted(dims: Mapping[str, str], weights: Mapping[str, float]) -> str:
    return "(" + " + ".join(f"{_num(weights[d])} * {dims[d]}" for d in scoring.DIMENSIONS) + ")"


def type_column_composite(dims: Mapping[str, str], type_column: str) -> str:
    """The composite of a service or service-type row whose type is a column."""
    cases = " ".join(
        f"WHEN '{kind}' THEN {_weighted(dims, weights)}"
        for kind, weights in scoring.WEIGHTS.items()
    )
    return f"(CASE {type_column} {cases} ELSE {_weighted(dims, scoring.DEFAULT_WEIGHTS)} END)"


def mixed_composite(dims: Mapping[str, str], volumes: Mapping[str, str]) -> str:
    """The provider row's composite: each dimension weighted by the types' weights mixed
    by their share of the job volume (equal weights without jobs)."""
    parts = [*(volumes[c] for c in TYPE_VOLUMES.values()), volumes[OTHER_VOLUME]]
    total = "(" + " + ".join(parts) + ")"
    by_type = [*scoring.WEIGHTS.items(), ("", scoring.DEFAULT_WEIGHTS)]
    columns = [*TYPE_VOLUMES.values(), OTHER_VOLUME]
    terms = []
    for dim in scoring.DIMENSIONS:
        mix = " + ".join(
            f"{_num(weights[dim])} * {volumes[col]}"
            for (_, weights), col in zip(by_type, columns, strict=True)
        )
        terms.append(f"{dims[dim]} * ({mix})")
    return (
        f"(CASE WHEN {total} > 0 THEN ({' + '.join(terms)}) / {total} "
        f"ELSE {_weighted(dims, scoring.DEFAULT_WEIGHTS)} END)"
    )


def scores(
    value: Callable[[str], str], composite: Callable[[Mapping[str, str]], str]
) -> dict[str, str]:
    """SQL of every score column from the SQL of the accumulated columns (`value(column)`)."""
    dims = {dim: dimension(value(f"{dim}_pos"), value(f"{dim}_neg")) for dim in scoring.DIMENSIONS}
    return {**dims, "composite": composite(dims), "confidence": confidence(value("volume"))}


# ---------------------------------------------------------------- incremental update
# Whether an open or confirmed flag names both participants (the same one twice: any flag
# naming it). Parameters: the provider, the buyer.
_ACTIVE_PAIR = (
    f"FROM {FLAG_PARTIES} a JOIN {FLAG_PARTIES} b ON b.sybilflag_id = a.sybilflag_id "
    f"JOIN {FLAGS} f ON f.id = a.sybilflag_id WHERE f.status IN ('open', 'confirmed') "
)
PAIR_FLAGGED_SQL = (
    f"SELECT 1 {_ACTIVE_PAIR}AND a.participant_id = %s AND b.participant_id = %s LIMIT 1"
)


@cache
def accumulate_sql(rows: int, half_life_seconds: float) -> str:
    """Upsert `rows` score rows of one provider with one signal, returning their new sums,
    unless an open or confirmed flag names the signal's buyer and provider (then nothing is
    written or returned).

    Parameters: `COLUMNS` per row (each row holding the prior plus this signal alone, its
    sums as of `decay_ref` = now), then the provider and the buyer (None: no buyer). An
    existing row ages its sums to now and adds the signal's; its scores are then set from
    the returned sums (`scores_update_sql`). Returns `RETURNED` per row."""
    k = _num(decay_rate(half_life_seconds))
    age = decay_factor(k, f"(excluded.decay_ref - {TABLE}.decay_ref)")
    sets = [
        f"{c} = CASE WHEN {TABLE}.{c} > {TINY} THEN {TABLE}.{c} * {age} ELSE 0.0 END + excluded.{c}"
        for c in ACCUMULATED
    ]
    sets += [f"{c} = {TABLE}.{c} + excluded.{c}" for c in ("total_jobs", "completed_jobs")]
    sets += [f"{c} = excluded.{c}" for c in ("decay_ref", "computed_at", "updated_at")]
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608
        f"SELECT * FROM (VALUES {', '.join([row] * rows)}) AS v "
        f"WHERE NOT EXISTS ({PAIR_FLAGGED_SQL}) "
        f"ON CONFLICT (participant_id, scope, scope_key) DO UPDATE SET {', '.join(sets)} "
        f"RETURNING {', '.join(RETURNED)}"
    )


RETURNED: tuple[str, ...] = (
    "id",
    "scope",
    "scope_key",
    "total_jobs",
    "completed_jobs",
    *ACCUMULATED,
)


@cache
def scores_update_sql(rows: int) -> str:
    """Set the scores of `rows` rows; parameters per row: the id, then `SCORES`."""
    sets = ", ".join(f"{c} = v.column{n + 2}" for n, c in enumerate(SCORES))
    row = "(" + ", ".join(["%s"] * (1 + len(SCORES))) + ")"
    return (
        f"UPDATE {TABLE} SET {sets} FROM (VALUES {', '.join([row] * rows)}) AS v "  # noqa: S608
        f"WHERE {TABLE}.id = v.column1"
    )


# ---------------------------------------------------------------- full recompute
def _epoch_seconds(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        return f"date_part('epoch', {column})"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def recompute_sql(
    *, vendor: str, provider_filter: str, exclude_flagged: bool, half_life_seconds: float
) -> str:
    """Rebuild the score rows of the providers `provider_filter` selects (SQL over the
    signal alias `s`, e.g. `s.provider_id BETWEEN %s AND %s`) from their signals in one
    statement. Parameters: now (epoch seconds), then `provider_filter`'s, then
    decay_ref, computed_at, created_at and updated_at of the written rows. Signals between
    the parties of an open or confirmed flag are left out when `exclude_flagged`."""
    k = _num(decay_rate(half_life_seconds))
    occurred = _epoch_seconds(vendor, "s.occurred_at")
    flagged = ""
    if exclude_flagged:
        flagged = (
            f" AND NOT (s.buyer_id IS NOT NULL AND EXISTS (SELECT 1 {_ACTIVE_PAIR}"
            "AND a.participant_id = s.provider_id AND b.participant_id = s.buyer_id))"
        )
    dims = scoring.DIMENSIONS
    fine_sums = ", ".join(f"SUM(w * {d}) AS {d}_pos, SUM(w * (1.0 - {d})) AS {d}_neg" for d in dims)
    fine = (
        "SELECT pid, svc, stype, "  # noqa: S608
        f"{fine_sums}, "
        "SUM(CASE WHEN is_job THEN w ELSE 0.0 END) AS volume, "
        "SUM(CASE WHEN is_job THEN 1 ELSE 0 END) AS total_jobs, "
        "SUM(CASE WHEN is_job AND completed THEN 1 ELSE 0 END) AS completed_jobs "
        "FROM (SELECT pid, svc, stype, "
        f"{', '.join(dims)}, is_job, completed, weight * {decay_factor(k, 'age')} AS w "
        "FROM (SELECT s.provider_id AS pid, s.service_public_id AS svc, "
        f"s.service_type AS stype, {', '.join(f's.{d}' for d in dims)}, s.is_job, s.completed, "
        f"s.weight, %s - {occurred} AS age "
        f"FROM {SIGNALS} s WHERE {provider_filter}{flagged}) AS y) AS x "
        "GROUP BY pid, svc, stype"
    )
    aggregates = ", ".join(f"COALESCE(SUM({c}), 0.0) AS {c}" for c in (*SUMS, "volume"))
    type_volumes = ", ".join(
        f"COALESCE(SUM(CASE WHEN stype = '{kind}' THEN volume ELSE 0.0 END), 0.0) AS {col}"
        for kind, col in TYPE_VOLUMES.items()
    )
    known = ", ".join(f"'{kind}'" for kind in TYPE_VOLUMES)
    other = (
        f"COALESCE(SUM(CASE WHEN stype NOT IN ({known}) THEN volume ELSE 0.0 END), 0.0) "
        f"AS {OTHER_VOLUME}"
    )
    counts = "SUM(total_jobs) AS total_jobs, SUM(completed_jobs) AS completed_jobs"
    tail = f"{aggregates}, {type_volumes}, {other}, {counts} FROM fine"
    levels = (
        f"SELECT pid, 'service' AS scope, svc AS scope_key, MAX(stype) AS stype, {tail} "
        "WHERE svc <> '' GROUP BY pid, svc "
        f"UNION ALL SELECT pid, 'service_type', stype, stype, {tail} "
        "WHERE stype <> '' GROUP BY pid, stype "
        f"UNION ALL SELECT pid, 'provider', '', '', {tail} GROUP BY pid"
    )

    def composite(dims_sql: Mapping[str, str]) -> str:
        return (
            f"(CASE WHEN scope = 'provider' THEN "
            f"{mixed_composite(dims_sql, {c: c for c in VOLUMES})} "
            f"ELSE {type_column_composite(dims_sql, 'stype')} END)"
        )

    computed = scores(lambda c: c, composite)
    select = ", ".join(
        [
            "pid",
            "scope",
            "scope_key",
            *(computed[c] for c in SCORES),
            "total_jobs",
            "completed_jobs",
            *ACCUMULATED,
            "%s",
            "%s",
            "%s",
            "%s",
        ]
    )
    updates = ", ".join(
        f"{c} = excluded.{c}"
        for c in COLUMNS
        if c not in ("participant_id", "scope", "scope_key", "created_at")
    )
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "  # noqa: S608
        f"WITH fine AS MATERIALIZED ({fine}), levels AS ({levels}) "
        f"SELECT {select} FROM levels WHERE true "
        f"ON CONFLICT (participant_id, scope, scope_key) DO UPDATE SET {updates}"
    )
