"""Error codes come from one registry (`the402.lib.errors.ERROR_CODES`), published in the
manifest and the OpenAPI document; every code the source raises is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from the402.lib.errors import ERROR_CODES

ROOT = Path(__file__).resolve().parents[2]
APPS = ("the402", "payments", "reputation", "marketplace", "referrals")
# `code="…"` passed to an error, and `code = "…"` set on an error class.
RAISED = re.compile(r"\bcode=\"([a-z_0-9]+)\"|^\s+code = \"([a-z_0-9]+)\"", re.M)


def raised_codes() -> set[str]:
    found: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            # Admin forms raise Django's form codes (`invalid`), which no API answer carries.
            if "migrations" in path.parts or "demo" in path.parts or "admin" in path.stem:
                continue
            for match in RAISED.finditer(path.read_text()):
                found.add(match.group(1) or match.group(2))
    return found


def test_every_code_the_source_raises_is_registered() -> None:
    assert sorted(raised_codes() - ERROR_CODES.keys()) == []


def test_the_scan_finds_the_codes_it_should() -> None:
    assert {"thread_expired", "invalid_price", "quote_expired"} <= raised_codes()


@pytest.mark.django_db
def test_the_manifest_publishes_the_registry(api: Client) -> None:
    codes = api.get("/.well-known/the402.json").json()["error_codes"]
    assert codes["price_changed"] == {
        "status": 409,
        "description": ERROR_CODES["price_changed"].description,
    }
    assert set(codes) == set(ERROR_CODES)


@pytest.mark.django_db
def test_the_openapi_document_publishes_the_registry(api: Client) -> None:
    document = api.get("/openapi.json").json()
    assert set(document["x-error-codes"]) == set(ERROR_CODES)
    assert document["x-error-codes"]["thread_expired"]["status"] == 410
    assert set(document["components"]["schemas"]["Error"]["properties"]["code"]["enum"]) == set(
        ERROR_CODES
    )
