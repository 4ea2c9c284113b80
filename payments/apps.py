from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments and identity"

    def ready(self) -> None:
        # Importing these registers their chain-call handlers, so any worker that runs a
        # chain call (web process or django-q2 cluster) knows how to conclude it.
        from payments import escrow, payouts  # noqa: F401
