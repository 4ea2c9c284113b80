"""Reads of the catalog: the search, one service, a provider's own service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django_stubs_ext import WithAnnotations

from marketplace.catalog import search
from marketplace.catalog.models import Service
from payments.models import Participant
from payments.selectors import participant_lookup_filter
from reputation.models import NEW_PROVIDER_CONFIDENCE, ReputationScore
from reputation.selectors import provider_scores
from the402.lib.errors import ApplicationError, NotFound
from the402.lib.money import max_provider_price_within

Sort = Literal["relevance", "price_asc", "price_desc", "reputation", "newest"]
SORTS: tuple[str, ...] = ("relevance", "price_asc", "price_desc", "reputation", "newest")

# Relevance is ordered by the search backend itself (rank, then newest id).
_ORDERING: dict[str, tuple[str, ...]] = {
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
    def q_terms(self) -> list[str]:
        return search.search_terms(self.q)

    @property
    def effective_sort(self) -> str:
        """Relevance needs words to rank by; without `q` the catalog lists newest first."""
        if self.sort and (self.sort != "relevance" or self.q_terms):
            return self.sort
        return "relevance" if self.q_terms else "newest"

    @property
    def filters_by_reputation(self) -> bool:
        return (
            self.min_reputation is not None
            or self.min_confidence is not None
            or not self.include_new
        )

    @property
    def has_filters(self) -> bool:
        """Whether anything besides `q` narrows the active services."""
        return self.filters_by_reputation or any(
            value is not None
            for value in (self.category, self.service_type, self.max_price_micros, self.provider)
        )


@dataclass(frozen=True)
class CatalogPage:
    total: int
    services: list[Service]
    # True when `total` is an estimate: a search with more than
    # `search.EXACT_TOTAL_UP_TO` matches (see marketplace/catalog/search.py).
    total_is_estimate: bool = False


class _ProviderScoreColumns(TypedDict):
    provider_reputation: float
    provider_confidence: float


def _join_provider_score(
    qs: QuerySet[Service],
) -> QuerySet[WithAnnotations[Service, _ProviderScoreColumns]]:
    """Inner-join each service's provider-level score, for filtering and sorting by it.

    Every listed provider has that row (`reputation_ensure_provider`). The inner join lets
    the database walk the score index from the best provider down, instead of scoring and
    sorting every service.
    """
    return qs.filter(
        provider__reputation_scores__scope=ReputationScore.Scope.PROVIDER,
        provider__reputation_scores__scope_key="",
    ).annotate(
        provider_reputation=F("provider__reputation_scores__composite"),
        provider_confidence=F("provider__reputation_scores__confidence"),
    )


def _filtered(query: CatalogQuery) -> QuerySet[Service]:
    """Active services passing every filter of `query` except the text search."""
    qs = Service.objects.active().order_by()
    if query.category:
        qs = qs.filter(category=query.category.lower())
    if query.service_type:
        qs = qs.filter(service_type=query.service_type)
    if query.max_price_micros is not None:
        qs = qs.filter(price_micros__lte=max_provider_price_within(query.max_price_micros))
    if query.provider:
        provider_filter = participant_lookup_filter(query.provider)
        qs = qs.filter(**{f"provider__{k}": v for k, v in provider_filter.items()})
    if not (query.filters_by_reputation or query.effective_sort == "reputation"):
        return qs
    scored = _join_provider_score(qs)
    if query.min_reputation is not None:
        scored = scored.filter(provider_reputation__gte=query.min_reputation)
    if query.min_confidence is not None:
        scored = scored.filter(provider_confidence__gte=query.min_confidence)
    if not query.include_new:
        scored = scored.filter(provider_confidence__gte=NEW_PROVIDER_CONFIDENCE)
    return scored


def _page_ids(query: CatalogQuery) -> search.Ranked:
    """The ids of the page in order, and the number of every match."""
    terms = query.q_terms
    sort = query.effective_sort
    backend = search.backend(connection)
    within = _filtered(query) if query.has_filters else None
    if sort == "relevance":
        return backend.ranked_page(terms, within, query.limit, query.offset)
    qs = _filtered(query)
    if terms:
        qs = qs.filter(id__in=RawSQL(*backend.matching_ids(terms)))  # noqa: S611 - terms are params
    ordered = qs.order_by(*_ORDERING[sort])
    ids = list(ordered.values_list("id", flat=True)[query.offset : query.offset + query.limit])
    if len(ids) < query.limit and (ids or query.offset == 0):
        return search.Ranked(ids, query.offset + len(ids))  # the last page: no count needed
    if terms:
        # Counted as a ranked search counts: exact up to a bound, estimated above it.
        total, estimate = backend.count(terms, within)
        return search.Ranked(ids, total, estimate)
    return search.Ranked(ids, qs.count())


def catalog_search(query: CatalogQuery) -> CatalogPage:
    """One page of the catalog and the total number of matching services.

    The page is found in two steps: the ids of the page in order (a narrow query, cheap to
    sort however many services match), then those rows with their providers' scores.
    """
    if query.q and not query.q_terms:
        return CatalogPage(total=0, services=[])  # only stop words or punctuation
    page = _page_ids(query)
    ids = page.ids
    rows = Service.objects.select_related("provider").in_bulk(ids)
    services = [rows[pk] for pk in ids]
    scores = provider_scores([service.provider_id for service in services])
    for service in services:
        service.provider_score = scores[service.provider_id]
    return CatalogPage(
        total=page.total, services=services, total_is_estimate=page.total_is_estimate
    )


def service_get(public_id: str) -> Service | None:
    """Any listed service (active or not), with its provider."""
    return Service.objects.select_related("provider").filter(public_id=public_id).first()


def service_owned(service_id: str, caller: Participant) -> Service:
    """The caller's service, to change or test: 404 if unknown, 403 if someone else's."""
    service = service_get(service_id)
    if service is None:
        raise NotFound(f"Service {service_id} not found", code="service_not_found")
    if service.provider_id != caller.pk:
        raise ApplicationError(
            "You can only change your own services", code="forbidden", status=403
        )
    return service
