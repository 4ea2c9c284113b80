"""The provider endpoints in the manifest and the OpenAPI document."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PROVIDER_ENDPOINTS = {
    ("POST", "/v1/services"): ("free", "X-API-Key (provider)", "service_create"),
    ("PUT", "/v1/services/:service_id"): (
        "free",
        "none (GET); X-API-Key of the owner (PUT, DELETE)",
        "service_update",
    ),
    ("DELETE", "/v1/services/:service_id"): (
        "free",
        "none (GET); X-API-Key of the owner (PUT, DELETE)",
        "service_delete",
    ),
    ("POST", "/v1/provider/onboard"): ("$0.01", "x402", "provider_onboard"),
}


def test_the_manifest_lists_the_provider_endpoints_with_price_and_auth(api: Client) -> None:
    listed = {
        (e["method"], e["path"]): (e["price"], e["auth"])
        for e in api.get("/.well-known/the402.json").json()["endpoints"]
    }
    for endpoint, (price, auth, _) in PROVIDER_ENDPOINTS.items():
        assert listed[endpoint] == (price, auth), endpoint
    assert listed[("GET", "/v1/services/:service_id")][0] == "free"


def test_openapi_documents_each_provider_operation(api: Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for (method, path), (_, _, operation_id) in PROVIDER_ENDPOINTS.items():
        operation = paths[path.replace(":service_id", "{service_id}")][method.lower()]
        assert operation["operationId"] == operation_id
        assert "400" in operation["responses"]
    assert "requestBody" in paths["/v1/services"]["post"]
    assert "requestBody" in paths["/v1/services/{service_id}"]["put"]
