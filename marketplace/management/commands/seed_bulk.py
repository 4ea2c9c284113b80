"""`manage.py seed_bulk --services N`: a large varied catalog for benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from marketplace.catalog import search
from marketplace.demo.bulk import seed_bulk


class Command(BaseCommand):
    help = "Create N synthetic services (and providers with varied reputation) for benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--services", type=int, required=True, help="How many services")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (repeatable)")

    def handle(self, *args: Any, services: int, seed: int, **options: Any) -> None:
        created = seed_bulk(services, seed=seed)
        search.optimize(connection)
        self.stdout.write(f"Created {created} services.")
