"""Full-text search over the catalog, with the same behaviour on SQLite and PostgreSQL.

* SQLite: an FTS5 external-content table (`porter unicode61` tokenizer, so `audits` finds
  `audit`), kept in step with `marketplace_service` by triggers, ranked with bm25.
* PostgreSQL: a stored generated `tsvector` column (english configuration, weights
  name A > tags and category B > description C) with a GIN index, ranked with `ts_rank`.

Both engines get the same query: the words of `q` minus English stop words, all required.
Stop words are removed here rather than by the engine because FTS5 does not know them and
PostgreSQL drops them silently; removing them on our side gives both the same answer.
The index objects live outside Django's model state and are installed idempotently by a
migration and again after every `migrate` (SQLite table rebuilds drop triggers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "marketplace_service"
FTS_TABLE = "marketplace_service_fts"
MAX_TERMS = 12

# PostgreSQL's english.stop list, so both engines ignore the same words.
STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now
    """.split()
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def search_terms(q: str) -> list[str]:
    """The words of a query that both engines search for (lowercased, stop words removed)."""
    words = [w for w in _WORD.findall(q.lower()) if w not in STOP_WORDS]
    return list(dict.fromkeys(words))[:MAX_TERMS]


@dataclass(frozen=True)
class SearchClause:
    """SQL fragments for `QuerySet.extra`: a rank to select, a join and a match condition."""

    rank_sql: str
    rank_params: list[Any]
    tables: list[str]
    where: list[str]
    params: list[Any]


class _SqliteFts5:
    _COLUMNS = "name, description, category, tags"

    @staticmethod
    def _values(row: str) -> str:
        """The indexed values of one row; tags are indexed as words, not as JSON text."""
        tags = f"(SELECT group_concat(value, ' ') FROM json_each({row}.tags))"
        return f"{row}.id, {row}.name, {row}.description, {row}.category, {tags}"

    def install(self, connection: BaseDatabaseWrapper) -> None:
        cols = self._COLUMNS
        delete_old = (
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {cols}) "
            f"VALUES ('delete', {self._values('old')});"
        )
        insert_new = f"INSERT INTO {FTS_TABLE}(rowid, {cols}) VALUES ({self._values('new')});"
        changed = " OR ".join(
            f"old.{col} IS NOT new.{col}" for col in ("name", "description", "category", "tags")
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master "
                "WHERE type = 'trigger' AND name IN (%s, %s, %s)",
                [f"{FTS_TABLE}_ai", f"{FTS_TABLE}_ad", f"{FTS_TABLE}_au"],
            )
            triggers_present = cursor.fetchone()[0] == 3
            # External content: the index stores only tokens; its rowid is the service's id.
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({cols}, "
                f"content='{TABLE}', content_rowid='id', "
                "tokenize='porter unicode61 remove_diacritics 2')"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {TABLE} "
                f"BEGIN {insert_new} END"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {TABLE} "
                f"BEGIN {delete_old} END"
            )
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE ON {TABLE} "
                f"WHEN {changed} BEGIN {delete_old} {insert_new} END"
            )
            if not triggers_present:
                # Rows may have been written while the triggers were missing (a new install,
                # or a table rebuild by a migration): index every row afresh.
                cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
                cursor.execute(
                    f"INSERT INTO {FTS_TABLE}(rowid, {cols}) "
                    f"SELECT {self._values(TABLE)} FROM {TABLE}"
                )

    def clause(self, terms: list[str]) -> SearchClause:
        # Each term is a quoted FTS5 string, so no user text is read as query syntax.
        match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        return SearchClause(
            # bm25 is lower-is-better; weights per column: name, description, category, tags.
            rank_sql=f"-bm25({FTS_TABLE}, 10.0, 1.0, 2.0, 4.0)",
            rank_params=[],
            tables=[FTS_TABLE],
            # The unary + keeps SQLite from probing the FTS table once per service row (a
            # plan it picks for counts, costing seconds at 100k rows): the index is always
            # the outer loop, and services are looked up by primary key.
            where=[f"{TABLE}.id = +{FTS_TABLE}.rowid", f"{FTS_TABLE} MATCH %s"],
            params=[match],
        )


class _PostgresTsvector:
    # The english configuration plus unaccent, so `cafe` finds `Café` as FTS5's
    # remove_diacritics does on SQLite.
    CONFIG = "the402_search"
    _VECTOR = (
        "setweight(to_tsvector('{cfg}'::regconfig, coalesce(name, '')), 'A') || "
        "setweight(to_tsvector('{cfg}'::regconfig, coalesce(tags::text, '')), 'B') || "
        "setweight(to_tsvector('{cfg}'::regconfig, coalesce(category, '')), 'B') || "
        "setweight(to_tsvector('{cfg}'::regconfig, coalesce(description, '')), 'C')"
    ).format(cfg=CONFIG)

    def install(self, connection: BaseDatabaseWrapper) -> None:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            cursor.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", [self.CONFIG])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {self.CONFIG} (COPY = english)")
                cursor.execute(
                    f"ALTER TEXT SEARCH CONFIGURATION {self.CONFIG} "
                    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
                )
            cursor.execute(
                f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS search_vector tsvector "
                f"GENERATED ALWAYS AS ({self._VECTOR}) STORED"
            )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {TABLE}_search_gin "
                f"ON {TABLE} USING gin (search_vector)"
            )

    def clause(self, terms: list[str]) -> SearchClause:
        query = f"plainto_tsquery('{self.CONFIG}'::regconfig, %s)"
        text = " ".join(terms)
        return SearchClause(
            # Normalisation 1 divides by 1 + log(length), as bm25 dampens long descriptions.
            rank_sql=f"ts_rank({TABLE}.search_vector, {query}, 1)",
            rank_params=[text],
            tables=[],
            where=[f"{TABLE}.search_vector @@ {query}"],
            params=[text],
        )


def backend(connection: BaseDatabaseWrapper) -> _SqliteFts5 | _PostgresTsvector:
    if connection.vendor == "sqlite":
        return _SqliteFts5()
    if connection.vendor == "postgresql":
        return _PostgresTsvector()
    raise NotImplementedError(f"full-text search is not implemented for {connection.vendor}")


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the full-text index objects if missing (idempotent)."""
    backend(connection).install(connection)


def install_after_migrate(*, using: str = "default", **kwargs: Any) -> None:
    connection = connections[using]
    if TABLE in connection.introspection.table_names():
        install(connection)
