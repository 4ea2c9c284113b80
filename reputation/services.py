"""Writes of reputation: signals as events end, and the scores computed from them.

`marketplace` calls the `record_*` functions when a job, data API call, thread or delivery
ends (inside its own transaction). Each writes one `Signal` row (once per event: recording
the same event again does nothing) and, unless the buyer and provider share an open or
confirmed sybil flag, updates the provider's three score rows at once (service, service
type, provider) from their stored evidence. `recompute_all` rebuilds every row from the
signals (every 30 minutes, `manage.py reputation_recompute`); `recompute_providers` rebuilds
some (after a flag moves).

Locking: the provider-level row is the provider's mutex. An incremental update and a
recompute both lock it before reading, so a signal committed during a recompute is never
lost (the recompute reads it, or the update applies on top of the recompute's result).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from reputation import scoring
from reputation.models import ReputationScore, Signal, SybilFlag
from reputation.scoring import Evidence

Scope = ReputationScore.Scope
K = Signal.Kind

JobOutcome = Literal[
    "released",
    "failed",
    "cancelled_by_provider",
    "expired",
    "dispute_release",
    "dispute_refund",
    "dispute_split",
]
DataApiOutcome = Literal["answered", "failed", "rejected"]

ACTIVE_FLAGS = (SybilFlag.Status.OPEN, SybilFlag.Status.CONFIRMED)
WEBHOOK_SIGNAL_WEIGHT = 0.25  # a webhook delivery says less than a job
RECOMPUTE_CHUNK = 500  # providers per recompute transaction


def half_life_seconds() -> float:
    return float(getattr(settings, "REPUTATION_HALF_LIFE_DAYS", 90)) * 86_400


# ---------------------------------------------------------------- recording signals
def reputation_ensure_provider(*, participant_id: int) -> ReputationScore:
    """Make sure a provider has its provider-level score row (the prior until it has
    history). The catalog joins this row to sort and filter by reputation, so every listed
    provider has one."""
    score, _ = ReputationScore.objects.get_or_create(
        participant_id=participant_id, scope=Scope.PROVIDER, scope_key=""
    )
    return score


def record_job_end(
    *,
    provider_id: int,
    buyer_id: int | None,
    service_public_id: str,
    service_type: str,
    job_public_id: str,
    outcome: JobOutcome,
    amount_micros: int = 0,
    occurred_at: datetime | None = None,
    rating: int | None = None,
    delivery_seconds: float | None = None,
    estimated_delivery: str = "",
    provider_share: float | None = None,
) -> Signal | None:
    """A job ended. Values (1 best, None says nothing):

    - released (verified by the buyer or automatically): quality from the rating (unrated,
      4, 5: 1), speed `min(1, estimate / delivery time)`, reliability 1; completed.
    - failed, cancelled by the provider, expired before work started: reliability 0.
    - dispute released: quality 1, reliability 1 (completed); refunded: quality 0,
      reliability 0; split: both the provider's share of the escrow (completed).
    """
    kind, completed, values = job_end_values(
        outcome,
        rating=rating,
        delivery_seconds=delivery_seconds,
        estimated_delivery=estimated_delivery,
        provider_share=provider_share,
    )
    return _record(
        Signal(
            provider_id=provider_id,
            buyer_id=buyer_id,
            service_public_id=service_public_id,
            service_type=service_type,
            kind=kind,
            reference=job_public_id,
            is_job=True,
            completed=completed,
            amount_micros=amount_micros,
            occurred_at=occurred_at or timezone.now(),
            **values,
        )
    )


def job_end_values(
    outcome: JobOutcome,
    *,
    rating: int | None = None,
    delivery_seconds: float | None = None,
    estimated_delivery: str = "",
    provider_share: float | None = None,
) -> tuple[str, bool, dict[str, float | None]]:
    """A job end's signal kind, whether it completed, and its dimension values."""
    share = min(max(provider_share if provider_share is not None else 0.0, 0.0), 1.0)
    values: dict[str, float | None]
    kind, completed = {
        "released": (K.JOB_RELEASED, True),
        "failed": (K.JOB_FAILED, False),
        "cancelled_by_provider": (K.JOB_CANCELLED, False),
        "expired": (K.JOB_EXPIRED, False),
        "dispute_release": (K.DISPUTE_RELEASE, True),
        "dispute_refund": (K.DISPUTE_REFUND, False),
        "dispute_split": (K.DISPUTE_SPLIT, True),
    }[outcome]
    if outcome == "released":
        estimate = scoring.estimated_seconds(estimated_delivery)
        values = {
            "quality": scoring.rating_quality(rating),
            "speed": scoring.ratio(estimate, delivery_seconds) if estimate else None,
            "reliability": 1.0,
        }
    elif outcome == "dispute_release":
        values = {"quality": 1.0, "reliability": 1.0}
    elif outcome == "dispute_refund":
        values = {"quality": 0.0, "reliability": 0.0}
    elif outcome == "dispute_split":
        values = {"quality": share, "reliability": share}
    else:
        values = {"reliability": 0.0}
    return str(kind), completed, values


def record_data_api_call(
    *,
    provider_id: int,
    buyer_id: int | None,
    service_public_id: str,
    reference: str,
    outcome: DataApiOutcome,
    latency_ms: float | None = None,
    amount_micros: int = 0,
    occurred_at: datetime | None = None,
) -> Signal | None:
    """A data API call: answered (a paid job: quality 1, reliability 1, speed
    `min(1, 1000 ms / latency)`), failed (no usable answer, not charged: reliability 0) or
    rejected by its deliverable_schema (quality 0, reliability 0)."""
    answered = outcome == "answered"
    values: dict[str, float | None] = {
        "answered": {
            "quality": 1.0,
            "reliability": 1.0,
            "speed": scoring.ratio(scoring.DATA_API_LATENCY_NORM_MS, latency_ms),
        },
        "failed": {"reliability": 0.0},
        "rejected": {"quality": 0.0, "reliability": 0.0},
    }[outcome]
    kind = {
        "answered": K.DATA_API_ANSWERED,
        "failed": K.DATA_API_FAILED,
        "rejected": K.DATA_API_REJECTED,
    }[outcome]
    return _record(
        Signal(
            provider_id=provider_id,
            buyer_id=buyer_id,
            service_public_id=service_public_id,
            service_type="data_api",
            kind=kind,
            reference=reference,
            is_job=answered,
            completed=answered,
            amount_micros=amount_micros,
            occurred_at=occurred_at or timezone.now(),
            **values,
        )
    )


def record_first_answer(
    *,
    provider_id: int,
    buyer_id: int | None,
    service_public_id: str,
    service_type: str,
    thread_public_id: str,
    waited_seconds: float,
    occurred_at: datetime | None = None,
) -> Signal | None:
    """The provider's first answer (a message or a proposal) in a thread: communication
    `min(1, 1 hour / time since the thread opened)`. Once per thread."""
    if Signal.objects.filter(kind=K.FIRST_ANSWER, reference=thread_public_id).exists():
        return None
    return _record(
        Signal(
            provider_id=provider_id,
            buyer_id=buyer_id,
            service_public_id=service_public_id,
            service_type=service_type,
            kind=K.FIRST_ANSWER,
            reference=thread_public_id,
            communication=scoring.ratio(scoring.FIRST_ANSWER_NORM_SECONDS, waited_seconds),
            occurred_at=occurred_at or timezone.now(),
        )
    )


def record_webhook_delivery(
    *,
    provider_id: int,
    service_public_id: str,
    service_type: str,
    delivery_public_id: str,
    delivered: bool,
    occurred_at: datetime | None = None,
) -> Signal | None:
    """A webhook delivery ended (delivered, or given up): reliability 1 or 0, weight
    0.25."""
    return _record(
        Signal(
            provider_id=provider_id,
            service_public_id=service_public_id,
            service_type=service_type,
            kind=K.WEBHOOK_DELIVERED if delivered else K.WEBHOOK_FAILED,
            reference=delivery_public_id,
            reliability=1.0 if delivered else 0.0,
            weight=WEBHOOK_SIGNAL_WEIGHT,
            occurred_at=occurred_at or timezone.now(),
        )
    )


def _record(signal: Signal) -> Signal | None:
    """Store the signal (None if this event was recorded already) and apply it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                signal.save()
        except IntegrityError:
            return None
        if not pair_flagged(signal.buyer_id, signal.provider_id):
            apply_signal(signal)
    if signal.is_job and signal.buyer_id is not None:
        buyer_id, provider_id = signal.buyer_id, signal.provider_id
        transaction.on_commit(lambda: _queue_sybil_check(buyer_id, provider_id))
    return signal


def _queue_sybil_check(buyer_id: int, provider_id: int) -> None:
    from django_q.tasks import async_task

    async_task("reputation.tasks.sybil_check_pair", buyer_id, provider_id)


# ---------------------------------------------------------------- sybil exclusion
def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a <= b else (b, a)


def pair_flagged(buyer_id: int | None, provider_id: int) -> bool:
    """Whether an open or confirmed flag names both (so their jobs do not count)."""
    if buyer_id is None:
        return False
    flags = SybilFlag.objects.filter(status__in=ACTIVE_FLAGS, parties=provider_id)
    if buyer_id == provider_id:
        return flags.exists()
    return flags.filter(pk__in=SybilFlag.objects.filter(parties=buyer_id).values("pk")).exists()


def excluded_pairs(participant_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    """Every pair of parties of an open or confirmed flag (a single-party flag gives the
    pair (a, a)), optionally only flags naming one of `participant_ids`."""
    through = SybilFlag.parties.through
    rows = through.objects.filter(sybilflag__status__in=ACTIVE_FLAGS)
    if participant_ids is not None:
        flags = through.objects.filter(participant_id__in=list(participant_ids))
        rows = rows.filter(sybilflag_id__in=flags.values("sybilflag_id"))
    parties: dict[int, list[int]] = {}
    for flag_id, participant_id in rows.values_list("sybilflag_id", "participant_id"):
        parties.setdefault(flag_id, []).append(participant_id)
    pairs: set[tuple[int, int]] = set()
    for members in parties.values():
        pairs.update((m, m) for m in members)
        pairs.update(_pair(a, b) for a, b in itertools.combinations(members, 2))
    return pairs


# ---------------------------------------------------------------- incremental update
def _store(
    row: ReputationScore, evidence: Evidence, service_type: str | None, now: datetime
) -> None:
    """Put evidence's scores on `row` (not saved). `service_type` None: provider level."""
    dims = evidence.dimensions()
    row.quality, row.speed = dims["quality"], dims["speed"]
    row.reliability, row.communication = dims["reliability"], dims["communication"]
    row.composite = evidence.composite(service_type)
    row.confidence = min(max(evidence.confidence(), 0.0), 1.0)
    row.total_jobs, row.completed_jobs = evidence.total_jobs, evidence.completed_jobs
    row.evidence = evidence.to_json()
    row.computed_at = now


STORED_FIELDS = (
    "composite",
    "quality",
    "speed",
    "reliability",
    "communication",
    "confidence",
    "total_jobs",
    "completed_jobs",
    "evidence",
    "computed_at",
)


def _scopes(provider_id: int, service_type: str, service_public_id: str) -> list[tuple[str, str]]:
    scopes = [(Scope.PROVIDER.value, "")]
    if service_type:
        scopes.append((Scope.SERVICE_TYPE.value, service_type))
    if service_public_id:
        scopes.append((Scope.SERVICE.value, service_public_id))
    return scopes


def _locked_rows(provider_id: int, scopes: list[tuple[str, str]]) -> list[ReputationScore]:
    """The provider's rows of `scopes`, locked, created if missing: the provider row first
    (the provider's mutex, as a recompute takes it), then the others in id order."""
    provider_scope = ReputationScore.objects.select_for_update().filter(
        participant_id=provider_id, scope=Scope.PROVIDER, scope_key=""
    )
    provider = next(iter(provider_scope), None)
    if provider is None:
        reputation_ensure_provider(participant_id=provider_id)
        provider = provider_scope.get()
    wanted = scopes[1:]
    if not wanted:
        return [provider]
    match = Q()
    for scope, key in wanted:
        match |= Q(scope=scope, scope_key=key)
    others = ReputationScore.objects.select_for_update().filter(match, participant_id=provider_id)
    found = {(r.scope, r.scope_key): r for r in others.order_by("pk")}
    if len(found) < len(wanted):
        ReputationScore.objects.bulk_create(
            [
                ReputationScore(participant_id=provider_id, scope=scope, scope_key=key)
                for scope, key in wanted
                if (scope, key) not in found
            ],
            ignore_conflicts=True,
        )
        found = {(r.scope, r.scope_key): r for r in others.order_by("pk")}
    return [provider, *(found[scope_key] for scope_key in wanted)]


def apply_signal(signal: Signal, *, now: datetime | None = None) -> None:
    """Add one signal to its provider's three rows: each row's evidence is aged to now,
    then the signal added with its own decay."""
    now = now or timezone.now()
    half_life = half_life_seconds()
    weight = signal.weight * scoring.decay((now - signal.occurred_at).total_seconds(), half_life)
    scopes = _scopes(signal.provider_id, signal.service_type, signal.service_public_id)
    with transaction.atomic(savepoint=False):
        rows = _locked_rows(signal.provider_id, scopes)
        for row in rows:
            evidence = Evidence.from_row(
                row.evidence, total_jobs=row.total_jobs, completed_jobs=row.completed_jobs
            )
            evidence.decayed(scoring.age_factor(row.computed_at, now, half_life))
            evidence.add(
                signal.values(),
                weight=weight,
                is_job=signal.is_job,
                completed=signal.completed,
                service_type=signal.service_type,
            )
            level = None if row.scope == Scope.PROVIDER else signal.service_type
            _store(row, evidence, level, now)
            row.updated_at = now
        ReputationScore.objects.bulk_update(rows, [*STORED_FIELDS, "updated_at"])


# ---------------------------------------------------------------- full recompute
@dataclass(frozen=True)
class RecomputeReport:
    providers: int
    signals: int
    rows: int


_SIGNAL_COLUMNS = (
    "provider_id",
    "buyer_id",
    "service_public_id",
    "service_type",
    "quality",
    "speed",
    "reliability",
    "communication",
    "weight",
    "is_job",
    "completed",
    "occurred_at",
)


def _timestamp(value: datetime | str) -> float:
    """Seconds since the epoch of a stored time (a raw SQLite read is an ISO string in
    UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def compute_rows(
    signals: Iterable[Sequence[Any]],
    *,
    now: datetime,
    excluded: set[tuple[int, int]],
) -> tuple[dict[tuple[int, str, str], tuple[Evidence, str | None]], int]:
    """Evidence per (provider, scope, key) from signal tuples in `_SIGNAL_COLUMNS` order;
    also how many signals counted. The same sums as `Evidence.add`, kept in flat lists
    (this loop runs once per signal of a full recompute)."""
    half_life = half_life_seconds()
    now_ts = now.timestamp()
    # key -> [pos q, neg q, pos s, neg s, pos r, neg r, pos c, neg c, volume, total, done]
    sums: dict[tuple[int, str, str], list[float]] = {}
    types: dict[tuple[int, str, str], str | None] = {}
    type_volumes: dict[tuple[int, str, str], dict[str, float]] = {}
    counted = 0
    provider_scope, type_scope, service_scope = (
        Scope.PROVIDER.value,
        Scope.SERVICE_TYPE.value,
        Scope.SERVICE.value,
    )
    for (
        provider_id,
        buyer_id,
        service_id,
        service_type,
        quality,
        speed,
        reliability,
        communication,
        weight,
        is_job,
        completed,
        occurred_at,
    ) in signals:
        if buyer_id is not None and _pair(buyer_id, provider_id) in excluded:
            continue
        counted += 1
        age = now_ts - _timestamp(occurred_at)
        w = weight * (0.5 ** (age / half_life) if age > 0 else 1.0)
        delta = [0.0] * 11
        for i, v in enumerate((quality, speed, reliability, communication)):
            if v is not None:
                v = 0.0 if v < 0 else 1.0 if v > 1 else v
                delta[2 * i] = w * v
                delta[2 * i + 1] = w * (1.0 - v)
        if is_job:
            delta[8], delta[9], delta[10] = w, 1, 1 if completed else 0
        keys = [(provider_id, provider_scope, "")]
        if service_type:
            keys.append((provider_id, type_scope, service_type))
        if service_id:
            keys.append((provider_id, service_scope, service_id))
        for n, key in enumerate(keys):
            acc = sums.get(key)
            if acc is None:
                sums[key] = delta.copy()
                types[key] = None if n == 0 else service_type
                type_volumes[key] = {}
            else:
                for i in range(11):
                    acc[i] += delta[i]
            if is_job:
                volumes = type_volumes[key]
                volumes[service_type] = volumes.get(service_type, 0.0) + w
    out: dict[tuple[int, str, str], tuple[Evidence, str | None]] = {}
    for key, acc in sums.items():
        evidence = Evidence(total_jobs=int(acc[9]), completed_jobs=int(acc[10]))
        for i, dim in enumerate(scoring.DIMENSIONS):
            evidence.pos[dim], evidence.neg[dim] = acc[2 * i], acc[2 * i + 1]
        evidence.volume = acc[8]
        evidence.type_volume = type_volumes[key]
        out[key] = (evidence, types[key])
    return out, counted


def _raw_rows(queryset: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a values_list query straight from the cursor (no per-value converters:
    `compute_rows` reads the times itself)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            yield from rows


def recompute_providers(
    provider_ids: Iterable[int],
    *,
    now: datetime | None = None,
    excluded: set[tuple[int, int]] | None = None,
) -> RecomputeReport:
    """Rebuild every score row of these providers from their signals, in one transaction
    holding their provider rows; rows left without counted signals get the prior."""
    ids = sorted(set(provider_ids))
    if not ids:
        return RecomputeReport(0, 0, 0)
    now = now or timezone.now()
    if excluded is None:
        excluded = excluded_pairs(ids)
    with transaction.atomic():
        ReputationScore.objects.bulk_create(
            [
                ReputationScore(participant_id=pid, scope=Scope.PROVIDER, scope_key="")
                for pid in ids
            ],
            ignore_conflicts=True,
        )
        list(
            ReputationScore.objects.select_for_update()
            .filter(participant_id__in=ids, scope=Scope.PROVIDER, scope_key="")
            .order_by("participant_id")
            .values_list("pk", flat=True)
        )
        rows_in = _raw_rows(
            Signal.objects.filter(provider_id__in=ids).order_by().values_list(*_SIGNAL_COLUMNS)
        )
        computed, counted = compute_rows(rows_in, now=now, excluded=excluded)
        rows = []
        for (pid, scope, key), (evidence, service_type) in computed.items():
            row = ReputationScore(participant_id=pid, scope=scope, scope_key=key)
            _store(row, evidence, service_type, now)
            row.updated_at = now
            rows.append(row)
        ReputationScore.objects.bulk_create(
            rows,
            batch_size=1_000,
            update_conflicts=True,
            unique_fields=["participant", "scope", "scope_key"],
            update_fields=[*STORED_FIELDS, "updated_at"],
        )
        _reset_stale(ids, now)
    return RecomputeReport(providers=len(ids), signals=counted, rows=len(rows))


def _reset_stale(provider_ids: Sequence[int], now: datetime) -> None:
    """Rows of these providers the recompute did not write go back to the prior."""
    prior = Evidence()
    ReputationScore.objects.filter(participant_id__in=provider_ids).exclude(computed_at=now).update(
        composite=scoring.DEFAULT_SCORE,
        quality=scoring.DEFAULT_SCORE,
        speed=scoring.DEFAULT_SCORE,
        reliability=scoring.DEFAULT_SCORE,
        communication=scoring.DEFAULT_SCORE,
        confidence=0.0,
        total_jobs=0,
        completed_jobs=0,
        evidence=prior.to_json(),
        computed_at=now,
        updated_at=now,
    )


def recompute_all(*, now: datetime | None = None) -> RecomputeReport:
    """Rebuild every provider's scores from the signals (every 30 minutes), a chunk of
    providers per transaction."""
    now = now or timezone.now()
    excluded = excluded_pairs()
    with_signals = set(Signal.objects.order_by().values_list("provider_id", flat=True).distinct())
    with_history = set(
        ReputationScore.objects.filter(scope=Scope.PROVIDER, total_jobs__gt=0).values_list(
            "participant_id", flat=True
        )
    )
    ids = sorted(with_signals | with_history)
    providers = signals = rows = 0
    for start in range(0, len(ids), RECOMPUTE_CHUNK):
        report = recompute_providers(
            ids[start : start + RECOMPUTE_CHUNK], now=now, excluded=excluded
        )
        providers += report.providers
        signals += report.signals
        rows += report.rows
    return RecomputeReport(providers=providers, signals=signals, rows=rows)
