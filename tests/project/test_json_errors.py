"""Errors are JSON for machines: unknown API routes answer `{"error", "code"}` with DEBUG on
(as under `make run`) and off; web pages keep their HTML errors; a 415 names the media type
to send."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

MACHINE_PATHS = [
    "/v1/nope",
    "/v1/nope/",
    "/v1/services/catalog/",
    "/v1/jobs/job_x/not-built-yet",
    "/v1",
    "/v1/",
    "/.well-known/x402-nope",
    "/.well-known/nope/",
    "/facilitator/nope",
    "/facilitator/",
    "/mcp/",
    "/mcp/tools/list",
]


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.mark.parametrize("path", MACHINE_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_api_route_is_a_json_404(api: Client, debug: bool, path: str, method: str) -> None:
    response = getattr(api, method)(path, HTTP_ACCEPT="text/html,*/*")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found", "code": "not_found"}


def test_unknown_page_asked_for_as_json_is_a_json_404(api: Client, debug: bool) -> None:
    response = api.get("/no-such-page", HTTP_ACCEPT="application/json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_accept_preferring_json_over_html_gets_json(api: Client, debug: bool) -> None:
    response = api.get("/no-such-page", HTTP_ACCEPT="application/json, text/html;q=0.5")

    assert response.json()["code"] == "not_found"


def test_unknown_web_page_keeps_an_html_404(api: Client, debug: bool) -> None:
    response = api.get("/no-such-page", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_json_404_keeps_cors_headers(api: Client, debug: bool) -> None:
    response = api.get("/v1/nope", HTTP_ORIGIN="https://agent.example")

    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == "*"


def test_json_404_to_head_has_no_body(api: Client, debug: bool) -> None:
    response = api.head("/v1/nope")

    assert response.status_code == 404
    assert response.content == b""


def test_unsupported_media_type_names_application_json(api: Client, chain: Any) -> None:
    response = api.post("/v1/devnet/faucet", "address=0x1", content_type="text/plain")

    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "unsupported_media_type"
    assert "application/json" in body["error"]
    assert "text/plain" in body["error"]
