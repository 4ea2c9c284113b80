"""The demo plans and products (`offerings.json`): created on devnet by `seed_demo` for the
demo providers (idempotent: one of each name per provider)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.catalog.models import Service
from marketplace.plans.models import Plan
from marketplace.plans.services import plan_create
from marketplace.products.models import Product
from marketplace.products.services import product_create
from payments.models import Participant
from the402.lib import money

OFFERINGS_PATH = Path(__file__).with_name("offerings.json")


@dataclass
class Seeded:
    plans: int = 0
    products: int = 0


def seed_demo_offerings(providers: dict[str, Participant]) -> Seeded:
    data = json.loads(OFFERINGS_PATH.read_text())
    seeded = Seeded()
    for entry in data["plans"]:
        provider = providers.get(entry["provider"])
        if provider is None or Plan.objects.filter(provider=provider, name=entry["name"]).exists():
            continue
        ids = list(
            Service.objects.filter(provider=provider, name__in=entry["services"]).values_list(
                "public_id", flat=True
            )
        )
        plan_create(
            provider=provider,
            name=entry["name"],
            description=entry["description"],
            price_micros=money.parse_usd(entry["price"]),
            billing_period=entry["billing_period"],
            service_ids=ids,
            max_requests=entry.get("max_requests"),
        )
        seeded.plans += 1
    for entry in data["products"]:
        provider = providers.get(entry["provider"])
        if (
            provider is None
            or Product.objects.filter(provider=provider, name=entry["name"]).exists()
        ):
            continue
        product_create(
            provider=provider,
            name=entry["name"],
            description=entry["description"],
            price_micros=money.parse_usd(entry["price"]),
            category=entry["category"],
            tags=entry["tags"],
            download_limit=entry.get("download_limit"),
            upload=SimpleUploadedFile(entry["file_name"], entry["content"].encode()),
        )
        seeded.products += 1
    return seeded
