"""A broad word ranks a bounded candidate set (the newest matches) and estimates large totals.

The bounds are lowered for these tests (`search.CANDIDATES`, `search.EXACT_TOTAL_UP_TO`):
the same code then runs on a handful of services as on a catalog of a million.
"""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.catalog import search
from marketplace.catalog.selectors import CatalogQuery, catalog_search
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "CANDIDATES", 3)
    monkeypatch.setattr(search, "EXACT_TOTAL_UP_TO", 4)


def _names(query: CatalogQuery) -> list[str]:
    return [service.name for service in catalog_search(query).services]


def test_only_the_newest_matches_are_ranked_the_older_follow_newest_first(bounds: None) -> None:
    ServiceFactory(name="Widget widget widget", description="widget")  # the best, but oldest
    for i in range(4):
        ServiceFactory(name=f"Plain {i}", description="a widget among other words")
    ServiceFactory(name="Widget", description="widget")  # the newest: a candidate, ranked
    page = _names(CatalogQuery(q="widget", limit=10))
    assert page[0] == "Widget"
    assert page[1:3] == ["Plain 3", "Plain 2"]  # the other two candidates
    assert page[3:] == ["Plain 1", "Plain 0", "Widget widget widget"]  # then newest first


def test_paging_past_the_candidates_lists_every_match_once(bounds: None) -> None:
    for i in range(7):
        ServiceFactory(name=f"Gadget {i}", description="gadget " * (i % 3 + 1))
    whole = _names(CatalogQuery(q="gadget", limit=100))
    pages = [_names(CatalogQuery(q="gadget", limit=2, offset=offset)) for offset in (0, 2, 4, 6)]
    assert [name for page in pages for name in page] == whole
    assert sorted(whole) == [f"Gadget {i}" for i in range(7)]


def test_a_total_within_the_exact_bound_is_exact(bounds: None) -> None:
    ServiceFactory.create_batch(4, name="Sprocket")
    ServiceFactory(name="Unrelated")
    page = catalog_search(CatalogQuery(q="sprocket", limit=1))
    assert (page.total, page.total_is_estimate) == (4, False)


def test_a_total_above_the_exact_bound_is_an_estimate_and_says_so(
    bounds: None, api: Client
) -> None:
    ServiceFactory.create_batch(6, name="Cog")
    body = api.get("/v1/services/catalog?q=cog&limit=1").json()
    assert body["total_is_estimate"] is True
    assert body["total"] >= 5  # more than the bound, whatever the estimate


def test_a_total_above_the_bound_is_flagged_for_other_sorts_too(bounds: None) -> None:
    ServiceFactory.create_batch(6, name="Cog")
    page = catalog_search(CatalogQuery(q="cog", sort="newest", limit=1))
    assert page.total_is_estimate is True


def test_the_estimate_extrapolates_over_the_ids_not_counted(bounds: None) -> None:
    # Every other service matches: the count stops at 5 matches newest first, which span 9
    # of the 20 ids, so the estimate is 5 * 20 // 9 = 11 (10 really match).
    for i in range(20):
        ServiceFactory(name="Cog" if i % 2 else f"Other {i}")
    page = catalog_search(CatalogQuery(q="cog", limit=1))
    assert (page.total, page.total_is_estimate) == (11, True)


def test_a_narrow_search_reports_an_exact_total(api: Client) -> None:
    ServiceFactory.create_batch(2, name="Lathe")
    body = api.get("/v1/services/catalog?q=lathe").json()
    assert (body["total"], body["total_is_estimate"]) == (2, False)
