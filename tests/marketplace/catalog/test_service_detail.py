from __future__ import annotations

import pytest
from django.test import Client

from marketplace.catalog.serializers import ServiceDetailSerializer, ServiceSerializer
from marketplace.models import PricingModel, ServiceType
from reputation.models import ReputationScore
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "required": ["site_url"],
    "properties": {"site_url": {"type": "string"}},
}


def test_the_detail_carries_both_schemas(api: Client) -> None:
    service = ServiceFactory(input_schema=SCHEMA, deliverable_schema={"report": {"type": "string"}})
    body = api.get(f"/v1/services/{service.public_id}").json()
    assert body["input_schema"] == SCHEMA
    assert body["deliverable_schema"] == {
        "type": "object",
        "properties": {"report": {"type": "string"}},
    }


def test_the_detail_shows_reputation_at_three_levels_with_defaults(api: Client) -> None:
    service = ServiceFactory()
    reputation = api.get(f"/v1/services/{service.public_id}").json()["reputation"]
    assert set(reputation) == {"service", "service_type", "provider"}
    for level in reputation.values():
        assert level["composite"] == 75.0
        assert level["confidence"] == 0.0
        assert level["is_new"] is True
        assert set(level["dimensions"]) == {"quality", "speed", "reliability", "communication"}
        assert (level["total_jobs"], level["completed_jobs"]) == (0, 0)


def test_the_detail_reads_stored_scores_for_each_level(api: Client) -> None:
    service = ServiceFactory(service_type=ServiceType.DATA_API)
    ReputationScore.objects.create(
        participant=service.provider,
        scope="service",
        scope_key=service.public_id,
        composite=91.0,
        confidence=0.6,
        total_jobs=20,
        completed_jobs=19,
    )
    ReputationScore.objects.create(
        participant=service.provider, scope="service_type", scope_key="data_api", composite=82.5
    )
    reputation = api.get(f"/v1/services/{service.public_id}").json()["reputation"]
    assert reputation["service"]["composite"] == 91.0
    assert reputation["service"]["completion_rate"] == 95.0
    assert reputation["service"]["is_new"] is False
    assert reputation["service_type"]["composite"] == 82.5
    assert reputation["provider"]["composite"] == 75.0


def test_an_unknown_service_is_a_json_404(api: Client) -> None:
    response = api.get("/v1/services/svc_0000000000000000")
    assert response.status_code == 404
    assert response.json() == {
        "error": "Service svc_0000000000000000 not found",
        "code": "service_not_found",
    }


def test_a_fixed_price_entry_shows_prices_with_the_fee(api: Client) -> None:
    service = ServiceFactory(price_micros=3_000_000)
    body = api.get(f"/v1/services/{service.public_id}").json()
    assert (body["price"], body["agent_price"], body["provider_net_price"]) == (
        "3.00",
        "3.15",
        "3.00",
    )
    assert body["platform_fee_pct"] == 5.0
    assert body["endpoint"] == f"http://127.0.0.1/v1/services/{service.public_id}/purchase"


def test_a_quoted_entry_shows_a_price_range_and_the_inquire_endpoint(api: Client) -> None:
    service = ServiceFactory(
        service_type=ServiceType.HUMAN_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=25_000_000,
        price_max_micros=100_000_000,
    )
    body = api.get(f"/v1/services/{service.public_id}").json()
    assert body["price"] == {"min": "25.00", "max": "100.00"}
    assert body["agent_price"] == {"min": "26.25", "max": "105.00"}
    assert body["endpoint"].endswith(f"/v1/services/{service.public_id}/inquire")
    assert body["fulfillment_type"] == "human"


def test_the_public_url_setting_decides_absolute_urls(api: Client, settings) -> None:
    settings.PUBLIC_URL = "https://api.example.org"
    service = ServiceFactory()
    body = api.get(f"/v1/services/{service.public_id}").json()
    assert body["endpoint"] == f"https://api.example.org/v1/services/{service.public_id}/purchase"


def test_catalog_entries_carry_every_documented_field(api: Client) -> None:
    ServiceFactory()
    entry = api.get("/v1/services/catalog").json()["services"][0]
    expected = {
        "id",
        "name",
        "description",
        "category",
        "tags",
        "service_type",
        "pricing_model",
        "fulfillment_type",
        "price",
        "agent_price",
        "provider_net_price",
        "platform_fee_pct",
        "estimated_delivery",
        "input_schema",
        "deliverable_schema",
        "status",
        "listed_at",
        "updated_at",
        "endpoint",
        "webhook_healthy",
        "provider_id",
        "provider_name",
        "provider_type",
        "provider_wallet",
        "provider_reputation",
        "provider_dimensions",
        "provider_confidence",
        "provider_is_new",
        "provider_completed_jobs",
        "provider_completion_rate",
    }
    assert set(entry) == expected
    assert (entry["provider_reputation"], entry["provider_confidence"]) == (75.0, 0.0)
    assert entry["provider_is_new"] is True
    assert entry["provider_completion_rate"] is None


def test_catalog_entries_have_exactly_the_documented_fields(api: Client) -> None:
    ServiceFactory()
    entry = api.get("/v1/services/catalog").json()["services"][0]
    assert set(entry) == set(ServiceSerializer().fields)


def test_the_detail_has_exactly_the_documented_fields(api: Client) -> None:
    service = ServiceFactory()
    body = api.get(f"/v1/services/{service.public_id}").json()
    assert set(body) == set(ServiceDetailSerializer().fields)
