from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reputation import sybil
from reputation.services import recompute_all


class Command(BaseCommand):
    help = "Scan for sybils, then rebuild every reputation score from the recorded signals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-scan", action="store_true", help="Only recompute, without the sybil scan."
        )
        parser.add_argument(
            "--no-chain",
            action="store_true",
            help="Scan without reading USDC transfers from the chain.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_scan"]:
            scan = sybil.scan(check_chain=not options["no_chain"])
            chain = "" if scan.chain_checked else " (chain not checked)"
            self.stdout.write(
                f"sybil scan: {scan.edges} trading pairs, {scan.cycles} cycles, "
                f"{len(scan.flags)} new flags{chain}"
            )
        report = recompute_all()
        self.stdout.write(
            f"recomputed {report.providers} providers ({report.jobs} jobs counted, "
            f"{report.rows} score rows)"
        )
