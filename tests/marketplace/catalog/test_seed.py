from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from marketplace.demo.catalog import CATALOG_PATH, CatalogError, load_catalog, parse_catalog
from marketplace.models import PricingModel, Service, ServiceType
from payments.models import Participant

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_believable_catalog() -> None:
    call_command("seed_demo", verbosity=0)
    services = Service.objects.all()
    assert services.count() >= 60
    assert services.values("category").distinct().count() >= 8
    assert set(services.values_list("service_type", flat=True)) == set(ServiceType.values)
    assert set(services.values_list("pricing_model", flat=True)) == set(PricingModel.values)
    assert services.values("provider").distinct().count() >= 5


def test_seed_demo_is_idempotent() -> None:
    call_command("seed_demo", verbosity=0)
    counts = (Participant.objects.count(), Service.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (Participant.objects.count(), Service.objects.count()) == counts


def test_seed_demo_if_empty_leaves_an_existing_catalog_alone() -> None:
    call_command("seed_bulk", services=3, verbosity=0)
    call_command("seed_demo", if_empty=True, verbosity=0)
    assert Service.objects.count() == 3


def test_the_demo_catalog_answers_a_search_for_seo(api) -> None:
    call_command("seed_demo", verbosity=0)
    body = api.get("/v1/services/catalog?q=seo").json()
    assert body["total"] >= 3
    assert "seo" in body["services"][0]["name"].lower()


def test_seed_bulk_creates_the_requested_number_of_services(api) -> None:
    call_command("seed_bulk", services=120, verbosity=0)
    assert Service.objects.count() == 120
    assert api.get("/v1/services/catalog?limit=1").json()["total"] == 120


# --- the demo catalog is a data file (marketplace/demo/catalog.json) ------------------------
def test_seed_demo_lists_the_same_catalog_as_before_it_became_a_data_file() -> None:
    """Counts and a few listings as `demo_data.py` seeded them, field for field."""
    call_command("seed_demo", verbosity=0)
    services = Service.objects.select_related("provider")
    assert Participant.objects.count() == 10
    assert Counter(services.values_list("service_type", flat=True)) == {
        "automated_service": 23,
        "data_api": 27,
        "human_service": 33,
    }
    assert Counter(services.values_list("pricing_model", flat=True)) == {
        "fixed": 58,
        "quote_required": 25,
    }
    assert Counter(services.values_list("category", flat=True)) == {
        "blockchain": 5,
        "content": 4,
        "data": 9,
        "design": 8,
        "devops": 8,
        "finance": 5,
        "legal": 4,
        "marketing": 7,
        "research": 2,
        "security": 10,
        "seo": 9,
        "translation": 4,
        "wordpress": 8,
    }
    known = {
        (s.provider.name, s.name): (
            s.category,
            s.service_type,
            s.pricing_model,
            s.price_micros,
            s.price_max_micros,
            s.estimated_delivery,
        )
        for s in services.filter(
            name__in=[
                "Language Detection",
                "Keyword Difficulty Lookup",
                "Dockerfile Review & Hardening",
                "Cloud Security Posture Review",
            ]
        )
    }
    assert known == {
        ("Polyglot Content Studio", "Language Detection"): (
            "translation",
            "data_api",
            "fixed",
            1_000,
            None,
            "instant",
        ),
        ("Rankwise SEO Labs", "Keyword Difficulty Lookup"): (
            "seo",
            "data_api",
            "fixed",
            20_000,
            None,
            "instant",
        ),
        ("StackOps Cloud", "Dockerfile Review & Hardening"): (
            "devops",
            "automated_service",
            "fixed",
            2_000_000,
            None,
            "5 minutes",
        ),
        ("Bastion Security Group", "Cloud Security Posture Review"): (
            "security",
            "human_service",
            "quote_required",
            800_000_000,
            4_000_000_000,
            "5 days",
        ),
    }
    dockerfile = services.get(name="Dockerfile Review & Hardening")
    assert dockerfile.tags == ["docker", "containers", "security"]
    assert dockerfile.input_schema["required"] == ["dockerfile"]
    assert set(
        Participant.objects.filter(type=Participant.Type.BOTH).values_list("name", flat=True)
    ) == {"Polyglot Content Studio", "Ledger & Lex Research"}


def test_seed_demo_refuses_off_devnet(settings: Any) -> None:
    settings.NETWORK = "base"
    with pytest.raises(CommandError, match="only on devnet"):
        call_command("seed_demo", verbosity=0)
    assert not Participant.objects.exists()


def test_seed_demo_on_devnet_points_the_demo_webhooks(settings: Any) -> None:
    settings.NETWORK = "devnet"
    call_command("seed_demo", webhook_url="http://127.0.0.1:8000/demo/provider", verbosity=0)
    assert set(Participant.objects.values_list("webhook_url", flat=True)) == {
        "http://127.0.0.1:8000/demo/provider"
    }


def bundled() -> dict[str, Any]:
    """The bundled catalog as parsed JSON; services[1] is "Keyword Difficulty Lookup"."""
    return json.loads(CATALOG_PATH.read_text(encoding="utf-8"))


def test_the_bundled_catalog_is_valid() -> None:
    catalog = load_catalog()
    assert (len(catalog.providers), len(catalog.services)) == (10, 83)


KEYWORD = r"services\[1\] \('Keyword Difficulty Lookup'\)"


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        pytest.param(
            lambda d: d["services"][1].pop("category"),
            rf"{KEYWORD}: category is required",
            id="missing-field",
        ),
        pytest.param(
            lambda d: d["services"][1].update(price=0.001),
            rf"{KEYWORD}: price must be a decimal string of US dollars such as \"25.00\" "
            r"\(at most 6 decimals\), not 0.001",
            id="price-as-number",
        ),
        pytest.param(
            lambda d: d["services"][1].update(price="$0.001"),
            rf"{KEYWORD}: price must be a decimal string",
            id="price-with-dollar-sign",
        ),
        pytest.param(
            lambda d: d["services"][1].update(price="0.0000001"),
            rf"{KEYWORD}: price must be a decimal string",
            id="price-below-a-micro",
        ),
        pytest.param(
            lambda d: d["services"][1].update(service_type="robot"),
            rf"{KEYWORD}: service_type must be one of data_api, automated_service, "
            r"human_service, not 'robot'",
            id="service-type",
        ),
        pytest.param(
            lambda d: d["services"][1].update(tags="nlp"),
            rf"{KEYWORD}: tags must be a list, not \"nlp\"",
            id="wrong-type",
        ),
        pytest.param(
            lambda d: d["services"][1].update(deliverable_schema={"type": "strng"}),
            rf"{KEYWORD}: deliverable_schema is not a valid JSON Schema at type: ",
            id="invalid-schema",
        ),
        pytest.param(
            lambda d: d["services"][1].update(prise="1.00"),
            rf"{KEYWORD}: unknown field 'prise'",
            id="unknown-field",
        ),
        pytest.param(
            lambda d: d["services"][1].update(provider="nobody"),
            rf"{KEYWORD}: provider 'nobody' is not a provider's key",
            id="unknown-provider",
        ),
        pytest.param(
            lambda d: d["services"][1].update(pricing_model="quote_required"),
            rf"{KEYWORD}: a quote_required service needs price_min and price_max",
            id="quote-without-range",
        ),
        pytest.param(
            lambda d: d["services"][2].update(name="Keyword Difficulty Lookup"),
            r"services\[2\] \('Keyword Difficulty Lookup'\): name 'Keyword Difficulty Lookup' "
            "is already used",
            id="duplicate-name",
        ),
        pytest.param(
            lambda d: d["providers"][0].update(wallet="0xABC"),
            r"providers\[0\] \('Rankwise SEO Labs'\): wallet must be",
            id="provider-wallet",
        ),
    ],
)
def test_the_loader_names_a_malformed_entry(break_it: Any, message: str) -> None:
    data = bundled()
    break_it(data)
    with pytest.raises(CatalogError, match=f"^catalog.json: {message}"):
        parse_catalog(data)


def test_the_loader_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text('{"providers": [', encoding="utf-8")
    with pytest.raises(CatalogError, match="^catalog.json: not valid JSON"):
        load_catalog(path)
