"""`/health`, `/.well-known/the402.json`, `/openapi.json` and `/docs`."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_health_reports_this_deployment(api: Client, chain) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["service"] == "the402-api"
    assert (body["network"], body["chain_id"], body["deployment"]) == (
        "base-sepolia",
        84532,
        "devnet",
    )
    assert (body["pay_to"], body["asset"]) == (chain.treasury, chain.usdc)
    assert body["platform"]["catalog"] == "http://127.0.0.1/v1/services/catalog"
    assert body["openapi_spec"] == "/openapi.json"
    assert isinstance(body["timestamp"], int)
    assert body["checks"]["database"] == "ok"


def test_health_without_a_chain_still_answers(api: Client, settings, tmp_path) -> None:
    settings.DATA_DIR = tmp_path  # no devnet deployment here
    body = api.get("/health").json()
    assert (body["status"], body["pay_to"]) == ("ok", None)


def test_health_on_mainnet_names_base(api: Client, settings) -> None:
    settings.NETWORK = "base"
    body = api.get("/health").json()
    assert (body["network"], body["network_caip2"]) == ("base", "eip155:8453")


def test_the_manifest_lists_every_api_endpoint_with_price_and_auth(api: Client) -> None:
    body = api.get("/.well-known/the402.json").json()
    listed = {(e["method"], e["path"]): e for e in body["endpoints"]}
    assert listed[("GET", "/v1/services/catalog")]["price"] == "free"
    assert listed[("GET", "/v1/services/catalog")]["auth"] == "none"
    assert ("GET", "/v1/services/:service_id") in listed
    assert ("GET", "/health") in listed
    assert all(e["description"] for e in body["endpoints"])


def test_the_manifest_links_catalog_openapi_docs_and_payment_details(api: Client) -> None:
    body = api.get("/.well-known/the402.json").json()
    assert body["catalog"] == "http://127.0.0.1/v1/services/catalog"
    assert body["openapi"] == "http://127.0.0.1/openapi.json"
    assert body["docs"] == "http://127.0.0.1/docs"
    assert body["payment"]["protocols"] == ["x402"]
    assert body["payment"]["networks"][0]["caip2"] == "eip155:84532"
    assert body["payment"]["networks"][0]["asset"] == "USDC"


def test_the_manifest_endpoints_match_the_openapi_paths(api: Client) -> None:
    manifest = api.get("/.well-known/the402.json").json()
    openapi = api.get("/openapi.json").json()
    for endpoint in manifest["endpoints"]:
        path = re.sub(r":(\w+)", r"{\1}", endpoint["path"])
        assert endpoint["method"].lower() in openapi["paths"][path], endpoint


def test_openapi_is_a_valid_openapi_3_document(api: Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")


def test_openapi_generates_without_warnings() -> None:
    # drf-spectacular warns of what it had to guess: a hash-suffixed enum name, a view it
    # cannot describe, a type hint it cannot read.
    call_command("spectacular", "--fail-on-warn", "--validate", stdout=io.StringIO())


def test_openapi_documents_the_catalog_parameters_and_errors(api: Client) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/v1/services/catalog"]["get"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {
        "q",
        "category",
        "service_type",
        "type",
        "max_price",
        "provider",
        "min_reputation",
        "min_confidence",
        "include_new",
        "sort",
        "limit",
        "offset",
    } <= parameters
    assert {"200", "400"} <= set(operation["responses"])


def test_the_docs_page_loads_no_asset_from_another_host(api: Client) -> None:
    response = api.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)


def test_cors_exposes_the_payment_headers(api: Client) -> None:
    response = api.get("/v1/services/catalog", HTTP_ORIGIN="https://agent.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    exposed = response["Access-Control-Expose-Headers"].lower()
    assert {"payment-required", "payment-response", "x-payment-response"} <= set(
        h.strip() for h in exposed.split(",")
    )


def test_an_unknown_path_gets_a_json_404(api: Client) -> None:
    response = api.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found", "code": "not_found"}


def test_the_home_page_points_to_the_catalog(api: Client) -> None:
    response = api.get("/")
    assert response.status_code == 200
    assert b"/v1/services/catalog" in response.content
