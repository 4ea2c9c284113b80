"""`manage.py reconcile`: compare escrows, payouts and payments with the chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from payments.reconcile import reconcile


class Command(BaseCommand):
    help = "Reconcile escrows, payouts and x402 payments with the chain; list open issues."

    def handle(self, *args: Any, **options: Any) -> None:
        issues = reconcile()
        for issue in issues:
            self.stderr.write(f"{issue.kind} {issue.subject}: {issue.detail} -> {issue.action}")
        if issues:
            raise CommandError(f"reconcile: {len(issues)} open issue(s)")
        self.stdout.write("reconcile: ok")
