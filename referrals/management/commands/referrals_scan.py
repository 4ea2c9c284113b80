from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from referrals.tasks import scan_referral_rewards


class Command(BaseCommand):
    help = "Scan the transactions that became final and credit referral rewards (now)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(scan_referral_rewards())
