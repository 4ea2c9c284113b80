from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self) -> None:
        from marketplace import commerce, search
        from payments import escrow

        # Reconciliation asks the marketplace what to do with an expired escrow.
        escrow.expired_escrow_handler = commerce.escrow_expired

        # The full-text index lives outside Django's model state (an FTS5 table and triggers
        # on SQLite, a generated tsvector column on PostgreSQL). A migration installs it; this
        # re-checks after every migrate, because SQLite's table rebuilds drop triggers.
        post_migrate.connect(search.install_after_migrate, sender=self)
