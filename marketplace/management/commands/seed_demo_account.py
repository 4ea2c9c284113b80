"""`manage.py seed_demo_account`: the demo agent's dashboard account (devnet only), with a
deposit and a few deals from the demo catalog; prints how to sign in (`make run` calls it
once the server answers)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.demo.account import seed_demo_account


class Command(BaseCommand):
    help = "Create the demo agent's dashboard account on devnet (once) and print its sign-in."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.NETWORK != "devnet":
            raise CommandError("seed_demo_account runs only on devnet: its password is public.")
        account = seed_demo_account()
        for note in account.notes:
            self.stdout.write(f"  {note}")
        self.stdout.write(
            f"demo agent: sign in at /accounts/login/ with {account.email} / {account.password}"
        )
