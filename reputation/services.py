"""Writes of reputation: signals as events end, and the scores computed from them.

`marketplace` calls the `record_*` functions when a job, data API call, thread or delivery
ends (inside its own transaction). Each writes one `Signal` row (once per event: recording
the same event again does nothing) and, unless the buyer and provider share an open or
confirmed sybil flag, updates the provider's three score rows (service, service type,
provider): one upsert each, which ages the row's stored sums and adds the signal's in the
database. `recompute_all` rebuilds every row from the signals (every 30 minutes, `manage.py
reputation_recompute`) with set-based SQL, a range of providers per statement;
`recompute_providers` rebuilds some (after a flag moves). The SQL is `reputation.scoresql`.

Locking: the provider-level row is the provider's mutex. An incremental update writes it
first and a recompute locks it before reading, so a signal committed during a recompute is
never lost (the recompute reads it, or the update applies on top of the recompute's result).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from reputation import scoresql, scoring
from reputation.models import ReputationScore, Signal, SybilFlag
from reputation.scoring import Evidence
from the402.lib.errors import ApplicationError

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
FEEDBACK_MAX = 2_000  # characters of a buyer's feedback
WEBHOOK_SIGNAL_WEIGHT = 0.25  # a webhook delivery says less than a job
RECOMPUTE_CHUNK = 1_000  # providers per recompute transaction (and statement)


class InvalidRating(ApplicationError):
    code = "invalid_rating"


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
    feedback: str = "",
    delivery_seconds: float | None = None,
    estimated_delivery: str = "",
    provider_share: float | None = None,
) -> Signal | None:
    """A job ended. Values (1 best, None says nothing):

    - released (verified by the buyer or automatically): quality from the buyer's optional
      `rating` (1 to 5: unrated, 4, 5 give 1; 3 gives 0.5; 2 gives 0.25; 1 gives 0), speed
      `min(1, estimate / delivery time)`, reliability 1; completed.
    - failed, cancelled by the provider, expired before work started: reliability 0.
    - dispute released: quality 1, reliability 1 (completed); refunded: quality 0,
      reliability 0; split: both the provider's share of the escrow (completed).

    The rating and the buyer's free-text `feedback` (at most `FEEDBACK_MAX` characters) are
    kept on the signal; the feedback is shown to operators and not scored. A rating outside
    1..5 or longer feedback raises `InvalidRating` (400) before anything is written.
    """
    check_rating(rating, feedback)
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
            rating=rating,
            feedback=feedback.strip(),
            **values,
        )
    )


def check_rating(rating: object, feedback: object = "") -> None:
    """A buyer's rating is nothing or an integer 1 to 5; feedback a string of at most
    `FEEDBACK_MAX` characters. The API layer calls this to answer 400 before it acts."""
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
    ):
        raise InvalidRating("rating must be an integer from 1 to 5")
    if not isinstance(feedback, str) or len(feedback) > FEEDBACK_MAX:
        raise InvalidRating(f"feedback must be text of at most {FEEDBACK_MAX} characters")


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
    kind, values = data_api_values(outcome, latency_ms=latency_ms)
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


def data_api_values(
    outcome: DataApiOutcome, *, latency_ms: float | None = None
) -> tuple[str, dict[str, float | None]]:
    """A data API call's signal kind and dimension values."""
    by_outcome: dict[DataApiOutcome, tuple[str, dict[str, float | None]]] = {
        "answered": (
            K.DATA_API_ANSWERED,
            {
                "quality": 1.0,
                "reliability": 1.0,
                "speed": scoring.ratio(scoring.DATA_API_LATENCY_NORM_MS, latency_ms),
            },
        ),
        "failed": (K.DATA_API_FAILED, {"reliability": 0.0}),
        "rejected": (K.DATA_API_REJECTED, {"quality": 0.0, "reliability": 0.0}),
    }
    kind, values = by_outcome[outcome]
    return str(kind), values


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


_INSERTED_FIELDS = [f for f in Signal._meta.concrete_fields if not f.primary_key]
_INSERTED_COLUMNS = [str(f.column) for f in _INSERTED_FIELDS]
_INSERT_SIGNAL_SQL = (
    f"INSERT INTO {Signal._meta.db_table} ({', '.join(_INSERTED_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_INSERTED_FIELDS))}) ON CONFLICT DO NOTHING RETURNING id"
)


def _insert_once(signal: Signal) -> bool:
    """Insert the signal unless its event is recorded already (`ON CONFLICT DO NOTHING`:
    no savepoint, one statement); sets its pk. False when it was there."""
    signal.created_at = timezone.now()
    db = connections[DEFAULT_DB_ALIAS]
    values = [f.get_db_prep_save(getattr(signal, f.attname), db) for f in _INSERTED_FIELDS]
    with db.cursor() as cursor:
        cursor.execute(_INSERT_SIGNAL_SQL, values)
        row = cursor.fetchone()
    if row is None:
        return False
    signal.pk = row[0]
    signal._state.adding = False
    return True


def clean_values(signal: Signal) -> Signal:
    """Each dimension's value within 0..1, rounded to `scoring.VALUE_DECIMALS` (so no sum
    of weights times values underflows on PostgreSQL)."""
    for dim in scoring.DIMENSIONS:
        value = getattr(signal, dim)
        if value is not None:
            setattr(signal, dim, round(min(max(float(value), 0.0), 1.0), scoring.VALUE_DECIMALS))
    return signal


def _record(signal: Signal) -> Signal | None:
    """Store the signal (None if this event was recorded already) and apply it."""
    clean_values(signal)
    with transaction.atomic(savepoint=False):
        if not _insert_once(signal):
            return None
        apply_signal(signal)  # unless the buyer and provider share a flag
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
def _row_values(
    provider_id: int,
    scope: str,
    scope_key: str,
    evidence: Evidence,
    service_type: str | None,
    now: datetime,
) -> list[Any]:
    """The parameters of `scoresql.increment_sql` (its `COLUMNS`): a row holding
    `evidence`, as of now. `service_type` None: provider level."""
    dims = evidence.dimensions()
    values: dict[str, Any] = {
        "participant_id": provider_id,
        "scope": scope,
        "scope_key": scope_key,
        "composite": evidence.composite(service_type),
        **dims,
        "confidence": evidence.confidence(),
        "total_jobs": evidence.total_jobs,
        "completed_jobs": evidence.completed_jobs,
        "volume": evidence.volume,
        scoresql.OTHER_VOLUME: 0.0,
        "decay_ref": now.timestamp(),
    }
    for dim in scoring.DIMENSIONS:
        values[f"{dim}_pos"], values[f"{dim}_neg"] = evidence.pos[dim], evidence.neg[dim]
    for kind, column in scoresql.TYPE_VOLUMES.items():
        values[column] = evidence.type_volume.get(kind, 0.0)
    values[scoresql.OTHER_VOLUME] = sum(
        v for kind, v in evidence.type_volume.items() if kind not in scoresql.TYPE_VOLUMES
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    values["computed_at"] = values["created_at"] = values["updated_at"] = stamp
    return [values[column] for column in scoresql.COLUMNS]


def apply_signal(signal: Signal, *, now: datetime | None = None) -> bool:
    """Add one signal to its provider's rows (provider, service type, service) in two
    statements, unless its buyer and provider share an open or confirmed flag (False):
    one upsert ages each row's stored sums to now in the database and adds the signal's
    own (with its decay), returning the new sums; one update sets the scores
    `scoring.Evidence` computes from them. A missing row starts from the prior. The
    provider row comes first in the upsert: it is the provider's mutex, as in a
    recompute."""
    now = now or timezone.now()
    half_life = half_life_seconds()
    weight = signal.weight * scoring.decay((now - signal.occurred_at).total_seconds(), half_life)
    alone = Evidence()
    alone.add(
        signal.values(),
        weight=weight,
        is_job=signal.is_job,
        completed=signal.completed,
        service_type=signal.service_type,
    )
    scopes = _scopes(signal.provider_id, signal.service_type, signal.service_public_id)
    params: list[Any] = []
    for scope, key in scopes:
        level_type = None if scope == Scope.PROVIDER else signal.service_type
        params += _row_values(signal.provider_id, scope, key, alone, level_type, now)
    params += [signal.provider_id, signal.buyer_id]
    with connection.cursor() as cursor:
        cursor.execute(scoresql.accumulate_sql(len(scopes), half_life), params)
        returned = cursor.fetchall()
        if not returned:  # the buyer and provider share an open or confirmed flag
            return False
        updates: list[Any] = []
        for row in returned:
            values = dict(zip(scoresql.RETURNED, row, strict=True))
            evidence = _evidence(values)
            level_type = None if values["scope"] == Scope.PROVIDER else signal.service_type
            scores = {
                **evidence.dimensions(),
                "composite": evidence.composite(level_type),
                "confidence": evidence.confidence(),
            }
            updates += [values["id"], *(scores[c] for c in scoresql.SCORES)]
        cursor.execute(scoresql.scores_update_sql(len(returned)), updates)
    return True


def _evidence(values: dict[str, Any]) -> Evidence:
    """The evidence a score row's stored sums hold."""
    evidence = Evidence(total_jobs=values["total_jobs"], completed_jobs=values["completed_jobs"])
    for dim in scoring.DIMENSIONS:
        evidence.pos[dim], evidence.neg[dim] = values[f"{dim}_pos"], values[f"{dim}_neg"]
    evidence.volume = values["volume"]
    evidence.type_volume = {
        kind: values[column] for kind, column in scoresql.TYPE_VOLUMES.items() if values[column]
    }
    if values[scoresql.OTHER_VOLUME]:
        evidence.type_volume["other"] = values[scoresql.OTHER_VOLUME]
    return evidence


def _scopes(provider_id: int, service_type: str, service_public_id: str) -> list[tuple[str, str]]:
    scopes = [(Scope.PROVIDER.value, "")]
    if service_type:
        scopes.append((Scope.SERVICE_TYPE.value, service_type))
    if service_public_id:
        scopes.append((Scope.SERVICE.value, service_public_id))
    return scopes


# ---------------------------------------------------------------- full recompute
@dataclass(frozen=True)
class RecomputeReport:
    providers: int
    jobs: int  # jobs counted (those between flagged parties left out)
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


def compute_rows(
    signals: Iterable[Sequence[Any]],
    *,
    now: datetime,
    excluded: set[tuple[int, int]],
) -> tuple[dict[tuple[int, str, str], tuple[Evidence, str | None]], int]:
    """The model in Python: evidence per (provider, scope, key) from signal tuples in
    `_SIGNAL_COLUMNS` order, and how many signals counted. The recompute runs the same
    sums in the database (`scoresql.recompute_sql`); the tests hold the two equal."""
    half_life = half_life_seconds()
    out: dict[tuple[int, str, str], tuple[Evidence, str | None]] = {}
    counted = 0
    for row in signals:
        values = dict(zip(_SIGNAL_COLUMNS, row, strict=True))
        provider_id, buyer_id = values["provider_id"], values["buyer_id"]
        if buyer_id is not None and _pair(buyer_id, provider_id) in excluded:
            continue
        counted += 1
        age = (now - values["occurred_at"]).total_seconds()
        weight = values["weight"] * scoring.decay(age, half_life)
        service_type = values["service_type"]
        keys: list[tuple[tuple[int, str, str], str | None]] = [
            ((provider_id, Scope.PROVIDER.value, ""), None)
        ]
        if service_type:
            keys.append(((provider_id, Scope.SERVICE_TYPE.value, service_type), service_type))
        if values["service_public_id"]:
            keys.append(
                ((provider_id, Scope.SERVICE.value, values["service_public_id"]), service_type)
            )
        for key, level_type in keys:
            evidence, _ = out.setdefault(key, (Evidence(), level_type))
            evidence.add(
                {dim: values[dim] for dim in scoring.DIMENSIONS},
                weight=weight,
                is_job=bool(values["is_job"]),
                completed=bool(values["completed"]),
                service_type=service_type,
            )
    return out, counted


def _recompute(
    signal_filter: str,
    params: Sequence[Any],
    provider_ids: Sequence[int],
    scores: Q,
    *,
    now: datetime,
    exclude_flagged: bool,
) -> tuple[int, int]:
    """One transaction: the providers' rows created if missing and locked (provider level,
    in id order), then every row of theirs rebuilt from their signals in one statement,
    then their rows left without signals put back to the prior. Returns (jobs counted,
    rows written)."""
    now_ts = now.timestamp()
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql = scoresql.recompute_sql(
        vendor=connection.vendor,
        provider_filter=signal_filter,
        exclude_flagged=exclude_flagged,
        half_life_seconds=half_life_seconds(),
    )
    with transaction.atomic():
        ReputationScore.objects.bulk_create(
            [
                ReputationScore(participant_id=pid, scope=Scope.PROVIDER, scope_key="")
                for pid in provider_ids
            ],
            batch_size=1_000,
            ignore_conflicts=True,
        )
        list(
            ReputationScore.objects.select_for_update()
            .filter(participant_id__in=provider_ids, scope=Scope.PROVIDER, scope_key="")
            .order_by("participant_id")
            .values_list("pk", flat=True)
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [now_ts, *params, now_ts, stamp, stamp, stamp])
            rows = cursor.rowcount
        written = ReputationScore.objects.filter(scores)
        jobs = (
            written.filter(scope=Scope.PROVIDER, decay_ref=now_ts).aggregate(n=Sum("total_jobs"))[
                "n"
            ]
            or 0
        )
        _reset_stale(written, now, now_ts)
    return int(jobs), rows


def _reset_stale(rows: QuerySet[ReputationScore], now: datetime, now_ts: float) -> None:
    """Rows the recompute did not write that still hold something go back to the prior
    (their signals are now all between flagged parties)."""
    has_history = Q(total_jobs__gt=0) | Q(decay_ref__gt=0)
    rows.filter(has_history).exclude(decay_ref=now_ts).update(
        composite=scoring.DEFAULT_SCORE,
        quality=scoring.DEFAULT_SCORE,
        speed=scoring.DEFAULT_SCORE,
        reliability=scoring.DEFAULT_SCORE,
        communication=scoring.DEFAULT_SCORE,
        confidence=0.0,
        total_jobs=0,
        completed_jobs=0,
        **dict.fromkeys(scoresql.ACCUMULATED, 0.0),
        decay_ref=0.0,
        computed_at=now,
        updated_at=now,
    )


def _any_active_flag() -> bool:
    return SybilFlag.objects.filter(status__in=ACTIVE_FLAGS).exists()


def recompute_providers(ids: Iterable[int], *, now: datetime | None = None) -> RecomputeReport:
    """Rebuild every score row of these providers from their signals, in one transaction
    holding their provider rows (after a flag moves)."""
    wanted = sorted(set(ids))
    if not wanted:
        return RecomputeReport(0, 0, 0)
    placeholders = ", ".join(["%s"] * len(wanted))
    jobs, rows = _recompute(
        f"s.provider_id IN ({placeholders})",
        wanted,
        wanted,
        Q(participant_id__in=wanted),
        now=now or timezone.now(),
        exclude_flagged=_any_active_flag(),
    )
    return RecomputeReport(providers=len(wanted), jobs=jobs, rows=rows)


def recompute_all(*, now: datetime | None = None) -> RecomputeReport:
    """Rebuild every provider's scores from the signals (every 30 minutes): a range of
    `RECOMPUTE_CHUNK` providers per transaction and statement."""
    now = now or timezone.now()
    exclude_flagged = _any_active_flag()
    with_signals = set(Signal.objects.order_by().values_list("provider_id", flat=True).distinct())
    with_history = set(
        ReputationScore.objects.filter(Q(total_jobs__gt=0) | Q(decay_ref__gt=0))
        .order_by()
        .values_list("participant_id", flat=True)
        .distinct()
    )
    ids = sorted(with_signals | with_history)
    jobs = rows = 0
    for start in range(0, len(ids), RECOMPUTE_CHUNK):
        chunk = ids[start : start + RECOMPUTE_CHUNK]
        chunk_jobs, chunk_rows = _recompute(
            "s.provider_id BETWEEN %s AND %s",
            [chunk[0], chunk[-1]],
            chunk,
            Q(participant_id__gte=chunk[0], participant_id__lte=chunk[-1]),
            now=now,
            exclude_flagged=exclude_flagged,
        )
        jobs += chunk_jobs
        rows += chunk_rows
    return RecomputeReport(providers=len(ids), jobs=jobs, rows=rows)
