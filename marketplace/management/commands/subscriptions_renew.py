"""`manage.py subscriptions_renew`: run the subscriptions' renewal at once (the schedule
`subscriptions-renew` runs it every 30 minutes)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from marketplace.plans.renewals import subscriptions_renew_due


class Command(BaseCommand):
    help = "Renew, retry or expire every subscription at its period end."

    def handle(self, *args: Any, **options: Any) -> None:
        run = subscriptions_renew_due()
        self.stdout.write(
            f"subscriptions_renew: renewed {run.renewed}, past due {run.past_due}, "
            f"expired {run.expired}, skipped {run.skipped}"
        )
