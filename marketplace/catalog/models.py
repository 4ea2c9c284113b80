"""The catalog's models: a `Service` (a listing) and the enums that classify it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone

from the402.lib import money
from the402.lib.ids import PREFIXES, new_public_id
from the402.lib.models import BaseModel

if TYPE_CHECKING:
    from reputation.models import ReputationScore


def _service_id() -> str:
    return new_public_id(PREFIXES["service"])


class ServiceType(models.TextChoices):
    DATA_API = "data_api", "Data API"
    AUTOMATED_SERVICE = "automated_service", "Automated service"
    HUMAN_SERVICE = "human_service", "Human service"


class FulfillmentType(models.TextChoices):
    INSTANT = "instant", "Instant"
    AUTOMATED = "automated", "Automated"
    HUMAN = "human", "Human"


# One-to-one: a service's type decides how it is fulfilled, and the other way round.
FULFILLMENT_FOR_TYPE: dict[str, str] = {
    ServiceType.DATA_API: FulfillmentType.INSTANT,
    ServiceType.AUTOMATED_SERVICE: FulfillmentType.AUTOMATED,
    ServiceType.HUMAN_SERVICE: FulfillmentType.HUMAN,
}
TYPE_FOR_FULFILLMENT: dict[str, str] = {v: k for k, v in FULFILLMENT_FOR_TYPE.items()}


class PricingModel(models.TextChoices):
    FIXED = "fixed", "Fixed price"
    QUOTE_REQUIRED = "quote_required", "Quote required"


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(status=Service.Status.ACTIVE)


class Service(BaseModel):
    """A listing in the catalog.

    Prices are the provider's, in integer micro-USDC; agents pay them plus the platform fee
    (`the402.lib.money.agent_price`). A fixed-price service has `price_micros`; a quoted one
    has the range `price_micros` (from) to `price_max_micros` (up to).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        # Deleted by its provider while jobs still refer to it: out of the catalog and of
        # the provider's reach, kept for its jobs' history.
        ARCHIVED = "archived", "Archived"

    public_id = models.CharField(max_length=24, unique=True, default=_service_id, editable=False)
    provider = models.ForeignKey(
        "payments.Participant",
        on_delete=models.PROTECT,
        related_name="services",
        db_index=False,  # service_provider_idx starts with provider
    )
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=5000)
    category = models.CharField(max_length=50)
    tags = models.JSONField(default=list, blank=True)
    service_type = models.CharField(max_length=20, choices=ServiceType.choices)
    pricing_model = models.CharField(
        max_length=16, choices=PricingModel.choices, default=PricingModel.FIXED
    )
    price_micros = models.BigIntegerField(help_text="Fixed price, or the lowest quoted price")
    price_max_micros = models.BigIntegerField(
        null=True, blank=True, help_text="Highest quoted price (quote-required services only)"
    )
    estimated_delivery = models.CharField(max_length=50, blank=True)
    input_schema = models.JSONField(null=True, blank=True)
    deliverable_schema = models.JSONField(null=True, blank=True)
    webhook_url = models.URLField(blank=True, max_length=500)
    # The outcome of the last `POST /v1/services/:id/test` probe (None: never probed).
    webhook_healthy = models.BooleanField(null=True, blank=True)
    webhook_checked_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    listed_at = models.DateTimeField(default=timezone.now)
    # When the provider last changed the price (None: never since listing). A balance
    # purchase without a `max_price` is refused for 15 minutes after a change
    # (`marketplace.deals.purchases.purchase_agreed`).
    price_changed_at = models.DateTimeField(null=True, blank=True)

    objects = ServiceQuerySet.as_manager()

    # Not columns: set on the instance by the catalog's reads before it is serialized
    # (`selectors.catalog_search`, the service detail and the owner's views in `api`).
    provider_score: ReputationScore
    reputation_levels: dict[str, ReputationScore]

    class Meta:
        ordering = ["-listed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_micros__gte=0), name="service_price_not_negative"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(pricing_model="fixed", price_max_micros__isnull=True)
                    | models.Q(
                        pricing_model="quote_required",
                        price_max_micros__gte=models.F("price_micros"),
                    )
                ),
                name="service_price_range_matches_model",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-listed_at", "-id"], name="service_newest_idx"),
            models.Index(fields=["status", "price_micros"], name="service_price_idx"),
            models.Index(fields=["status", "category", "price_micros"], name="service_cat_idx"),
            models.Index(fields=["status", "service_type"], name="service_type_idx"),
            # A provider's listings, and the services of top-scored providers (reputation
            # sort): counted from the index alone.
            models.Index(fields=["provider", "status", "-listed_at"], name="service_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    @property
    def fulfillment_type(self) -> str:
        return FULFILLMENT_FOR_TYPE[self.service_type]

    @property
    def is_quoted(self) -> bool:
        return self.pricing_model == PricingModel.QUOTE_REQUIRED

    @property
    def agent_price_micros(self) -> int:
        return money.agent_price(self.price_micros)
