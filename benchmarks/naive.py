"""The catalog done the obvious way, as the baseline the benchmark compares against.

Text matching by `icontains` over every searched field, the provider's reputation by a left
join with defaults, whole rows sorted and sliced. Same filters and the same answers as the
real selector (apart from relevance, which a substring scan cannot rank: it lists newest
first).
"""

from __future__ import annotations

from typing import TypedDict

from django.db.models import F, FilteredRelation, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django_stubs_ext import WithAnnotations

from marketplace.catalog import search
from marketplace.catalog.selectors import _ORDERING, CatalogPage, CatalogQuery
from marketplace.models import Service
from reputation.models import DEFAULT_SCORE, NEW_PROVIDER_CONFIDENCE
from the402.lib.money import max_provider_price_within


class _ProviderReputation(TypedDict):
    provider_reputation: float
    provider_confidence: float


def _with_provider_reputation(
    qs: QuerySet[Service],
) -> QuerySet[WithAnnotations[Service, _ProviderReputation]]:
    """Left-join the provider's score, with the defaults for a provider without one."""
    return qs.annotate(
        score=FilteredRelation(
            "provider__reputation_scores",
            condition=Q(provider__reputation_scores__scope="provider"),
        ),
        provider_reputation=Coalesce(F("score__composite"), Value(DEFAULT_SCORE)),
        provider_confidence=Coalesce(F("score__confidence"), Value(0.0)),
    )


def naive_catalog_search(query: CatalogQuery) -> CatalogPage:
    qs = _with_provider_reputation(Service.objects.active().select_related("provider"))
    for term in search.search_terms(query.q):
        qs = qs.filter(
            Q(name__icontains=term)
            | Q(description__icontains=term)
            | Q(category__icontains=term)
            | Q(tags__icontains=term)
        )
    if query.category:
        qs = qs.filter(category=query.category.lower())
    if query.service_type:
        qs = qs.filter(service_type=query.service_type)
    if query.max_price_micros is not None:
        qs = qs.filter(price_micros__lte=max_provider_price_within(query.max_price_micros))
    if query.min_reputation is not None:
        qs = qs.filter(provider_reputation__gte=query.min_reputation)
    if query.min_confidence is not None:
        qs = qs.filter(provider_confidence__gte=query.min_confidence)
    if not query.include_new:
        qs = qs.filter(provider_confidence__gte=NEW_PROVIDER_CONFIDENCE)
    sort = "newest" if query.effective_sort == "relevance" else query.effective_sort
    qs = qs.order_by(*_ORDERING[sort])
    services: list[Service] = list(qs[query.offset : query.offset + query.limit])
    return CatalogPage(total=qs.count(), services=services)
