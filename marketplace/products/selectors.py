"""Reads of products and purchases."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from marketplace.products.models import Product, ProductPurchase
from payments.models import Participant
from the402.lib.errors import NotFound


def product_get(product_id: str, *, include_deleted: bool = False) -> Product:
    products = Product.objects.select_related("provider").annotate(
        total_purchases=Count("purchases")
    )
    if not include_deleted:
        products = products.filter(status=Product.Status.ACTIVE)
    product = products.filter(public_id=product_id).first()
    if product is None:
        raise NotFound(f"Product {product_id} not found", code="product_not_found")
    return product


def products_list(*, category: str | None = None, provider: str | None = None) -> QuerySet[Product]:
    products = (
        Product.objects.filter(status=Product.Status.ACTIVE)
        .select_related("provider")
        .annotate(total_purchases=Count("purchases"))
    )
    if category:
        products = products.filter(category__iexact=category)
    if provider:
        products = products.filter(
            Q(provider__public_id=provider) | Q(provider__wallet__iexact=provider)
        )
    return products


def purchase_of(product: Product, buyer: Participant) -> ProductPurchase | None:
    return ProductPurchase.objects.filter(product=product, buyer=buyer).first()


def purchases_of(buyer: Participant) -> QuerySet[ProductPurchase]:
    return (
        ProductPurchase.objects.filter(buyer=buyer)
        .select_related("product", "product__provider")
        .order_by("-created_at", "-id")
    )
