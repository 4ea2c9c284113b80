"""Filters, sorting and paging of `GET /v1/services/catalog`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.models import PricingModel, Service, ServiceType
from reputation.models import ReputationScore
from tests.factories import ParticipantFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def names(api: Client, query: str) -> list[str]:
    response = api.get(f"/v1/services/catalog?{query}")
    assert response.status_code == 200, response.content
    return [s["name"] for s in response.json()["services"]]


def score(provider_pk: int, **values: float) -> None:
    ReputationScore.objects.filter(participant_id=provider_pk, scope="provider").update(**values)


def test_category_filter_is_case_insensitive(api: Client) -> None:
    ServiceFactory(name="Audit", category="SEO")
    ServiceFactory(name="Logo", category="design")
    assert names(api, "category=Seo") == ["Audit"]


def test_service_type_filter(api: Client) -> None:
    ServiceFactory(name="Lookup", service_type=ServiceType.DATA_API)
    ServiceFactory(
        name="Consulting", service_type=ServiceType.HUMAN_SERVICE, price_micros=50_000_000
    )
    assert names(api, "service_type=human_service") == ["Consulting"]


def test_type_is_an_alias_of_service_type(api: Client) -> None:
    ServiceFactory(name="Lookup", service_type=ServiceType.DATA_API)
    ServiceFactory(name="Resize", service_type=ServiceType.AUTOMATED_SERVICE)
    assert names(api, "type=automated_service") == ["Resize"]


def test_max_price_compares_the_agent_price_inclusively(api: Client) -> None:
    ServiceFactory(name="Two fifty", price_micros=2_500_000)  # agent price 2.625
    ServiceFactory(name="Three", price_micros=3_000_000)  # agent price 3.15
    assert names(api, "max_price=2.625") == ["Two fifty"]
    assert names(api, "max_price=2.624999") == []
    assert set(names(api, "max_price=$3.15")) == {"Two fifty", "Three"}


def test_max_price_uses_the_lowest_price_of_a_quoted_range(api: Client) -> None:
    ServiceFactory(
        name="Custom work",
        service_type=ServiceType.HUMAN_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=25_000_000,
        price_max_micros=500_000_000,
    )
    assert names(api, "max_price=30") == ["Custom work"]
    assert names(api, "max_price=26") == []


def test_provider_filter_by_participant_id(api: Client) -> None:
    mine = ServiceFactory(name="Mine")
    ServiceFactory(name="Theirs")
    assert names(api, f"provider={mine.provider.public_id}") == ["Mine"]


def test_provider_filter_by_wallet_in_any_case(api: Client) -> None:
    mine = ServiceFactory(name="Mine")
    ServiceFactory(name="Theirs")
    assert names(api, f"provider={mine.provider.wallet.lower()}") == ["Mine"]
    assert names(api, f"provider={mine.provider.wallet.upper().replace('0X', '0x')}") == ["Mine"]


def test_min_reputation_filter(api: Client) -> None:
    good = ServiceFactory(name="Good")
    ServiceFactory(name="Default")  # a new provider scores 75
    score(good.provider_id, composite=92.0)
    assert names(api, "min_reputation=80") == ["Good"]
    assert set(names(api, "min_reputation=75")) == {"Good", "Default"}


def test_min_confidence_filter(api: Client) -> None:
    known = ServiceFactory(name="Known")
    ServiceFactory(name="Unknown")
    score(known.provider_id, confidence=0.8, total_jobs=40, completed_jobs=38)
    assert names(api, "min_confidence=0.5") == ["Known"]


def test_include_new_false_leaves_out_providers_with_low_confidence(api: Client) -> None:
    known = ServiceFactory(name="Known")
    ServiceFactory(name="Newcomer")
    score(known.provider_id, confidence=0.33)
    assert names(api, "include_new=false") == ["Known"]
    assert set(names(api, "include_new=true")) == {"Known", "Newcomer"}


def test_filters_combine_with_search(api: Client) -> None:
    provider = ParticipantFactory()
    ServiceFactory(name="SEO audit", category="seo", price_micros=1_000_000, provider=provider)
    ServiceFactory(name="SEO audit pro", category="seo", price_micros=9_000_000)
    ServiceFactory(name="SEO audit basic", category="marketing", price_micros=1_000_000)
    ServiceFactory(name="Logo", category="seo", price_micros=1_000_000, provider=provider)
    score(provider.pk, composite=90.0)
    query = "q=audit&category=seo&max_price=5&min_reputation=80"
    assert names(api, query) == ["SEO audit"]


def test_sort_by_price(api: Client) -> None:
    for name, price in (("Mid", 5_000), ("Low", 1_000), ("High", 9_000)):
        ServiceFactory(name=name, price_micros=price)
    assert names(api, "sort=price_asc") == ["Low", "Mid", "High"]
    assert names(api, "sort=price_desc") == ["High", "Mid", "Low"]


def test_sort_by_reputation_puts_the_best_provider_first(api: Client) -> None:
    for name, composite in (("Fair", 65.0), ("Great", 95.0), ("Good", 80.0)):
        service = ServiceFactory(name=name)
        score(service.provider_id, composite=composite)
    assert names(api, "sort=reputation") == ["Great", "Good", "Fair"]


def test_newest_is_the_default_order_without_a_query(api: Client) -> None:
    now = timezone.now()
    for name, age in (("Old", 3), ("New", 1), ("Mid", 2)):
        service = ServiceFactory(name=name)
        Service.objects.filter(pk=service.pk).update(listed_at=now - timedelta(days=age))
    assert names(api, "") == ["New", "Mid", "Old"]
    assert names(api, "sort=newest") == ["New", "Mid", "Old"]
    assert names(api, "sort=relevance") == ["New", "Mid", "Old"]


def test_paging_reports_the_total_and_slices_in_order(api: Client) -> None:
    for i in range(7):
        ServiceFactory(name=f"S{i}", price_micros=1_000 + i)
    pages = [
        api.get(f"/v1/services/catalog?sort=price_asc&limit=3&offset={o}").json() for o in (0, 3, 6)
    ]
    assert [p["total"] for p in pages] == [7, 7, 7]
    assert [[s["name"] for s in p["services"]] for p in pages] == [
        ["S0", "S1", "S2"],
        ["S3", "S4", "S5"],
        ["S6"],
    ]
    assert (pages[1]["limit"], pages[1]["offset"]) == (3, 3)


def test_an_offset_past_the_end_is_an_empty_page_with_the_total(api: Client) -> None:
    for i in range(3):
        ServiceFactory(name=f"S{i}")
    body = api.get("/v1/services/catalog?offset=10").json()
    assert (body["total"], body["services"]) == (3, [])


def test_the_search_total_counts_every_match(api: Client) -> None:
    for i in range(4):
        ServiceFactory(name=f"SEO tool {i}")
    ServiceFactory(name="Logo")
    body = api.get("/v1/services/catalog?q=seo&limit=2").json()
    assert (body["total"], len(body["services"])) == (4, 2)


def test_limit_defaults_to_20(api: Client) -> None:
    ServiceFactory.create_batch(21)
    body = api.get("/v1/services/catalog").json()
    assert (body["limit"], len(body["services"]), body["total"]) == (20, 20, 21)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=1000", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("sort=bogus", "sort"),
        ("min_reputation=500", "min_reputation"),
        ("min_reputation=abc", "min_reputation"),
        ("min_confidence=2", "min_confidence"),
        ("max_price=abc", "max_price"),
        ("max_price=1.0000001", "max_price"),
        ("include_new=maybe", "include_new"),
        ("service_type=robot", "service_type"),
        ("type=data_api&service_type=human_service", "type"),
    ],
)
def test_bad_parameters_get_a_400_naming_the_parameter(api: Client, query: str, field: str) -> None:
    response = api.get(f"/v1/services/catalog?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert field in body["error"]


def test_the_catalog_costs_a_fixed_number_of_queries(
    api: Client, django_assert_num_queries: object
) -> None:
    ServiceFactory.create_batch(25)
    with django_assert_num_queries(3):  # ranked ids (with the total), rows, provider scores
        api.get("/v1/services/catalog?q=service")
    with django_assert_num_queries(4):  # page ids, total, rows, provider scores
        api.get("/v1/services/catalog?limit=5")


@pytest.mark.parametrize("offset", [0, 2, 4])
def test_a_ranked_page_carries_the_total_of_every_match(api: Client, offset: int) -> None:
    for i in range(7):
        ServiceFactory(name=f"SEO tool {i}")
    body = api.get(f"/v1/services/catalog?q=seo&limit=2&offset={offset}").json()
    assert body["total"] == 7
    assert [s["name"] for s in body["services"]] == [
        f"SEO tool {6 - offset}",
        f"SEO tool {5 - offset}",
    ]


def test_a_ranked_page_past_the_end_still_counts_the_matches(api: Client) -> None:
    ServiceFactory.create_batch(3, name="SEO tool")
    ServiceFactory(name="SEO tool", category="design")
    body = api.get("/v1/services/catalog?q=seo&category=design&offset=5").json()
    assert (body["total"], body["services"]) == (1, [])
