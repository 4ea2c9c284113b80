"""`manage.py ledger_check`: prove the ledger's invariants and that the treasury covers them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.ledger_check import ledger_problems, owed_micros
from the402.lib.money import format_usd


class Command(BaseCommand):
    help = (
        "Check that every ledger transaction sums to zero, cached balances equal their "
        "entries, no account is below zero, and the treasury's USDC covers what is owed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-chain", action="store_true", help="Do not read the treasury balance on-chain"
        )

    def handle(self, *args: Any, skip_chain: bool = False, **options: Any) -> None:
        problems = ledger_problems()
        owed = owed_micros()
        if not skip_chain:
            from payments.chain.client import current_deployment
            from payments.chain.usdc import balance_of

            deployment = current_deployment()
            held = balance_of(token=deployment.usdc, address=deployment.treasury)
            if held < owed:
                problems.append(
                    f"the treasury holds {format_usd(held)} USDC but owes {format_usd(owed)}"
                )
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"ledger_check found {len(problems)} problem(s)")
        self.stdout.write(f"ledger_check: ok (owed to participants: {format_usd(owed)} USDC)")
