"""Reputation at scale: a full recompute and a sybil scan of 1,000,000 job signals over
10,000 providers, and one incremental update.

Run through `make bench` (or `python -m benchmarks.reputation`; `--seed-only` seeds and
stops). Signals are seeded once, with plain multi-row inserts, into a benchmark database of
its own, as the marketplace records them (`Signal` rows: released, failed and disputed jobs,
data API calls), and reused by later runs. Every job falls inside the sybil window (the last 28
days), so the scan reads all of them; 20 rings of three providers buying from each other
are among them, which the scan flags on its first run (their jobs then stop counting). The
scan runs without the chain (the funding check reads `eth_getLogs` per new pair and is
cached; the tests exercise it against anvil).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.catalog import _create_postgres_database

JOBS = int(os.environ.get("BENCH_REPUTATION_JOBS", "1000000"))
PROVIDERS = int(os.environ.get("BENCH_REPUTATION_PROVIDERS", "10000"))
BUYERS = PROVIDERS
RINGS = 20
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
TARGET_RECOMPUTE_S = 60.0
TARGET_SCAN_S = 60.0
TARGET_INCREMENTAL_MS = 5.0
PREFIX = "bench-rep"
REFERENCE = "bj2_"  # this seed's job references (an older seed is replaced)
TYPES = ("data_api", "automated_service", "human_service")
DELIVERY = {"data_api": None, "automated_service": 600.0, "human_service": 172_800.0}
COLUMNS = (
    "provider_id",
    "buyer_id",
    "service_public_id",
    "service_type",
    "kind",
    "reference",
    "quality",
    "speed",
    "reliability",
    "communication",
    "weight",
    "is_job",
    "completed",
    "amount_micros",
    "occurred_at",
    "created_at",
    "feedback",
)


def _job(
    rng: random.Random, n: int, provider: int, buyer: int, service_type: str, when: object
) -> tuple[Any, ...]:
    """One job end as `reputation.services` would record it: mostly released (rated or
    not, on time or late), some failed, a few disputes; data API calls answered or not."""
    from reputation.services import job_end_values

    service = f"svc_{provider:012x}{TYPES.index(service_type):04x}"
    values: tuple[float | None, float | None, float | None]
    if service_type == "data_api":
        roll = rng.random()
        if roll < 0.95:
            latency = rng.lognormvariate(6.0, 0.8)  # median 400 ms
            kind, values, done = "data_api_answered", (1.0, min(1.0, 1000 / latency), 1.0), True
        else:
            kind, values, done = "data_api_rejected", (0.0, None, 0.0), False
    else:
        outcome = rng.choices(
            ("released", "failed", "cancelled_by_provider", "dispute_refund", "dispute_split"),
            weights=(88, 5, 2, 3, 2),
        )[0]
        estimate = DELIVERY[service_type] or 60.0
        kind, done, mapped = job_end_values(
            outcome,  # type: ignore[arg-type]
            rating=rng.choice((None, None, 5, 4, 3)),
            delivery_seconds=estimate * rng.uniform(0.3, 1.6),
            estimated_delivery=f"{estimate:.0f} seconds",
            provider_share=rng.random(),
        )
        values = (mapped.get("quality"), mapped.get("speed"), mapped.get("reliability"))
    return (
        provider,
        buyer,
        service,
        service_type,
        kind,
        f"{REFERENCE}{n:016x}",
        *values,
        None,
        1.0,
        True,
        done,
        rng.randrange(10_000, 5_000_000),
        when,
        when,
        "",
    )


def _seed() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from payments.models import Participant
    from reputation.models import Signal

    rng = random.Random(17)  # noqa: S311 - synthetic data
    with transaction.atomic():
        Participant.objects.bulk_create(
            [
                Participant(wallet="0x" + f"{n:040x}", name=f"{PREFIX}-{n}", type="both")
                for n in range(1, PROVIDERS + BUYERS + 1)
            ],
            ignore_conflicts=True,
            batch_size=5_000,
        )
    ids = list(
        Participant.objects.filter(name__startswith=PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    providers, buyers = ids[:PROVIDERS], ids[PROVIDERS:]
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    table = Signal._meta.db_table
    per_row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    rows_per_insert = 500 if connection.vendor == "postgresql" else 999 // len(COLUMNS)

    def write(rows: list[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor:
            for i in range(0, len(rows), rows_per_insert):
                chunk = rows[i : i + rows_per_insert]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES "  # noqa: S608
                    + ", ".join([per_row] * len(chunk)),
                    [value for row in chunk for value in row],
                )

    # Rings: providers p1 -> p2 -> p3 -> p1, three jobs on each edge.
    ring_rows = []
    n = 0
    for r in range(RINGS):
        ring = providers[3 * r : 3 * r + 3]
        for i in range(3):
            for _ in range(3):
                when = adapt(now - timedelta(days=rng.random() * 28))
                ring_rows.append(_job(rng, n, ring[(i + 1) % 3], ring[i], "human_service", when))
                n += 1
    batch: list[tuple[Any, ...]] = []
    with transaction.atomic():
        write(ring_rows)
        for job in range(len(ring_rows), JOBS):
            provider = providers[job % PROVIDERS]
            service_type = TYPES[(job // PROVIDERS) % 3]
            when = adapt(now - timedelta(days=rng.random() * 28))
            batch.append(_job(rng, job, provider, rng.choice(buyers), service_type, when))
            if len(batch) == 50_000:
                write(batch)
                batch = []
        write(batch)


def _point_at_own_database() -> None:
    """A database of its own (the catalog benchmark's providers keep their synthetic
    scores, which a recompute would reset): SQLite in `$THE402_DATA_DIR/bench-reputation`,
    PostgreSQL in `<DATABASE_URL database>_bench_reputation` on the same server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        name = f"{parts.path.lstrip('/') or 'postgres'}_bench_reputation"
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        _create_postgres_database(urlunsplit(parts._replace(path="/postgres")), name)
    else:
        data_dir = Path(os.environ.get("THE402_DATA_DIR", "var")).resolve()
        os.environ["THE402_DATA_DIR"] = str(data_dir / "bench-reputation")


def main() -> int:
    _point_at_own_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "the402.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from reputation import sybil
    from reputation.models import ReputationScore, Signal
    from reputation.services import recompute_all, record_job_end

    call_command("migrate", verbosity=0)
    seeded = Signal.objects.filter(reference__startswith=REFERENCE).count()
    if seeded != JOBS:
        print(f"seeding {JOBS:,} job signals (once; reused by later runs)...", flush=True)
        start = time.perf_counter()
        Signal.objects.all().delete()
        ReputationScore.objects.all().delete()
        _seed()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {Signal._meta.db_table}")
        else:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"seeded in {time.perf_counter() - start:.0f} s", flush=True)
    if "--seed-only" in sys.argv:
        return 0
    load = os.getloadavg()
    print(
        f"{connection.vendor}, {JOBS:,} job signals over {PROVIDERS:,} providers "
        f"(load average before: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f})\n"
    )
    print("| measure | time | target |")
    print("|---|---|---|")
    start = time.perf_counter()
    scan = sybil.scan(check_chain=False)
    scan_s = time.perf_counter() - start
    print(
        f"| sybil scan ({JOBS:,} jobs, {scan.edges:,} trading pairs, {scan.cycles} cycles, "
        f"{len(scan.flags)} new flags) | {scan_s:.1f} s | < {TARGET_SCAN_S:.0f} s |",
        flush=True,
    )
    start = time.perf_counter()
    report = recompute_all()
    recompute_s = time.perf_counter() - start
    print(
        f"| full recompute ({report.jobs:,} jobs counted, {report.rows:,} score rows) "
        f"| {recompute_s:.1f} s | < {TARGET_RECOMPUTE_S:.0f} s |",
        flush=True,
    )
    provider, buyer = (
        Signal.objects.filter(reference__startswith=REFERENCE)
        .order_by("-pk")
        .values_list("provider_id", "buyer_id")
        .first()
    ) or (0, 0)
    # What a job end's transaction does more (the signal row, the flag check, the three
    # score rows; its commit is the job end's own): measured inside a transaction that is
    # then rolled back, so the scores stay as computed.
    samples = []
    for n in range(ROUNDS + 1):
        with transaction.atomic():
            start = time.perf_counter()
            record_job_end(
                provider_id=provider,
                buyer_id=buyer,
                service_public_id=f"svc_{provider:012x}0001",
                service_type="automated_service",
                job_public_id=f"inc_{n:016x}",
                outcome="released",
                rating=5,
                delivery_seconds=300,
                estimated_delivery="10 minutes",
            )
            if n:  # the first warms the statement caches
                samples.append((time.perf_counter() - start) * 1000)
            transaction.set_rollback(True)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    print(
        "| incremental update (`record_job_end`: signal, flag check, three score rows; "
        f"before its commit), p50 / p95 | {statistics.median(samples):.2f} / {p95:.2f} ms "
        f"| < {TARGET_INCREMENTAL_MS:.0f} ms |"
    )
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
