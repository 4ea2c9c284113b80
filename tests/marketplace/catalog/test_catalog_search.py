"""Full-text search of `GET /v1/services/catalog` (same behaviour on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.models import Service
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def names(api: Client, query: str) -> list[str]:
    response = api.get(f"/v1/services/catalog?{query}")
    assert response.status_code == 200, response.content
    return [s["name"] for s in response.json()["services"]]


def test_stemming_finds_the_singular_from_the_plural(api: Client) -> None:
    ServiceFactory(name="Site audit", description="We check everything.")
    ServiceFactory(name="Logo design", description="Vector logos.")
    assert names(api, "q=audits") == ["Site audit"]


def test_stemming_finds_the_plural_from_the_singular(api: Client) -> None:
    ServiceFactory(name="Monthly audits", description="Recurring checks.")
    assert names(api, "q=audit") == ["Monthly audits"]


def test_a_match_in_the_name_ranks_above_a_match_in_the_description(api: Client) -> None:
    ServiceFactory(name="Backlink report", description="Part of any seo strategy review.")
    ServiceFactory(name="SEO report", description="Rankings and traffic for your site.")
    assert names(api, "q=seo") == ["SEO report", "Backlink report"]


def test_a_match_in_the_tags_ranks_above_a_match_in_the_description(api: Client) -> None:
    ServiceFactory(name="Site check", description="Good for wordpress sites and others.")
    ServiceFactory(name="Plugin fix", description="We fix plugins.", tags=["wordpress"])
    assert names(api, "q=wordpress") == ["Plugin fix", "Site check"]


def test_the_category_is_searched(api: Client) -> None:
    ServiceFactory(name="Contract review", category="legal")
    ServiceFactory(name="Logo design", category="design")
    assert names(api, "q=legal") == ["Contract review"]


def test_every_word_of_the_query_must_match(api: Client) -> None:
    ServiceFactory(name="SEO audit")
    ServiceFactory(name="SEO keywords")
    assert names(api, "q=seo+audit") == ["SEO audit"]


def test_stop_words_are_ignored(api: Client) -> None:
    ServiceFactory(name="SEO audit")
    assert names(api, "q=the+seo+audit+for+a+site") == []
    assert names(api, "q=the+seo+audit") == ["SEO audit"]


def test_a_query_of_only_stop_words_matches_nothing(api: Client) -> None:
    ServiceFactory(name="The best service")
    body = api.get("/v1/services/catalog?q=the+and").json()
    assert (body["total"], body["services"]) == (0, [])


def test_search_syntax_in_the_query_is_treated_as_words(api: Client) -> None:
    ServiceFactory(name="SEO audit")
    for query in ['"seo', "seo OR", "seo*", "(seo)", "NEAR(seo", "seo:audit", "seo & | !"]:
        response = api.get("/v1/services/catalog", {"q": query})
        assert response.status_code == 200, query


def test_search_is_case_and_accent_insensitive(api: Client) -> None:
    ServiceFactory(name="Café menu translation")
    assert names(api, "q=CAFE") == ["Café menu translation"]


def test_a_renamed_service_is_found_by_its_new_name_only(api: Client) -> None:
    service = ServiceFactory(name="Logo design")
    service.name = "Brand identity"
    service.save()
    assert names(api, "q=brand") == ["Brand identity"]
    assert names(api, "q=logo") == []


def test_a_queryset_update_is_indexed_too(api: Client) -> None:
    service = ServiceFactory(name="Logo design")
    Service.objects.filter(pk=service.pk).update(description="Now with mascots")
    assert names(api, "q=mascots") == ["Logo design"]


def test_a_deleted_service_leaves_the_index(api: Client) -> None:
    service = ServiceFactory(name="Logo design")
    service.delete()
    assert names(api, "q=logo") == []


def test_an_inactive_service_is_not_listed(api: Client) -> None:
    ServiceFactory(name="Logo design", status=Service.Status.INACTIVE)
    ServiceFactory(name="Logo refresh")
    assert names(api, "q=logo") == ["Logo refresh"]


def test_relevance_is_the_default_order_with_a_query(api: Client) -> None:
    ServiceFactory(name="SEO report")
    ServiceFactory(name="Backlink report", description="An seo helper.")
    assert names(api, "q=seo") == names(api, "q=seo&sort=relevance")
    assert names(api, "q=seo")[0] == "SEO report"


def test_other_sorts_apply_to_search_results(api: Client) -> None:
    ServiceFactory(name="SEO cheap", price_micros=1_000)
    ServiceFactory(name="SEO dear", price_micros=9_000)
    ServiceFactory(name="Logo", price_micros=5_000)
    assert names(api, "q=seo&sort=price_desc") == ["SEO dear", "SEO cheap"]
