"""`seed_demo` adds the demo plans and products (idempotently), bundling demo services."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from marketplace.models import Plan, Product

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_plans_and_products_once() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    assert Plan.objects.count() == 3 and Product.objects.count() == 3
    essentials = Plan.objects.get(name="Datapoint Essentials")
    assert essentials.services.count() == 4
    assert all(p.has_file and p.content_type for p in Product.objects.all())
    assert Product.objects.get(name__startswith="Disposable").content_type == "text/csv"
