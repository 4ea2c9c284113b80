"""Full-text search over products, on the catalog's machinery (`catalog.search`): the same
query words (`search_terms`: stop words out, all required), FTS5 with porter stemming on
SQLite, the catalog's `the402_search` configuration (english stemming plus unaccent) on
PostgreSQL. Only the index objects are the products' own: an FTS5 external-content table
kept by triggers, or a generated `tsvector` column with a GIN index, installed by a
migration and again after every migrate."""

from __future__ import annotations

from typing import Any

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import FloatField, QuerySet
from django.db.models.expressions import RawSQL

from marketplace.catalog import search as catalog_search

TABLE = "marketplace_product"
FTS_TABLE = "marketplace_product_fts"
_COLUMNS = "name, description, category, tags"


def _values(row: str) -> str:
    tags = f"(SELECT group_concat(value, ' ') FROM json_each({row}.tags))"
    return f"{row}.id, {row}.name, {row}.description, {row}.category, {tags}"


def _install_sqlite(conn: BaseDatabaseWrapper) -> None:
    delete_old = (
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) SELECT 'delete', "
        f"{_values('old')};"
    )
    insert_new = f"INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) SELECT {_values('new')};"
    triggers = {
        f"{FTS_TABLE}_ai": f"AFTER INSERT ON {TABLE} BEGIN {insert_new} END",
        f"{FTS_TABLE}_ad": f"AFTER DELETE ON {TABLE} BEGIN {delete_old} END",
        f"{FTS_TABLE}_au": f"AFTER UPDATE ON {TABLE} BEGIN {delete_old} {insert_new} END",
    }
    with conn.cursor() as cursor:
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({_COLUMNS}, "
            f"content='{TABLE}', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE]
        )
        present = {row[0] for row in cursor.fetchall()}
        if present == set(triggers):
            return
        for name in present:
            cursor.execute(f'DROP TRIGGER "{name}"')
        for name, body in triggers.items():
            cursor.execute(f'CREATE TRIGGER "{name}" {body}')
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


_PG = catalog_search._PostgresTsvector
_PG_VECTOR = (
    f"setweight(to_tsvector('{_PG.CONFIG}'::regconfig, coalesce(name, '')), 'A') || "
    f"setweight(to_tsvector('{_PG.CONFIG}'::regconfig, coalesce(tags::text, '')), 'B') || "
    f"setweight(to_tsvector('{_PG.CONFIG}'::regconfig, coalesce(category, '')), 'B') || "
    f"setweight(to_tsvector('{_PG.CONFIG}'::regconfig, coalesce(description, '')), 'C')"
)


def _install_postgres(conn: BaseDatabaseWrapper) -> None:
    catalog_search.install(conn)  # the text search configuration both indexes use
    with conn.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS search_vector tsvector "
            f"GENERATED ALWAYS AS ({_PG_VECTOR}) STORED"
        )
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {TABLE}_search_gin ON {TABLE} USING gin (search_vector)"
        )


def install(conn: BaseDatabaseWrapper) -> None:
    if conn.vendor == "sqlite":
        _install_sqlite(conn)
    elif conn.vendor == "postgresql":
        _install_postgres(conn)


def install_after_migrate(*, using: str = "default", **kwargs: Any) -> None:
    conn = connections[using]
    if TABLE in conn.introspection.table_names():
        install(conn)


def search(products: QuerySet[Any], q: str) -> QuerySet[Any] | None:
    """`products` narrowed to those matching every word of `q`, annotated `search_rank`
    (higher is better); None when `q` has no searchable word."""
    terms = catalog_search.search_terms(q)
    if not terms:
        return None
    if connection.vendor == "sqlite":
        match = catalog_search._SqliteFts5._match(terms)
        ids = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])  # noqa: S611
        rank = RawSQL(  # noqa: S611 - fixed SQL, the words are a parameter
            f"(SELECT -bm25({FTS_TABLE}, 10.0, 1.0, 2.0, 4.0) FROM {FTS_TABLE} "
            f"WHERE {FTS_TABLE} MATCH %s AND {FTS_TABLE}.rowid = {TABLE}.id)",
            [match],
            output_field=FloatField(),
        )
        return products.filter(id__in=ids).annotate(search_rank=rank)
    query = f"plainto_tsquery('{_PG.CONFIG}'::regconfig, %s)"
    words = " ".join(terms)
    ids = RawSQL(f"SELECT id FROM {TABLE} WHERE search_vector @@ {query}", [words])  # noqa: S611
    rank = RawSQL(  # noqa: S611
        f"ts_rank({TABLE}.search_vector, {query}, 1)", [words], output_field=FloatField()
    )
    return products.filter(id__in=ids).annotate(search_rank=rank)
