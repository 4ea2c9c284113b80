"""Input and output of the products API."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.products.models import Product, ProductPurchase
from the402.lib import money
from the402.lib.api import MoneyField, iso

SORTS = ("relevance", "newest", "price_asc", "price_desc", "popular")


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagsField(serializers.Field):
    """A list of words: JSON, or (in a multipart form) a JSON list or comma-separated text."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise serializers.ValidationError("not a JSON list") from None
            return [t for t in (part.strip() for part in text.split(",")) if t]
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ProductInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=5000, allow_blank=True, default="")
    price = MoneyField(code="invalid_price")
    category = serializers.CharField(max_length=50, allow_blank=True, default="")
    tags = TagsField(required=False)
    download_limit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=1_000_000
    )

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "price" in values:
            values["price_micros"] = values.pop("price")
        return values


class ProductUpdateInput(ProductInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def to_internal_value(self, data: Any) -> Any:
        given = set(data or {})
        if "price" in given:
            given.add("price_micros")
        values = super().to_internal_value(data)
        return {k: v for k, v in values.items() if k in given}


class ProductListInput(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200, allow_blank=True)
    category = serializers.CharField(required=False, max_length=50)
    provider = serializers.CharField(required=False, max_length=60)
    sort = serializers.ChoiceField(choices=SORTS, required=False)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=100_000)


class ProductOutput(serializers.Serializer):
    product_id = serializers.CharField()
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    provider_id = serializers.CharField()
    provider_wallet = serializers.CharField()
    price = serializers.CharField(help_text="The provider's price, USD")
    agent_price = serializers.CharField(help_text="What a buyer pays (plus 5%)")
    download_limit = serializers.IntegerField(allow_null=True)
    file_name = serializers.CharField(allow_null=True)
    file_size = serializers.IntegerField()
    content_type = serializers.CharField(allow_null=True)
    has_file = serializers.BooleanField()
    total_purchases = serializers.IntegerField()
    status = serializers.CharField()
    purchase_endpoint = serializers.CharField()
    created_at = serializers.CharField()

    def to_representation(self, product: Product) -> dict[str, Any]:
        return {
            "product_id": product.public_id,
            "id": product.public_id,
            "name": product.name,
            "description": product.description,
            "category": product.category,
            "tags": product.tags,
            "provider_id": product.provider.public_id,
            "provider_wallet": product.provider.wallet,
            "price": money.format_usd(product.price_micros),
            "agent_price": money.format_usd(product.agent_price_micros),
            "download_limit": product.download_limit,
            "file_name": product.file_name or None,
            "file_size": product.file_size,
            "content_type": product.content_type or None,
            "has_file": product.has_file,
            "total_purchases": getattr(product, "total_purchases", None)
            if getattr(product, "total_purchases", None) is not None
            else product.purchases.count(),
            "status": product.status,
            "purchase_endpoint": f"/v1/products/{product.public_id}/purchase",
            "created_at": iso(product.created_at),
        }


class PurchaseRecordOutput(serializers.Serializer):
    purchase_id = serializers.CharField()
    id = serializers.CharField()
    product_id = serializers.CharField()
    product_name = serializers.CharField()
    price = serializers.CharField()
    platform_fee = serializers.CharField()
    total_paid = serializers.CharField()
    method = serializers.CharField()
    downloads = serializers.IntegerField()
    download_limit = serializers.IntegerField(allow_null=True)
    downloads_remaining = serializers.IntegerField(allow_null=True)
    download_url = serializers.CharField()
    purchased_at = serializers.CharField()

    def to_representation(self, purchase: ProductPurchase) -> dict[str, Any]:
        product = purchase.product
        limit = product.download_limit
        return {
            "purchase_id": purchase.public_id,
            "id": purchase.public_id,
            "product_id": product.public_id,
            "product_name": product.name,
            "price": money.format_usd(purchase.price_micros),
            "platform_fee": money.format_usd(purchase.fee_micros),
            "total_paid": money.format_usd(purchase.price_micros + purchase.fee_micros),
            "method": purchase.method,
            "downloads": purchase.downloads,
            "download_limit": limit,
            "downloads_remaining": None if limit is None else max(0, limit - purchase.downloads),
            "download_url": f"/v1/products/{product.public_id}/download",
            "purchased_at": iso(purchase.created_at),
        }
