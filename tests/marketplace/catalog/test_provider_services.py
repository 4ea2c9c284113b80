"""Providers listing, changing and removing services: POST/PUT/DELETE /v1/services."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from marketplace.models import Service
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, ServiceFactory

pytestmark = pytest.mark.django_db

LISTING = {
    "name": "Contract audit",
    "description": "A careful review of a Solidity contract, with findings.",
    "category": "Security",
    "price": "25.00",
}


def provider_key(type: str = "provider") -> str:
    return api_key_issue(participant=ParticipantFactory(type=type))


def send(api: Client, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    headers = {"HTTP_X_API_KEY": key} if key is not None else {}
    data = body if isinstance(body, str) else json.dumps(body if body is not None else {})
    return getattr(api, method)(path, data, content_type="application/json", **headers)


def create(api: Client, key: str, **fields: Any) -> Any:
    return send(api, "post", "/v1/services", {**LISTING, **fields}, key)


def catalog_ids(api: Client, q: str = "") -> list[str]:
    body = api.get("/v1/services/catalog", {"q": q} if q else {}).json()
    return [service["id"] for service in body["services"]]


# --- create -----------------------------------------------------------------------------
@pytest.mark.parametrize("price", ["25.00", "$25.00", {"fixed": "$25.00"}, "25"])
def test_a_fixed_price_is_accepted_in_every_documented_form(api: Client, price: Any) -> None:
    response = create(api, provider_key(), price=price)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["price"], body["agent_price"], body["pricing_model"]) == (
        "25.00",
        "26.25",
        "fixed",
    )
    assert Service.objects.get(public_id=body["id"]).price_micros == 25_000_000


def test_a_quoted_service_takes_a_price_range(api: Client) -> None:
    response = create(
        api,
        provider_key(),
        price={"min": "25", "max": "$500"},
        pricing_model="quote_required",
        service_type="human_service",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["price"] == {"min": "25.00", "max": "500.00"}
    assert body["endpoint"].endswith(f"/v1/services/{body['id']}/inquire")
    service = Service.objects.get(public_id=body["id"])
    assert (service.price_micros, service.price_max_micros) == (25_000_000, 500_000_000)


def test_a_range_on_a_fixed_price_service_is_refused(api: Client) -> None:
    response = create(api, provider_key(), price={"min": "25", "max": "500"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_price")
    assert not Service.objects.exists()


def test_the_response_is_the_catalog_entry_plus_owner_fields(api: Client) -> None:
    body = create(api, provider_key(), webhook_url="https://provider.example/hook").json()
    assert body["service_id"] == body["id"] and body["id"].startswith("svc_")
    assert body["webhook_url"] == "https://provider.example/hook"
    assert (body["status"], body["category"]) == ("active", "security")
    listed = api.get(f"/v1/services/{body['id']}").json()
    assert {k: v for k, v in body.items() if k not in ("service_id", "webhook_url")} == {
        k: v for k, v in listed.items() if k != "reputation"
    }


@pytest.mark.parametrize(
    ("given", "service_type", "fulfillment_type"),
    [
        ({"fulfillment_type": "instant"}, "data_api", "instant"),
        ({"fulfillment_type": "human"}, "human_service", "human"),
        ({"fulfillment_type": "async"}, "automated_service", "automated"),
        ({"service_type": "data_api"}, "data_api", "instant"),
        ({}, "automated_service", "automated"),
    ],
)
def test_service_and_fulfillment_types_are_inferred_from_each_other(
    api: Client, given: dict[str, str], service_type: str, fulfillment_type: str
) -> None:
    body = create(api, provider_key(), **given).json()
    assert (body["service_type"], body["fulfillment_type"]) == (service_type, fulfillment_type)


def test_contradicting_service_and_fulfillment_types_are_refused(api: Client) -> None:
    response = create(api, provider_key(), service_type="data_api", fulfillment_type="human")
    assert (response.status_code, response.json()["code"]) == (400, "inconsistent_service_type")
    assert not Service.objects.exists()


def test_an_invalid_json_schema_is_refused_and_nothing_written(api: Client) -> None:
    response = create(
        api, provider_key(), input_schema={"type": "object", "properties": {"a": {"type": 12}}}
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_schema")
    assert "input_schema" in response.json()["error"]
    assert not Service.objects.exists()


def test_a_flat_deliverable_map_is_stored_as_an_object_schema(api: Client) -> None:
    body = create(api, provider_key(), deliverable_schema={"report_url": {"type": "string"}}).json()
    assert body["deliverable_schema"] == {
        "type": "object",
        "properties": {"report_url": {"type": "string"}},
    }


@pytest.mark.parametrize(
    "override",
    [
        {"name": "x" * 101},
        {"name": "   "},
        {"description": None},
        {"price": 25.5},
        {"price": "twenty"},
        {"price": ["25"]},
        {"price": {"amount": "3"}},
        {"tags": "security"},
        {"tags": [{"a": 1}]},
        {"webhook_url": "ftp://provider.example/hook"},
        {"webhook_url": "not a url"},
        {"status": "deleted"},
        {"pricing_model": "auction"},
        {"service_type": "robot"},
        {"input_schema": "a string"},
        {"input_schema": {"type": "object", "properties": {"a\u0000": {"type": "string"}}}},
        {"estimated_delivery": "x" * 51},
    ],
)
def test_bad_input_is_a_400_json_error_and_writes_nothing(
    api: Client, override: dict[str, Any]
) -> None:
    response = create(api, provider_key(), **override)
    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"error", "code"}
    assert not Service.objects.exists()


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "null"])
def test_a_body_that_is_not_an_object_is_a_400(api: Client, body: str) -> None:
    response = send(api, "post", "/v1/services", body, provider_key())
    assert response.status_code == 400
    assert not Service.objects.exists()


def test_a_missing_required_field_is_named(api: Client) -> None:
    body = {k: v for k, v in LISTING.items() if k != "category"}
    response = send(api, "post", "/v1/services", body, provider_key())
    assert response.status_code == 400
    assert response.json()["error"].startswith("category")


def test_an_agent_cannot_list_services(api: Client) -> None:
    response = create(api, provider_key(type="agent"))
    assert (response.status_code, response.json()["code"]) == (403, "not_a_provider")
    assert not Service.objects.exists()


def test_a_participant_of_both_types_can_list_services(api: Client) -> None:
    assert create(api, provider_key(type="both")).status_code == 201


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "api_key_required"),
        ("", "api_key_required"),
        ("sk_" + "x" * 43, "invalid_api_key"),
        ("garbage", "invalid_api_key"),
    ],
)
def test_creating_needs_a_valid_api_key(api: Client, key: str | None, code: str) -> None:
    response = create(api, key)  # type: ignore[arg-type]
    assert (response.status_code, response.json()["code"]) == (401, code)
    assert not Service.objects.exists()


def test_a_created_service_is_searchable_at_once(api: Client) -> None:
    body = create(api, provider_key(), name="Quantum widget appraisal").json()
    assert catalog_ids(api, "quantum widget") == [body["id"]]


def test_an_inactive_listing_is_created_but_not_in_the_catalog(api: Client) -> None:
    body = create(api, provider_key(), name="Hidden zebra", status="inactive").json()
    assert Service.objects.get(public_id=body["id"]).status == "inactive"
    assert catalog_ids(api, "zebra") == []


# --- update -----------------------------------------------------------------------------
def owned(**fields: Any) -> tuple[Service, str]:
    service = ServiceFactory(**fields)
    return service, api_key_issue(participant=service.provider)


def test_the_owner_updates_the_catalog_entry_and_its_search(api: Client) -> None:
    service, key = owned(name="Walrus census")
    response = send(
        api,
        "put",
        f"/v1/services/{service.public_id}",
        {"name": "Penguin census", "price": "$3.00", "tags": [" Birds "]},
        key,
    )
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["tags"]) == ("Penguin census", ["birds"])
    [entry] = api.get("/v1/services/catalog", {"q": "penguin"}).json()["services"]
    assert (entry["id"], entry["price"], entry["agent_price"]) == (
        service.public_id,
        "3.00",
        "3.15",
    )
    assert catalog_ids(api, "walrus") == []


def test_an_update_changes_only_the_fields_given(api: Client) -> None:
    service, key = owned(description="Original words", estimated_delivery="10s")
    send(api, "put", f"/v1/services/{service.public_id}", {"estimated_delivery": "1h"}, key)
    service.refresh_from_db()
    assert (service.estimated_delivery, service.description) == ("1h", "Original words")
    assert service.price_micros == 1_000_000


def test_an_update_infers_the_service_type_from_the_fulfillment_type(api: Client) -> None:
    service, key = owned(service_type="data_api")
    body = send(
        api, "put", f"/v1/services/{service.public_id}", {"fulfillment_type": "automated"}, key
    ).json()
    assert (body["service_type"], body["fulfillment_type"]) == ("automated_service", "automated")


def test_an_update_contradicting_the_types_is_refused(api: Client) -> None:
    service, key = owned(service_type="data_api")
    response = send(
        api,
        "put",
        f"/v1/services/{service.public_id}",
        {"service_type": "human_service", "fulfillment_type": "instant", "name": "Changed"},
        key,
    )
    assert (response.status_code, response.json()["code"]) == (400, "inconsistent_service_type")
    service.refresh_from_db()
    assert (service.service_type, service.name) != ("human_service", "Changed")
    assert service.service_type == "data_api"


def test_an_update_with_an_invalid_schema_writes_nothing(api: Client) -> None:
    service, key = owned(name="Keep me")
    response = send(
        api,
        "put",
        f"/v1/services/{service.public_id}",
        {"name": "Lose me", "deliverable_schema": {"type": "nonsense"}},
        key,
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_schema")
    service.refresh_from_db()
    assert service.name == "Keep me"


def test_a_range_cannot_be_put_on_a_fixed_price_service(api: Client) -> None:
    service, key = owned()
    response = send(
        api, "put", f"/v1/services/{service.public_id}", {"price": {"min": "1", "max": "9"}}, key
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_price")
    service.refresh_from_db()
    assert service.price_max_micros is None


def test_switching_to_quoted_with_a_range_is_one_update(api: Client) -> None:
    service, key = owned(service_type="human_service", price_micros=30_000_000)
    body = send(
        api,
        "put",
        f"/v1/services/{service.public_id}",
        {"pricing_model": "quote_required", "price": {"min": "30", "max": "900"}},
        key,
    ).json()
    assert (body["pricing_model"], body["price"]) == (
        "quote_required",
        {"min": "30.00", "max": "900.00"},
    )


def test_switching_a_quoted_range_to_fixed_needs_a_price(api: Client) -> None:
    service, key = owned(
        service_type="human_service",
        pricing_model="quote_required",
        price_micros=30_000_000,
        price_max_micros=90_000_000,
    )
    path = f"/v1/services/{service.public_id}"
    refused = send(api, "put", path, {"pricing_model": "fixed"}, key)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_price")
    accepted = send(api, "put", path, {"pricing_model": "fixed", "price": "45"}, key)
    assert (accepted.json()["pricing_model"], accepted.json()["price"]) == ("fixed", "45.00")


def test_another_provider_cannot_update_and_nothing_changes(api: Client) -> None:
    service, _ = owned(name="Mine")
    response = send(
        api, "put", f"/v1/services/{service.public_id}", {"name": "Theirs"}, provider_key()
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    service.refresh_from_db()
    assert service.name == "Mine"


def test_another_provider_gets_403_before_any_validation(api: Client) -> None:
    service, _ = owned()
    response = send(
        api, "put", f"/v1/services/{service.public_id}", {"price": "nonsense"}, provider_key()
    )
    assert response.status_code == 403


@pytest.mark.parametrize("method", ["put", "delete"])
def test_an_unknown_service_is_404(api: Client, method: str) -> None:
    response = send(api, method, "/v1/services/svc_0000000000000000", {"name": "x"}, provider_key())
    assert (response.status_code, response.json()["code"]) == (404, "service_not_found")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_changing_a_service_needs_an_api_key(api: Client, method: str) -> None:
    service, _ = owned()
    response = send(api, method, f"/v1/services/{service.public_id}", {"name": "x"})
    assert response.status_code == 401
    assert Service.objects.filter(pk=service.pk, name=service.name).exists()


def test_setting_status_inactive_removes_it_from_the_catalog(api: Client) -> None:
    service, key = owned(name="Ocelot tracking")
    assert catalog_ids(api) == [service.public_id]
    body = send(api, "put", f"/v1/services/{service.public_id}", {"status": "inactive"}, key)
    assert body.json()["status"] == "inactive"
    assert catalog_ids(api) == []
    assert catalog_ids(api, "ocelot") == []
    send(api, "put", f"/v1/services/{service.public_id}", {"status": "active"}, key)
    assert catalog_ids(api, "ocelot") == [service.public_id]


def test_an_update_moves_updated_at(api: Client) -> None:
    service, key = owned()
    before = service.updated_at
    send(api, "put", f"/v1/services/{service.public_id}", {"name": "Renamed"}, key)
    service.refresh_from_db()
    assert service.updated_at > before


# --- delete -----------------------------------------------------------------------------
def test_the_owner_deletes_the_service_and_its_search_entry(api: Client) -> None:
    service, key = owned(name="Narwhal sightings")
    response = send(api, "delete", f"/v1/services/{service.public_id}", key=key)
    assert response.status_code == 200
    assert response.json() == {
        "service_id": service.public_id,
        "deleted": True,
        "archived": False,
        "status": "deleted",
    }
    assert not Service.objects.filter(pk=service.pk).exists()
    assert catalog_ids(api, "narwhal") == []
    assert api.get(f"/v1/services/{service.public_id}").status_code == 404


def test_another_provider_cannot_delete(api: Client) -> None:
    service, _ = owned()
    response = send(api, "delete", f"/v1/services/{service.public_id}", key=provider_key())
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert Service.objects.filter(pk=service.pk).exists()


def test_the_detail_is_still_public_on_the_shared_path(api: Client) -> None:
    service, _ = owned()
    response = api.get(f"/v1/services/{service.public_id}")
    assert response.status_code == 200
    assert "webhook_url" not in response.json()
