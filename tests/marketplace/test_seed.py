from __future__ import annotations

import pytest
from django.core.management import call_command

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
