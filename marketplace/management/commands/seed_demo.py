"""`manage.py seed_demo`: the believable demo catalog `make run` serves on devnet (idempotent).

The catalog is `marketplace/demo/catalog.json`, validated before anything is written. Off
devnet the command refuses: demo providers have made-up wallets and sample deliveries.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from marketplace.catalog.services import parse_price, service_create
from marketplace.demo.catalog import CatalogError, DemoService, demo_catalog
from marketplace.demo.history import seed_demo_history
from marketplace.demo.offerings import seed_demo_offerings
from marketplace.models import PricingModel, Service
from payments.models import Participant
from payments.services import participant_create, participant_update
from payments.wallets import normalize_address


def _price(entry: DemoService) -> tuple[int, int | None]:
    if entry.get("pricing_model") == PricingModel.QUOTE_REQUIRED:
        return parse_price({"min": entry["price_min"], "max": entry["price_max"]})
    return parse_price(entry["price"])


class Command(BaseCommand):
    help = "Create the demo catalog (providers and services) on devnet. Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any service is listed"
        )
        parser.add_argument(
            "--webhook-url",
            default="",
            help="Point the demo providers' webhooks here (the built-in demo provider, "
            "/demo/provider on devnet), even when the catalog is already there",
        )

    @transaction.atomic
    def handle(
        self, *args: Any, if_empty: bool = False, webhook_url: str = "", **options: Any
    ) -> None:
        if settings.NETWORK != "devnet":
            raise CommandError(
                f"seed_demo runs only on devnet (THE402_NETWORK is {settings.NETWORK!r}): the "
                "demo catalog's providers have made-up wallets and deliver sample data."
            )
        try:
            catalog = demo_catalog()
        except CatalogError as exc:
            raise CommandError(f"The demo catalog is invalid: {exc}") from None
        if webhook_url:
            self._point_webhooks(webhook_url)
        if if_empty and Service.objects.exists():
            self.stdout.write("The catalog is not empty; leaving it as it is.")
            return
        providers: dict[str, Participant] = {}
        for demo_provider in catalog.providers:
            wallet = normalize_address(demo_provider["wallet"])
            participant = Participant.objects.filter(wallet=wallet).first()
            if participant is None:
                participant = participant_create(
                    wallet=wallet,
                    name=demo_provider["name"],
                    type=demo_provider["type"],
                    description=demo_provider["description"],
                )
            providers[demo_provider["key"]] = participant
        if webhook_url:
            self._point_webhooks(webhook_url)

        existing = set(
            Service.objects.filter(provider__in=providers.values()).values_list(
                "provider_id", "name"
            )
        )
        created = 0
        for entry in catalog.services:
            provider = providers[entry["provider"]]
            if (provider.pk, entry["name"]) in existing:
                continue
            price_micros, price_max_micros = _price(entry)
            service_create(
                provider=provider,
                name=entry["name"],
                description=entry["description"],
                category=entry["category"],
                tags=entry.get("tags", []),
                service_type=entry["service_type"],
                pricing_model=entry.get("pricing_model", PricingModel.FIXED),
                price_micros=price_micros,
                price_max_micros=price_max_micros,
                estimated_delivery=entry.get("estimated_delivery", ""),
                input_schema=entry.get("input_schema"),
                deliverable_schema=entry.get("deliverable_schema"),
            )
            created += 1
        self.stdout.write(
            f"Demo catalog: {len(providers)} providers, {created} services created, "
            f"{len(catalog.services) - created} already present."
        )
        offerings = seed_demo_offerings(providers)
        self.stdout.write(
            f"Demo offerings: {offerings.plans} plans, {offerings.products} products created."
        )
        history = seed_demo_history(providers)
        self.stdout.write(f"Demo history: {history.jobs} jobs for {history.providers} providers.")

    def _point_webhooks(self, url: str) -> None:
        wallets = [normalize_address(entry["wallet"]) for entry in demo_catalog().providers]
        for participant in Participant.objects.filter(wallet__in=wallets):
            if participant.webhook_url != url:
                participant_update(participant=participant, webhook_url=url)
