"""The public programme, `/health`'s referral_program and the manifest tell the truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_programme_is_public_with_its_numbers(api: Client) -> None:
    body = api.get("/v1/referrals/program").json()
    assert body["rates"]["agent_referral_pct"] == 20
    assert body["rates"]["provider_referral_pct"] == 25
    assert body["rules"]["min_transactions"] == 3
    assert body["rules"]["monthly_cap_usd"] == 500
    assert body["rules"]["max_referrals_per_day"] == 10
    assert body["launch_bonus"]["active"] is False


def test_the_launch_bonus_shows_while_it_runs(api: Client, settings: Any) -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    settings.REFERRAL_PROGRAM_START = start
    with time_machine.travel(start + timedelta(days=10), tick=False):
        body = api.get("/v1/referrals/program").json()
        health = api.get("/health").json()["referral_program"]
    assert body["launch_bonus"]["active"] is True
    assert body["launch_bonus"]["ends_at"] == "2026-07-30T00:00:00Z"
    assert body["rates"]["current_agent_referral_pct"] == 40
    assert (health["enabled"], health["launch_bonus_active"]) == (True, True)


def test_the_manifest_lists_the_referral_endpoints(api: Client) -> None:
    endpoints = api.get("/.well-known/the402.json").json()["endpoints"]
    listed = {(e["method"], e["path"]) for e in endpoints}
    assert {
        ("GET", "/v1/referrals/program"),
        ("GET", "/v1/referrals/code"),
        ("GET", "/v1/referrals"),
        ("GET", "/v1/referrals/earnings"),
        ("POST", "/v1/referrals/withdraw"),
    } <= listed
