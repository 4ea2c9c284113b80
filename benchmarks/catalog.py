"""Catalog latency at 100,000 services: full-text search against a naive scan.

Run through `make bench` (or `python -m benchmarks`). The benchmark database is created,
migrated and seeded once (`seed_bulk`), then reused: SQLite in `$THE402_DATA_DIR/bench`,
PostgreSQL in `<DATABASE_URL database>_bench` on the same server.
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SERVICES = int(os.environ.get("BENCH_SERVICES", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
TARGET_P95_MS = 20.0
TARGET_SPEEDUP = 10.0


def _point_at_bench_database() -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        name = parts.path.lstrip("/") or "postgres"
        bench = parts._replace(path=f"/{name}_bench")
        os.environ["DATABASE_URL"] = urlunsplit(bench)
        _create_postgres_database(urlunsplit(parts._replace(path="/postgres")), f"{name}_bench")
    else:
        data_dir = Path(os.environ.get("THE402_DATA_DIR", "var")).resolve() / "bench"
        os.environ["THE402_DATA_DIR"] = str(data_dir)


def _create_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _timings(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    fn()  # warm caches and connections
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def main() -> int:
    _point_at_bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "the402.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from benchmarks.naive import naive_catalog_search
    from marketplace.catalog import search
    from marketplace.catalog.selectors import CatalogQuery, catalog_search
    from marketplace.demo.bulk import seed_bulk
    from marketplace.models import Service

    call_command("migrate", verbosity=0)
    if Service.objects.count() != SERVICES:
        print(f"seeding {SERVICES:,} services (once; reused by later runs)...", flush=True)
        Service.objects.all().delete()
        seed_bulk(SERVICES)
        search.optimize(connection)

    queries = [
        ("(a) q alone", CatalogQuery(q="seo audit")),
        (
            "(b) q + category + max_price",
            CatalogQuery(q="seo audit", category="seo", max_price_micros=50_000_000),
        ),
        (
            "(c) sort=reputation + min_reputation",
            CatalogQuery(sort="reputation", min_reputation=85),
        ),
        ("(d) deep offset (5,000)", CatalogQuery(offset=5_000)),
        ("(e) q, a word in most listings", CatalogQuery(q="results")),
        ("(f) q + max_price", CatalogQuery(q="seo audit", max_price_micros=50_000_000)),
    ]
    header = (
        "| query | matches | indexed p50 ms | indexed p95 ms | naive p50 ms | naive p95 ms "
        "| speed-up (p95) |"
    )
    print(f"{connection.vendor}, {SERVICES:,} services, {ROUNDS} rounds each\n")
    print(header)
    print("|" + "---|" * 7)
    failures = []
    for label, query in queries:
        total = catalog_search(query).total
        fast = _timings(functools.partial(catalog_search, query), ROUNDS)
        naive = _timings(functools.partial(naive_catalog_search, query), max(5, ROUNDS // 8))
        speedup = naive[1] / fast[1]
        print(
            f"| {label} | {total:,} | {fast[0]:.1f} | {fast[1]:.1f} | {naive[0]:.1f} "
            f"| {naive[1]:.1f} | {speedup:.0f}x |",
            flush=True,
        )
        if label.startswith(("(a)", "(b)")) and (
            fast[1] > TARGET_P95_MS or speedup < TARGET_SPEEDUP
        ):
            failures.append(label)

    client = Client(HTTP_HOST="127.0.0.1")
    http = _timings(lambda: client.get("/v1/services/catalog?q=seo+audit"), ROUNDS)
    print(
        f"\nWhole request `GET /v1/services/catalog?q=seo+audit` (routing, validation, "
        f"serialization of 20 entries): p50 {http[0]:.1f} ms, p95 {http[1]:.1f} ms"
    )
    print(
        f"Targets for the full-text paths (a) and (b): p95 <= {TARGET_P95_MS:.0f} ms and "
        f">= {TARGET_SPEEDUP:.0f}x the naive scan: "
        + ("met" if not failures else "MISSED by " + ", ".join(failures))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
