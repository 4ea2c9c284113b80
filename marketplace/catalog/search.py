"""Full-text search over the catalog, with the same behaviour on SQLite and PostgreSQL.

* SQLite: an FTS5 external-content table (`porter unicode61` tokenizer, so `audits` finds
  `audit`) holding the active services, kept in step with `marketplace_service` by
  triggers, ranked with bm25 (name 10 > tags 4 > category 2 > description 1).
* PostgreSQL: a stored generated `tsvector` column (english configuration plus unaccent,
  weights name A > tags and category B > description C) with a GIN index, ranked with
  `ts_rank`.

Both engines get the same query: the words of `q` minus English stop words, all required.
Stop words are removed here rather than by the engine because FTS5 does not know them and
PostgreSQL drops them silently; removing them on our side gives both the same answer.
The index objects live outside Django's model state and are installed idempotently by a
migration and again after every `migrate` (SQLite table rebuilds drop triggers).

A ranked search on SQLite is one query with the index as its driving table: each match is
checked against the other filters by one seek into a narrow index of the filtered columns.
Joining the other way round (services first, then probing the index per row) costs seconds
at 100k services, and building the list of every service the filters allow costs as much
as that list is long (40 ms for a price filter alone).

A broad word (one in most listings) must not cost what its matches cost: ranking scores
only a bounded candidate set, the `CANDIDATES` newest matches (the index's own order on both
engines, so finding them stops after that many), and ranks those by bm25 / ts_rank; the
matches past them follow, newest first. The number of matches is counted up to
`EXACT_TOTAL_UP_TO`; above it, it is estimated from how far down the ids the counted
matches reached (`Ranked.total_is_estimate`). A query with fewer matches than
`CANDIDATES` is ranked and counted exactly, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

Sql = tuple[str, list[Any]]

TABLE = "marketplace_service"
FTS_TABLE = "marketplace_service_fts"
MAX_TERMS = 12
# Ranking scores at most this many matches (the newest): see the module docstring.
CANDIDATES = 1_000
# Totals are exact up to this many matches, estimated above.
EXACT_TOTAL_UP_TO = 10_000


@dataclass(frozen=True)
class Ranked:
    """One page of a ranked search: its ids in order, and the number of every match."""

    ids: list[int]
    total: int
    total_is_estimate: bool = False


def _ranked_page(
    candidates: list[tuple[int, float]],
    limit: int,
    offset: int,
    *,
    lower_is_better: bool,
    tail: Callable[[int, int, int], list[int]],
    count: Callable[[], tuple[int, bool]],
) -> Ranked:
    """The page from the newest matches with their scores (`candidates`, at most
    `CANDIDATES` of them): those ranked by score, then newest first on ties; the matches
    past them newest first (`tail(below_id, limit, offset)`), counted by `count()`."""
    sign = 1 if lower_is_better else -1
    ranked = [pk for pk, _ in sorted(candidates, key=lambda row: (sign * row[1], -row[0]))]
    if len(candidates) < CANDIDATES:
        return Ranked(ranked[offset : offset + limit], len(candidates))
    ids = ranked[offset : offset + limit]
    if len(ids) < limit:  # the page reaches past the candidates: the older matches
        ids += tail(min(ranked), limit - len(ids), max(0, offset - CANDIDATES))
    total, estimate = count()
    return Ranked(ids, total, estimate)


def _estimated_total(counted: int, lowest_id: int | None) -> tuple[int, bool]:
    """The number of matches from a count that stopped after `EXACT_TOTAL_UP_TO + 1`
    matches, newest first, at `lowest_id`: exact below, extrapolated over the ids above."""
    if counted <= EXACT_TOTAL_UP_TO or lowest_id is None:
        return counted, False
    # Two scalar subqueries: each is one step along the primary key (SQLite scans the table
    # for min() and max() in one SELECT).
    low, high = _rows(f"SELECT (SELECT min(id) FROM {TABLE}), (SELECT max(id) FROM {TABLE})", [])[0]
    high, low = high or lowest_id, low or lowest_id
    # The counted matches lie in [lowest_id, high]; assume the rest are as dense below.
    return counted * (high - low + 1) // (high - lowest_id + 1), True


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


class _SqliteFts5:
    _COLUMNS = "name, description, category, tags"
    # Every column a catalog filter reads, keyed by id: checking a match against the filters
    # is one seek into this narrow index instead of into the wide table row.
    FILTER_INDEX = "service_filter_idx"
    _FILTER_INDEX_COLUMNS = "id, status, category, price_micros, service_type, provider_id"
    VERSION = 2  # bump when the triggers change: install() replaces older ones

    @staticmethod
    def _values(row: str) -> str:
        """The indexed values of one row; tags are indexed as words, not as JSON text."""
        tags = f"(SELECT group_concat(value, ' ') FROM json_each({row}.tags))"
        return f"{row}.id, {row}.name, {row}.description, {row}.category, {tags}"

    def install(self, connection: BaseDatabaseWrapper) -> None:
        cols = self._COLUMNS
        # Only active services are indexed: a search needs no look-up of the service row
        # to leave the others out. `INSERT … SELECT … WHERE` makes each step conditional.
        delete_old = (
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {cols}) "
            f"SELECT 'delete', {self._values('old')} WHERE old.status = 'active';"
        )
        insert_new = (
            f"INSERT INTO {FTS_TABLE}(rowid, {cols}) "
            f"SELECT {self._values('new')} WHERE new.status = 'active';"
        )
        changed = " OR ".join(
            f"old.{col} IS NOT new.{col}"
            for col in ("name", "description", "category", "tags", "status")
        )
        triggers = {
            f"{FTS_TABLE}_ai_v{self.VERSION}": f"AFTER INSERT ON {TABLE} BEGIN {insert_new} END",
            f"{FTS_TABLE}_ad_v{self.VERSION}": f"AFTER DELETE ON {TABLE} BEGIN {delete_old} END",
            f"{FTS_TABLE}_au_v{self.VERSION}": (
                f"AFTER UPDATE ON {TABLE} WHEN {changed} BEGIN {delete_old} {insert_new} END"
            ),
        }
        with connection.cursor() as cursor:
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS "{self.FILTER_INDEX}" '
                f'ON "{TABLE}" ({self._FILTER_INDEX_COLUMNS})'
            )
            # External content: the index stores only tokens; its rowid is the service's id.
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({cols}, "
                f"content='{TABLE}', content_rowid='id', "
                "tokenize='porter unicode61 remove_diacritics 2')"
            )
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
            present = {row[0] for row in cursor.fetchall()}
            if present == set(triggers):
                return
            # Triggers of another version, or none (a new install, or a table rebuilt by a
            # migration, which drops them): recreate them and index every active row afresh.
            for name in present:
                cursor.execute(f'DROP TRIGGER "{name}"')
            for name, body in triggers.items():
                cursor.execute(f'CREATE TRIGGER "{name}" {body}')
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')")
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}(rowid, {cols}) "
                f"SELECT {self._values(TABLE)} FROM {TABLE} WHERE status = 'active'"
            )

    @staticmethod
    def _match(terms: list[str]) -> str:
        # Each term is a quoted FTS5 string, so no user text is read as query syntax.
        return " ".join('"' + term.replace('"', '""') + '"' for term in terms)

    def _where(self, terms: list[str], within: QuerySet[Any] | None) -> Sql:
        # The index holds only active services, so without other filters it is searched
        # alone. Other filters are checked per match, by a seek into the filter index:
        # the cost follows the number of matches, however many services pass the filters.
        where, params = f"{FTS_TABLE} MATCH %s", [self._match(terms)]
        if within is not None:
            this_match = within.filter(id=RawSQL(f"{FTS_TABLE}.rowid", ()))  # noqa: S611
            sql, within_params = this_match.values("id").query.sql_with_params()
            # SQLite would seek the table by its primary key; the narrow index holds all
            # the filters need.
            table = f'FROM "{TABLE}"'
            sql = sql.replace(table, f'{table} INDEXED BY "{self.FILTER_INDEX}"', 1)
            where += f" AND EXISTS ({sql})"
            params += list(within_params)
        return where, params

    def matching_ids(self, terms: list[str]) -> Sql:
        return f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [self._match(terms)]

    def ranked_page(
        self, terms: list[str], within: QuerySet[Any] | None, limit: int, offset: int
    ) -> Ranked:
        where, params = self._where(terms, within)
        # FTS5 walks its matches in rowid order and stops at the LIMIT: bm25 (lower is
        # better; weights name, description, category, tags) is computed for those only.
        candidates = _rows(
            f"SELECT rowid, bm25({FTS_TABLE}, 10.0, 1.0, 2.0, 4.0) FROM {FTS_TABLE} "
            f"WHERE {where} ORDER BY rowid DESC LIMIT %s",
            [*params, CANDIDATES],
        )

        def tail(below: int, count: int, skip: int) -> list[int]:
            rows = _rows(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {where} AND {FTS_TABLE}.rowid < %s "
                "ORDER BY rowid DESC LIMIT %s OFFSET %s",
                [*params, below, count, skip],
            )
            return [row[0] for row in rows]

        return _ranked_page(
            candidates,
            limit,
            offset,
            lower_is_better=True,
            tail=tail,
            count=lambda: self.count(terms, within),
        )

    def count(self, terms: list[str], within: QuerySet[Any] | None) -> tuple[int, bool]:
        where, params = self._where(terms, within)
        counted, lowest = _rows(
            f"SELECT count(*), min(id) FROM (SELECT rowid AS id FROM {FTS_TABLE} "
            f"WHERE {where} ORDER BY rowid DESC LIMIT %s)",
            [*params, EXACT_TOTAL_UP_TO + 1],
        )[0]
        return _estimated_total(counted, lowest)


class _PostgresTsvector:
    # The english configuration plus unaccent, so `cafe` finds `Café` as FTS5's
    # remove_diacritics does on SQLite.
    CONFIG = "the402_search"
    _VECTOR = (
        f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce(name, '')), 'A') || "
        f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce(tags::text, '')), 'B') || "
        f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce(category, '')), 'B') || "
        f"setweight(to_tsvector('{CONFIG}'::regconfig, coalesce(description, '')), 'C')"
    )
    _QUERY = f"plainto_tsquery('{CONFIG}'::regconfig, %s)"

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

    def _matches(self, terms: list[str], within: QuerySet[Any] | None) -> QuerySet[Any]:
        # PostgreSQL plans the match and the other filters as one scan of the table.
        from marketplace.models import Service

        qs = within if within is not None else Service.objects.active()
        match = RawSQL(  # noqa: S611 - fixed SQL, the words are a parameter
            f"{TABLE}.search_vector @@ {self._QUERY}",
            [" ".join(terms)],
            output_field=BooleanField(),
        )
        return qs.filter(match)

    def matching_ids(self, terms: list[str]) -> Sql:
        return f"SELECT id FROM {TABLE} WHERE search_vector @@ {self._QUERY}", [" ".join(terms)]

    def ranked_page(
        self, terms: list[str], within: QuerySet[Any] | None, limit: int, offset: int
    ) -> Ranked:
        matches = self._matches(terms, within).order_by("-id")
        vector = RawSQL(f"{TABLE}.search_vector", ())  # noqa: S611 - fixed SQL
        newest = matches.annotate(sv=vector).values_list("id", "sv")[:CANDIDATES]
        sql, params = newest.query.sql_with_params()
        # ts_rank reads each vector, so it runs over the newest matches only (the inner
        # LIMIT); normalisation 1 divides by 1 + log(length), as bm25 dampens long
        # descriptions.
        candidates = _rows(
            f"SELECT id, ts_rank(sv, {self._QUERY}, 1) FROM ({sql}) AS candidates",
            [" ".join(terms), *params],
        )

        def tail(below: int, count: int, skip: int) -> list[int]:
            older = matches.filter(id__lt=below).values_list("id", flat=True)
            return list(older[skip : skip + count])

        return _ranked_page(
            candidates,
            limit,
            offset,
            lower_is_better=False,
            tail=tail,
            count=lambda: self.count(terms, within),
        )

    def count(self, terms: list[str], within: QuerySet[Any] | None) -> tuple[int, bool]:
        newest = self._matches(terms, within).order_by("-id").values("id")
        sql, params = newest[: EXACT_TOTAL_UP_TO + 1].query.sql_with_params()
        counted, lowest = _rows(f"SELECT count(*), min(id) FROM ({sql}) AS newest", list(params))[0]
        return _estimated_total(counted, lowest)


class SearchBackend(Protocol):
    def install(self, connection: BaseDatabaseWrapper) -> None: ...

    def matching_ids(self, terms: list[str]) -> Sql:
        """SQL selecting the ids of services matching every term (at least the active ones)."""

    def ranked_page(
        self, terms: list[str], within: QuerySet[Any] | None, limit: int, offset: int
    ) -> Ranked:
        """One page of matching active services, best first, newest first on ties, and the
        number of matches (see the module docstring for the bound on what is ranked).

        `within` is the active services other filters allow; None means all of them.
        """

    def count(self, terms: list[str], within: QuerySet[Any] | None) -> tuple[int, bool]:
        """How many active services (within `within`) match, and whether that is an
        estimate (above `EXACT_TOTAL_UP_TO`)."""


def _rows(sql: str, params: list[Any]) -> list[Any]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def backend(connection: BaseDatabaseWrapper) -> SearchBackend:
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


def optimize(connection: BaseDatabaseWrapper) -> None:
    """Compact the index after bulk writes (SQLite merges FTS5 segments; PostgreSQL vacuums).

    Row-by-row inserts leave FTS5 with many small segments, which makes ranked queries about
    twice as slow until they are merged. On PostgreSQL, freshly written rows are not yet in
    the visibility map, so counts and id pages cannot be read from indexes alone until a
    vacuum (autovacuum gets there later); inside a transaction only ANALYZE is possible.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
            cursor.execute("ANALYZE")
        elif connection.in_atomic_block:
            cursor.execute(f"ANALYZE {TABLE}")
        else:
            from payments.models import Participant
            from reputation.models import ReputationScore

            # Every table a catalog query reads.
            tables = [TABLE, Participant._meta.db_table, ReputationScore._meta.db_table]
            cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
