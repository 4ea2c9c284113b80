from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self) -> None:
        from marketplace.catalog import search
        from marketplace.deals import escrows, selectors
        from payments import hooks

        # Payments asks the marketplace what to do with an expired or failed escrow (its
        # job decides), and which service each job was for (earnings).
        hooks.escrow_expired.implement(escrows.escrow_expired)
        hooks.escrow_failed.implement(escrows.escrow_failed)
        hooks.services_of_jobs.implement(selectors.service_ids_of_jobs)

        # The full-text index lives outside Django's model state (an FTS5 table and triggers
        # on SQLite, a generated tsvector column on PostgreSQL). A migration installs it; this
        # re-checks after every migrate, because SQLite's table rebuilds drop triggers.
        post_migrate.connect(search.install_after_migrate, sender=self)
        from marketplace.products import search as product_search

        post_migrate.connect(product_search.install_after_migrate, sender=self)
