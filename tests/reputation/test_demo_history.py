"""The demo catalog's history (`seed_demo`): varied reputations, tiers and confidences, so
the catalog's reputation sort and filters order and narrow it meaningfully."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from marketplace.demo.catalog import demo_catalog
from marketplace.demo.history import demo_profiles
from reputation import scoring
from reputation.demo import Profile
from reputation.models import Signal

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> None:
    call_command("seed_demo", verbosity=0)


def catalog(api: Client, query: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/v1/services/catalog?limit=100&{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] <= 100  # the whole demo catalog fits one page
    return body["services"]


def providers(services: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["provider_name"]: s for s in services}


def test_the_demo_providers_span_the_tiers_and_confidences(demo: None, api: Client) -> None:
    everyone = providers(catalog(api)).values()
    tiers = {scoring.tier(p["provider_reputation"]) for p in everyone}
    assert {"excellent", "good", "fair", "poor"} <= tiers
    confidences = sorted(p["provider_confidence"] for p in everyone)
    assert confidences[0] == 0 and confidences[-1] > 0.9
    assert {p["provider_is_new"] for p in everyone} == {True, False}


def test_sort_by_reputation_puts_the_best_providers_first(demo: None, api: Client) -> None:
    services = catalog(api, "sort=reputation")
    scores = [s["provider_reputation"] for s in services]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] >= 90 > 40 > scores[-1]
    assert services[-1]["provider_name"] == "Signal House Marketing"
    assert [s["name"] for s in services] != [s["name"] for s in catalog(api, "sort=newest")]


def test_min_reputation_keeps_only_the_well_rated(demo: None, api: Client) -> None:
    everyone = providers(catalog(api))
    kept = providers(catalog(api, "min_reputation=80"))
    assert set(kept) == {n for n, p in everyone.items() if p["provider_reputation"] >= 80}
    assert 3 <= len(kept) < len(everyone)
    assert "Signal House Marketing" not in kept and "ChainProof Audits" in kept


def test_excluding_new_providers_drops_those_without_enough_history(
    demo: None, api: Client
) -> None:
    everyone = providers(catalog(api))
    established = providers(catalog(api, "include_new=false"))
    # Pixel North has two jobs, Ledger & Lex none: both new, however well they scored.
    assert set(everyone) - set(established) == {"Pixel North Design", "Ledger & Lex Research"}
    assert all(p["provider_confidence"] >= scoring.NEW_CONFIDENCE for p in established.values())


def test_min_confidence_keeps_the_providers_with_the_most_recent_volume(
    demo: None, api: Client
) -> None:
    kept = providers(catalog(api, "min_confidence=0.9"))
    assert set(kept) == {
        "ChainProof Audits",
        "Datapoint APIs",
        "Bastion Security Group",
        "Rankwise SEO Labs",
    }


def test_the_history_is_written_once(demo: None) -> None:
    count = Signal.objects.count()
    assert count > 1_000
    call_command("seed_demo", verbosity=0)
    assert Signal.objects.count() == count


def test_every_profile_is_a_demo_provider_and_valid() -> None:
    keys = {p["key"] for p in demo_catalog().providers}
    profiles = demo_profiles()
    assert set(profiles) <= keys
    assert all(isinstance(p, Profile) for p in profiles.values())
    with pytest.raises(ValueError, match="unknown profile fields: jbos"):
        Profile.from_json({"jbos": 3})
