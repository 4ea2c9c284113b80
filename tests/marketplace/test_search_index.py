"""The full-text index objects survive what migrations do to the table."""

from __future__ import annotations

import pytest
from django.db import connection

from marketplace import search
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps the index by triggers")
def test_install_restores_dropped_triggers_and_reindexes(api) -> None:
    ServiceFactory(name="Before")
    with connection.cursor() as cursor:  # what a table rebuild by a migration does
        for kind in ("ai", "ad", "au"):
            cursor.execute(f"DROP TRIGGER {search.FTS_TABLE}_{kind}_v2")
    ServiceFactory(name="Orphan listing")
    search.install(connection)
    assert [s["name"] for s in api.get("/v1/services/catalog?q=orphan").json()["services"]] == [
        "Orphan listing"
    ]
    ServiceFactory(name="After listing")
    assert api.get("/v1/services/catalog?q=listing").json()["total"] == 2


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


def test_optimize_keeps_results(api) -> None:
    ServiceFactory(name="Kept listing")
    search.optimize(connection)
    assert api.get("/v1/services/catalog?q=kept").json()["total"] == 1
