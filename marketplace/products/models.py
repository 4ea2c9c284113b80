"""Digital products: a provider's file sold as a one-time purchase, and the purchases with
their download counts. The file lives in the `products` storage (`STORAGES["products"]`),
which no URL serves: it leaves only through the download endpoint."""

from __future__ import annotations

from django.db import models

from the402.lib import money
from the402.lib.ids import new_public_id
from the402.lib.models import BaseModel


def _product_id() -> str:
    return new_public_id("prod")


def _purchase_id() -> str:
    return new_public_id("pur")


class Product(BaseModel):
    """A product. `price_micros` is the provider's price; buyers pay it plus the platform
    fee. A deleted product is no longer sold but stays downloadable by its buyers."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DELETED = "deleted", "Deleted"

    public_id = models.CharField(max_length=24, unique=True, default=_product_id, editable=False)
    provider = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="products"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=5000, blank=True)
    category = models.CharField(max_length=50, blank=True)
    tags = models.JSONField(default=list, blank=True)
    price_micros = models.BigIntegerField()
    download_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Downloads per purchase (empty: no limit)"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    price_changed_at = models.DateTimeField(null=True, blank=True)
    # The file, by its name in the `products` storage (empty until uploaded).
    file_key = models.CharField(max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_micros__gt=0), name="product_price_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="product_status_idx"),
            models.Index(fields=["status", "category"], name="product_category_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    @property
    def agent_price_micros(self) -> int:
        return money.agent_price(self.price_micros)

    @property
    def has_file(self) -> bool:
        return bool(self.file_key)


class ProductPurchase(BaseModel):
    """One buyer's purchase of a product (at most one per buyer), with its downloads."""

    public_id = models.CharField(max_length=24, unique=True, default=_purchase_id, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchases")
    buyer = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="product_purchases"
    )
    price_micros = models.BigIntegerField()
    fee_micros = models.BigIntegerField()
    method = models.CharField(max_length=10)  # x402, balance
    downloads = models.PositiveIntegerField(default=0)
    last_counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "buyer"], name="product_purchase_once")
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.product_id} by {self.buyer_id})"
