"""The full-text index objects survive what migrations do to the table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.catalog import search
from marketplace.catalog.selectors import CatalogQuery, catalog_search
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps the index by triggers")
def test_install_restores_dropped_triggers_and_reindexes(api) -> None:
    ServiceFactory(name="Before")
    with connection.cursor() as cursor:  # what a table rebuild by a migration does
        for kind in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER {search.FTS_TABLE}_{kind}_v2")
        cursor.execute("DROP INDEX service_filter_idx")
    ServiceFactory(name="Orphan listing")
    search.install(connection)
    assert [s["name"] for s in api.get("/v1/services/catalog?q=orphan").json()["services"]] == [
        "Orphan listing"
    ]
    ServiceFactory(name="After listing")
    assert api.get("/v1/services/catalog?q=listing").json()["total"] == 2


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps the index by triggers")
def test_install_restores_a_dropped_filter_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX service_filter_idx")
    search.install(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'service_filter_idx'")
        assert cursor.fetchone() == (1,)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite query plan")
def test_a_filtered_search_checks_each_match_in_the_filter_index() -> None:
    ServiceFactory(name="Audit listing", category="seo")
    with CaptureQueriesContext(connection) as queries:
        catalog_search(CatalogQuery(q="audit", category="seo", max_price_micros=10**9))
    ranked = next(q["sql"] for q in queries.captured_queries if "bm25" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {ranked}")
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    # One seek per match, not a list of every service the filters allow.
    assert "COVERING INDEX service_filter_idx (id=?" in plan
    assert "LIST SUBQUERY" not in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps the index by triggers")
def test_install_replaces_triggers_of_an_older_version(api) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {search.FTS_TABLE}_ai_v2")
        cursor.execute(
            f"CREATE TRIGGER {search.FTS_TABLE}_ai_v1 AFTER INSERT ON {search.TABLE} BEGIN "
            "SELECT 1; END"
        )
    search.install(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[0] for row in cursor.fetchall()}
    assert f"{search.FTS_TABLE}_ai_v1" not in names
    ServiceFactory(name="Fresh listing")
    assert api.get("/v1/services/catalog?q=fresh").json()["total"] == 1


def test_an_inactive_service_becomes_searchable_when_activated(api) -> None:
    service = ServiceFactory(name="Dormant listing", status="inactive")
    assert api.get("/v1/services/catalog?q=dormant").json()["total"] == 0
    service.status = "active"
    service.save()
    assert api.get("/v1/services/catalog?q=dormant").json()["total"] == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps a tsvector")
def test_postgres_keeps_a_generated_tsvector_with_a_gin_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT is_generated FROM information_schema.columns "
            "WHERE table_name = 'marketplace_service' AND column_name = 'search_vector'"
        )
        assert cursor.fetchone() == ("ALWAYS",)
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'marketplace_service_search_gin'"
        )
        assert "gin" in cursor.fetchone()[0]


def test_install_is_idempotent() -> None:
    search.install(connection)
    search.install(connection)


@pytest.mark.django_db(transaction=True)  # outside a transaction PostgreSQL can vacuum
def test_optimize_keeps_results(api) -> None:
    ServiceFactory(name="Kept listing")
    search.optimize(connection)
    assert api.get("/v1/services/catalog?q=kept").json()["total"] == 1
