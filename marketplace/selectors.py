"""Reads of the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db import connection
from django.db.models import F, FilteredRelation, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from marketplace import search
from marketplace.models import Service
from payments.selectors import participant_lookup_filter
from reputation.models import DEFAULT_SCORE, NEW_PROVIDER_CONFIDENCE, ReputationScore
from the402.lib.money import max_provider_price_within

Sort = Literal["relevance", "price_asc", "price_desc", "reputation", "newest"]
SORTS: tuple[str, ...] = ("relevance", "price_asc", "price_desc", "reputation", "newest")

_ORDERING: dict[str, tuple[str, ...]] = {
    "relevance": ("-search_rank", "-listed_at", "-id"),
    "price_asc": ("price_micros", "id"),
    "price_desc": ("-price_micros", "-id"),
    "reputation": ("-provider_reputation", "-provider_confidence", "-listed_at", "-id"),
    "newest": ("-listed_at", "-id"),
}


@dataclass(frozen=True)
class CatalogQuery:
    q: str = ""
    category: str | None = None
    service_type: str | None = None
    max_price_micros: int | None = None
    provider: str | None = None
    min_reputation: float | None = None
    min_confidence: float | None = None
    include_new: bool = True
    sort: Sort | None = None
    limit: int = 20
    offset: int = 0

    @property
    def effective_sort(self) -> str:
        """Relevance needs words to rank by; without `q` the catalog lists newest first."""
        if self.sort and (self.sort != "relevance" or self.q_terms):
            return self.sort
        return "relevance" if self.q_terms else "newest"

    @property
    def q_terms(self) -> list[str]:
        return search.search_terms(self.q)


@dataclass(frozen=True)
class CatalogPage:
    total: int
    services: list[Service]


def _with_provider_reputation(qs: QuerySet[Service]) -> QuerySet[Service]:
    """Annotate each service with its provider's stored provider-level reputation."""
    return qs.annotate(
        provider_score=FilteredRelation(
            "provider__reputation_scores",
            condition=Q(
                provider__reputation_scores__scope=ReputationScore.Scope.PROVIDER,
                provider__reputation_scores__scope_key="",
            ),
        ),
        provider_reputation=Coalesce(F("provider_score__composite"), Value(DEFAULT_SCORE)),
        provider_confidence=Coalesce(F("provider_score__confidence"), Value(0.0)),
        provider_quality=Coalesce(F("provider_score__quality"), Value(DEFAULT_SCORE)),
        provider_speed=Coalesce(F("provider_score__speed"), Value(DEFAULT_SCORE)),
        provider_reliability=Coalesce(F("provider_score__reliability"), Value(DEFAULT_SCORE)),
        provider_communication=Coalesce(F("provider_score__communication"), Value(DEFAULT_SCORE)),
        provider_total_jobs=Coalesce(F("provider_score__total_jobs"), Value(0)),
        provider_completed_jobs=Coalesce(F("provider_score__completed_jobs"), Value(0)),
    )


def _matching(query: CatalogQuery, *, ranked: bool) -> QuerySet[Service]:
    """Active services matching every filter of `query`, joining only what filters need.

    With `ranked`, each row also carries its full-text `search_rank`.
    """
    qs = Service.objects.active()
    if query.effective_sort == "reputation" or (
        query.min_reputation is not None
        or query.min_confidence is not None
        or not query.include_new
    ):
        qs = _with_provider_reputation(qs)
    terms = query.q_terms
    if query.q and not terms:
        return qs.none()  # only stop words or punctuation: nothing to search for
    if terms:
        clause = search.backend(connection).clause(terms)
        qs = qs.extra(  # noqa: S610 - fixed SQL from marketplace.search, user text as params
            select={"search_rank": clause.rank_sql} if ranked else None,
            select_params=clause.rank_params if ranked else None,
            tables=clause.tables,
            where=clause.where,
            params=clause.params,
        )
    if query.category:
        qs = qs.filter(category=query.category.lower())
    if query.service_type:
        qs = qs.filter(service_type=query.service_type)
    if query.max_price_micros is not None:
        qs = qs.filter(price_micros__lte=max_provider_price_within(query.max_price_micros))
    if query.provider:
        provider_filter = participant_lookup_filter(query.provider)
        qs = qs.filter(**{f"provider__{k}": v for k, v in provider_filter.items()})
    if query.min_reputation is not None:
        qs = qs.filter(provider_reputation__gte=query.min_reputation)
    if query.min_confidence is not None:
        qs = qs.filter(provider_confidence__gte=query.min_confidence)
    if not query.include_new:
        qs = qs.filter(provider_confidence__gte=NEW_PROVIDER_CONFIDENCE)
    return qs


def catalog_search(query: CatalogQuery) -> CatalogPage:
    """One page of the catalog and the total number of matching services.

    The page is found in two steps: the ids of the page in order (a narrow query, cheap to
    sort however many services match), then those rows with provider and reputation.
    """
    sort = query.effective_sort
    ordered = _matching(query, ranked=sort == "relevance").order_by(*_ORDERING[sort])
    ids = list(ordered.values_list("id", flat=True)[query.offset : query.offset + query.limit])
    rows = _with_provider_reputation(Service.objects.select_related("provider")).in_bulk(ids)
    services = [rows[pk] for pk in ids]
    if len(ids) < query.limit and (ids or query.offset == 0):
        total = query.offset + len(ids)  # the last page: no count query needed
    else:
        total = _matching(query, ranked=False).count()
    return CatalogPage(total=total, services=services)


def service_get(public_id: str) -> Service | None:
    """Any listed service (active or not) with its provider's reputation annotated."""
    qs = _with_provider_reputation(Service.objects.select_related("provider"))
    return qs.filter(public_id=public_id).first()
