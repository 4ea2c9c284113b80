from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments and identity"

    def ready(self) -> None:
        from payments import escrow, payouts

        # Every process that runs chain calls (web or django-q2 cluster) must know how each
        # kind concludes; registered here, explicitly, never as an import side effect.
        escrow.register_chain_call_handlers()
        payouts.register_chain_call_handlers()
