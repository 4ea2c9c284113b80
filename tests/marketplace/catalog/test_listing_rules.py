"""Listing rules of issue 16: prices within bounds, no unknown fields (items 4), and a
DELETE that answers JSON and archives a service with history (item 9)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from marketplace.models import Service
from payments.services import api_key_issue
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory

pytestmark = pytest.mark.django_db

LISTING = {
    "name": "Contract audit",
    "description": "A careful review of a Solidity contract, with findings.",
    "category": "Security",
    "price": "25.00",
}


def send(api: Client, method: str, path: str, body: Any = None, key: str = "") -> Any:
    data = json.dumps(body if body is not None else {})
    return getattr(api, method)(path, data, content_type="application/json", HTTP_X_API_KEY=key)


def provider() -> str:
    return api_key_issue(participant=ParticipantFactory(type="provider"))


def owned(**fields: Any) -> tuple[Service, str]:
    service = ServiceFactory(**fields)
    return service, api_key_issue(participant=service.provider)


# --- prices ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "price", ["0", "0.00", {"fixed": "$0"}, "100000.01", {"min": "1", "max": "100001"}]
)
def test_a_price_of_zero_or_above_the_maximum_is_not_listed(api: Client, price: Any) -> None:
    model = "quote_required" if isinstance(price, dict) and "min" in price else "fixed"
    response = send(
        api, "post", "/v1/services", {**LISTING, "price": price, "pricing_model": model}, provider()
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_price")
    assert not Service.objects.exists()


def test_the_maximum_price_itself_is_listed(api: Client) -> None:
    response = send(api, "post", "/v1/services", {**LISTING, "price": "100000"}, provider())
    assert response.status_code == 201, response.content


def test_the_maximum_follows_the_setting(api: Client, settings: Any) -> None:
    settings.MAX_PRICE_USD = 10
    response = send(api, "post", "/v1/services", {**LISTING, "price": "10.01"}, provider())
    assert (response.status_code, response.json()["code"]) == (400, "invalid_price")


def test_an_update_to_a_zero_price_is_refused(api: Client) -> None:
    service, key = owned()
    response = send(api, "put", f"/v1/services/{service.public_id}", {"price": "0"}, key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_price")
    service.refresh_from_db()
    assert service.price_micros == 1_000_000


# --- unknown fields -------------------------------------------------------------------------
def test_an_unknown_field_on_create_is_a_400(api: Client) -> None:
    response = send(api, "post", "/v1/services", {**LISTING, "prise": "30"}, provider())
    assert (response.status_code, response.json()["code"]) == (400, "invalid_field")
    assert "prise" in response.json()["error"]
    assert not Service.objects.exists()


def test_an_unknown_field_on_update_is_a_400(api: Client) -> None:
    service, key = owned(name="Old name")
    response = send(
        api, "put", f"/v1/services/{service.public_id}", {"name": "New", "colour": "red"}, key
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_field")
    service.refresh_from_db()
    assert service.name == "Old name"


# --- delete ---------------------------------------------------------------------------------
def test_deleting_a_service_with_jobs_archives_it(api: Client) -> None:
    job = JobFactory(service=ServiceFactory(name="Walrus census"))
    service = job.service
    key = api_key_issue(participant=service.provider)
    response = send(api, "delete", f"/v1/services/{service.public_id}", key=key)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "service_id": service.public_id,
        "deleted": True,
        "archived": True,
        "status": "archived",
    }
    service.refresh_from_db()
    assert service.status == Service.Status.ARCHIVED
    catalog = api.get("/v1/services/catalog", {"q": "walrus"}).json()
    assert catalog["services"] == []
    job.refresh_from_db()
    assert job.service_id == service.pk


def test_an_archived_service_is_gone_for_its_provider(api: Client) -> None:
    job = JobFactory()
    key = api_key_issue(participant=job.service.provider)
    path = f"/v1/services/{job.service.public_id}"
    assert send(api, "delete", path, key=key).status_code == 200
    assert send(api, "delete", path, key=key).status_code == 404
    again = send(api, "put", path, {"status": "active"}, key)
    assert (again.status_code, again.json()["code"]) == (404, "service_not_found")


def test_a_provider_cannot_set_archived_itself(api: Client) -> None:
    service, key = owned()
    response = send(api, "put", f"/v1/services/{service.public_id}", {"status": "archived"}, key)
    assert response.status_code == 400
