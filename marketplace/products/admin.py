"""The operator's console: digital products and their purchases (read-only: they change
through `products.services` only)."""

from __future__ import annotations

from django.contrib import admin

from marketplace.products.models import Product, ProductPurchase
from the402.lib.admin import ReadOnlyAdmin, ReadOnlyInline, usd_display


class PurchaseInline(ReadOnlyInline):
    model = ProductPurchase
    fields = ("public_id", "buyer", "total", "method", "downloads", "last_counted_at", "created_at")
    readonly_fields = fields
    total = usd_display("price_micros", "price")


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "name",
        "provider",
        "category",
        "price_micros_usd",
        "download_limit",
        "file_size",
        "content_type",
        "status",
        "created_at",
    )
    list_filter = ("status", "category", "content_type")
    list_select_related = ("provider",)
    search_fields = (
        "=public_id",
        "name",
        "description",
        "=provider__public_id",
        "=provider__wallet",
    )
    money_fields = ("price_micros",)
    inlines = (PurchaseInline,)


@admin.register(ProductPurchase)
class ProductPurchaseAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "product",
        "buyer",
        "price_micros_usd",
        "fee_micros_usd",
        "method",
        "downloads",
        "created_at",
    )
    list_filter = ("method",)
    list_select_related = ("product", "buyer")
    search_fields = ("=public_id", "=product__public_id", "=buyer__public_id", "=buyer__wallet")
    money_fields = ("price_micros", "fee_micros")
