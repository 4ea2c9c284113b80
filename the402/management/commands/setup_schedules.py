"""`manage.py setup_schedules`: install the django-q2 schedules (safe to run again)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from the402.schedules import install_schedules


class Command(BaseCommand):
    help = "Create or update the scheduled tasks django-q2 runs."

    def handle(self, *args: Any, **options: Any) -> None:
        names = install_schedules()
        self.stdout.write(f"Schedules installed: {', '.join(names)}")
