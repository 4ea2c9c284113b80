"""x402 discovery outside the 402: `/.well-known/x402` lists the paid resources, and
`/openapi.json` carries `x-payment-info` per paid operation and the header credentials."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(api: Client) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_well_known_x402_lists_paid_resources_as_urls(api: Client, chain: Any) -> None:
    body = api.get("/.well-known/x402").json()

    assert body["version"] == 1
    assert "http://127.0.0.1/v1/register" in body["resources"]
    assert "http://127.0.0.1/v1/balance/deposit" in body["resources"]
    assert all(":" not in url.removeprefix("http://127.0.0.1") for url in body["resources"])


def test_well_known_x402_omits_free_endpoints(api: Client, chain: Any) -> None:
    body = api.get("/.well-known/x402").json()

    assert "http://127.0.0.1/v1/services/catalog" not in body["resources"]
    assert "http://127.0.0.1/v1/balance" not in body["resources"]


def test_well_known_x402_items_carry_method_and_price(api: Client, chain: Any) -> None:
    items = api.get("/.well-known/x402").json()["items"]

    register = next(item for item in items if item["resource"].endswith("/v1/register"))
    assert register["method"] == "POST"
    assert register["payment"]["price"] == {"mode": "fixed", "currency": "USD", "amount": "0.01"}
    templated = [item for item in items if item["route_template"]]
    assert any(item["route_template"] == "/v1/reputation/:wallet" for item in templated)


def test_each_paid_resource_listed_answers_402(api: Client, chain: Any) -> None:
    body = api.get("/.well-known/x402").json()
    items = [item for item in body["items"] if item["resource"] in body["resources"]]
    assert {item["resource"] for item in items} == set(body["resources"])
    for item in items:
        path = item["resource"].removeprefix("http://127.0.0.1")
        if path == "/v1/balance/deposit":
            path += "?amount=0.50"
        if item["method"] == "GET":
            response = api.get(path)
        else:
            response = api.generic(item["method"], path, "{}", content_type="application/json")
        assert response.status_code == 402, (path, response.content)


def test_openapi_paid_operation_has_fixed_payment_info(openapi: dict[str, Any]) -> None:
    operation = openapi["paths"]["/v1/register"]["post"]

    assert operation["x-payment-info"]["protocols"] == ["x402"]
    assert operation["x-payment-info"]["price"] == {
        "mode": "fixed",
        "currency": "USD",
        "amount": "0.01",
    }
    assert "402" in operation["responses"]


def test_openapi_request_dependent_price_is_dynamic_with_bounds(openapi: dict[str, Any]) -> None:
    price = openapi["paths"]["/v1/balance/deposit"]["post"]["x-payment-info"]["price"]

    assert price == {"mode": "dynamic", "currency": "USD", "min": "0.01", "max": "10000.00"}


def test_openapi_purchase_price_is_dynamic_up_to_the_largest_agent_price(
    openapi: dict[str, Any],
) -> None:
    operation = openapi["paths"]["/v1/services/{service_id}/purchase"]["post"]

    assert operation["x-payment-info"]["price"]["mode"] == "dynamic"
    assert operation["x-payment-info"]["price"]["max"] == "105000.00"


def test_openapi_free_operation_has_no_payment_info(openapi: dict[str, Any]) -> None:
    assert "x-payment-info" not in openapi["paths"]["/v1/services/catalog"]["get"]


def test_openapi_declares_the_header_credentials(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]

    assert {name: (s["type"], s["in"], s["name"]) for name, s in schemes.items()} == {
        "ApiKey": ("apiKey", "header", "X-API-Key"),
        "BalanceAuth": ("apiKey", "header", "X-BALANCE-AUTH"),
        "X402Payment": ("apiKey", "header", "X-PAYMENT"),
        "X402PaymentSignature": ("apiKey", "header", "PAYMENT-SIGNATURE"),
    }


def test_openapi_paid_operation_accepts_payment_and_balance(openapi: dict[str, Any]) -> None:
    security = openapi["paths"]["/v1/reputation/{wallet}"]["get"]["security"]

    assert {"BalanceAuth": []} in security
    assert {"X402PaymentSignature": []} in security
    assert {"X402Payment": []} in security


def test_openapi_key_only_operation_takes_the_api_key(openapi: dict[str, Any]) -> None:
    assert openapi["paths"]["/v1/balance"]["get"]["security"] == [{"ApiKey": []}]
