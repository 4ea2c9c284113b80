from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self) -> None:
        from marketplace import commerce, search, selectors
        from payments import earnings, escrow

        # Payments asks the marketplace what to do with an expired or failed escrow, and
        # which service a job was for (earnings).
        escrow.expired_escrow_handler = commerce.escrow_expired
        escrow.failed_escrow_handler = commerce.escrow_failed
        earnings.services_of_jobs = selectors.service_ids_of_jobs

        # The full-text index lives outside Django's model state (an FTS5 table and triggers
        # on SQLite, a generated tsvector column on PostgreSQL). A migration installs it; this
        # re-checks after every migrate, because SQLite's table rebuilds drop triggers.
        post_migrate.connect(search.install_after_migrate, sender=self)
