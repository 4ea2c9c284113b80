"""The operator's console over the marketplace: each package registers its own pages
(services in `catalog.admin`, webhook deliveries in `notify.admin`, jobs and threads in
`deals.admin`, disputes in `deals.admin_disputes`); Django's admin autodiscovery imports
this module, which imports them."""

from __future__ import annotations

from marketplace.catalog import admin as catalog_admin
from marketplace.deals import admin as deals_admin
from marketplace.deals import admin_disputes
from marketplace.notify import admin as notify_admin
from marketplace.plans import admin as plans_admin
from marketplace.products import admin as products_admin

__all__ = [
    "admin_disputes",
    "catalog_admin",
    "deals_admin",
    "notify_admin",
    "plans_admin",
    "products_admin",
]
