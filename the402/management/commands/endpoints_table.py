"""Print the README's endpoint table (`--write`: rewrite it in README.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from the402.endpoints_doc import README, endpoints_table, readme_with_table


class Command(BaseCommand):
    help = "Print (or, with --write, update in README.md) the table of endpoints and auth."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--write", action="store_true", help="rewrite README.md's table")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["write"]:
            README.write_text(readme_with_table(README.read_text()))
            self.stdout.write(f"updated {README}")
        else:
            self.stdout.write(endpoints_table())
