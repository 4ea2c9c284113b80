"""Digital products: listing rules, the file, buying (once per buyer) and downloading.

* **Buying** goes through the payment gate (x402 or balance; the provider's share to its
  balance, the fee to the platform), with the agreed-amount rules of services (`max_price`
  / `X-Max-Price`; a balance purchase within 15 minutes of a price change needs one). A
  second purchase is a 409 `already_purchased` before any charge; two at once: the unique
  (product, buyer) row lets one through, the other rolls back with its charge.
* **Downloads** are counted under the purchase's row lock. A response that serves byte 0
  counts; another range is free within 24 hours of a counted download (a resumed
  download), else it counts too. Past `download_limit`: 403 `download_limit_reached`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.deals.purchases import PriceChanged
from marketplace.plans.services import check_price, price_agreed
from marketplace.products import files
from marketplace.products.models import Product, ProductPurchase
from marketplace.products.selectors import purchase_of
from payments.charges import Paid, Price
from payments.ledger import PLATFORM_FEES, provider_account
from payments.models import Participant
from the402.lib import money
from the402.lib.api import iso
from the402.lib.errors import ApplicationError, Conflict

RESUME_WINDOW = timedelta(hours=24)
MAX_TAGS = 20


def _check_tags(tags: Any) -> list[str]:
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise ApplicationError(
            f"tags must be a list of at most {MAX_TAGS} words", code="invalid_field"
        )
    cleaned = []
    for tag in tags:
        if not isinstance(tag, str) or not 0 < len(tag.strip()) <= 40:
            raise ApplicationError("each tag is a word of 1 to 40 characters", code="invalid_field")
        cleaned.append(tag.strip().lower())
    return list(dict.fromkeys(cleaned))


def _require_owner(product: Product, provider: Participant) -> None:
    if product.provider_id != provider.pk:
        raise ApplicationError(
            "Only the product's provider can do this", code="forbidden", status=403
        )


def check_upload(upload: File | None) -> File:
    if upload is None:
        raise ApplicationError("send the file as multipart field `file`", code="missing_file")
    size = upload.size or 0
    if size <= 0:
        raise ApplicationError("the file is empty", code="empty_file")
    if size > settings.PRODUCT_MAX_BYTES:
        raise ApplicationError(
            f"the file is larger than {settings.PRODUCT_MAX_BYTES} bytes",
            code="file_too_large",
            status=413,
        )
    return upload


def _attach(product: Product, upload: File) -> str:
    """Store the file and point the product at it (in the caller's transaction); the old
    file is deleted once that commits, the new one if it does not."""
    name = (getattr(upload, "name", None) or "download").rsplit("/", 1)[-1][-200:] or "download"
    stored = files.file_store(product.public_id, upload, name)
    old = product.file_key
    product.file_key, product.file_name = stored.key, name
    product.file_size, product.content_type = stored.size, stored.content_type
    product.file_sha256 = stored.sha256
    transaction.on_commit(lambda: files.file_delete(old))
    return stored.key


@transaction.atomic
def product_create(
    *,
    provider: Participant,
    name: str,
    description: str = "",
    price_micros: int,
    category: str = "",
    tags: list[str] | None = None,
    download_limit: int | None = None,
    upload: File | None = None,
) -> Product:
    product = Product(
        provider=provider,
        name=name,
        description=description,
        price_micros=check_price(price_micros),
        category=category.strip().lower(),
        tags=_check_tags(tags or []),
        download_limit=download_limit,
    )
    key = _attach(product, check_upload(upload)) if upload is not None else ""
    try:
        product.save()
    except BaseException:
        files.file_delete(key)
        raise
    return product


@transaction.atomic
def product_update(*, product: Product, provider: Participant, **fields: Any) -> Product:
    """Change a product (its owner). A price change is what the 15-minute rule watches."""
    _require_owner(product, provider)
    locked = Product.objects.select_for_update().get(pk=product.pk)
    if "price_micros" in fields:
        price = check_price(fields.pop("price_micros"))
        if price != locked.price_micros:
            locked.price_micros, locked.price_changed_at = price, timezone.now()
    if "tags" in fields:
        locked.tags = _check_tags(fields.pop("tags"))
    if "category" in fields:
        locked.category = fields.pop("category").strip().lower()
    for name in ("name", "description", "download_limit"):
        if name in fields:
            setattr(locked, name, fields.pop(name))
    locked.save()
    return locked


@transaction.atomic
def product_file_replace(
    *, product: Product, provider: Participant, upload: File | None
) -> Product:
    _require_owner(product, provider)
    locked = Product.objects.select_for_update().get(pk=product.pk)
    key = _attach(locked, check_upload(upload))
    try:
        locked.save()
    except BaseException:
        files.file_delete(key)
        raise
    return locked


@transaction.atomic
def product_delete(*, product: Product, provider: Participant) -> Product:
    """Not sold any more; its buyers can still download it."""
    _require_owner(product, provider)
    Product.objects.filter(pk=product.pk).update(
        status=Product.Status.DELETED, updated_at=timezone.now()
    )
    product.status = Product.Status.DELETED
    return product


# --- buying -----------------------------------------------------------------------------
def product_price(product: Product) -> Price:
    return Price(
        product.agent_price_micros,
        f"Purchase of {product.name}",
        PLATFORM_FEES,
        shares=((provider_account(product.provider), product.price_micros),),
    )


def _price_changed(product: Product, why: str) -> PriceChanged:
    return PriceChanged(
        f"{why}; nothing was charged. Purchase again with max_price (the agent price in USD) "
        "to agree to the current price.",
        extra={
            "product_id": product.public_id,
            "price": money.format_usd(product.price_micros),
            "agent_price": money.format_usd(product.agent_price_micros),
            "price_changed_at": iso(product.price_changed_at),
        },
    )


def already_purchased(purchase: ProductPurchase) -> Conflict:
    return Conflict(
        f"You already own this product (purchase {purchase.public_id}): download it",
        code="already_purchased",
        extra={"purchase_id": purchase.public_id},
    )


def purchase_validate(
    *, product: Product, payer: str | None, max_price: int | None, by_balance: bool
) -> Product:
    """Before payment, nothing written: a file to sell, not the provider's own, not owned
    yet, at an agreed price."""
    if not product.has_file:
        raise Conflict("This product has no file yet", code="product_unavailable")
    if payer is not None:
        if payer.lower() == product.provider.wallet.lower():
            raise ApplicationError("You cannot buy your own product", code="own_product")
        buyer = Participant.objects.filter(wallet__iexact=payer).first()
        owned = purchase_of(product, buyer) if buyer is not None else None
        if owned is not None:
            raise already_purchased(owned)
    price_agreed(product, max_price=max_price, by_balance=by_balance, changed=_price_changed)
    return product


@transaction.atomic
def purchase_perform(*, product: Product, paid: Paid) -> ProductPurchase:
    if paid.amount != product.agent_price_micros:
        raise _price_changed(product, "The price changed during the purchase")
    try:
        with transaction.atomic():
            return ProductPurchase.objects.create(
                product=product,
                buyer=paid.participant,
                price_micros=product.price_micros,
                fee_micros=money.platform_fee(product.price_micros),
                method=paid.method,
            )
    except IntegrityError:
        owned = purchase_of(product, paid.participant)
        if owned is None:
            raise
        raise already_purchased(owned) from None


# --- downloading ------------------------------------------------------------------------
def purchase_for_download(product: Product, payer: str | None) -> ProductPurchase:
    buyer = Participant.objects.filter(wallet__iexact=payer).first() if payer else None
    purchase = purchase_of(product, buyer) if buyer is not None else None
    if purchase is None:
        raise ApplicationError(
            "Buy this product first (POST /v1/products/:id/purchase)",
            code="not_purchased",
            status=403,
        )
    return purchase


@dataclass(frozen=True)
class Download:
    purchase: ProductPurchase
    start: int
    end: int  # inclusive
    counted: bool


@transaction.atomic
def download_take(
    purchase: ProductPurchase, *, start: int, end: int, now: datetime | None = None
) -> Download:
    """Count a download of bytes start..end under the purchase's row lock (see the
    module); 403 `download_limit_reached` past the limit."""
    now = now or timezone.now()
    locked = (
        ProductPurchase.objects.select_for_update(of=("self",))
        .select_related("product")
        .get(pk=purchase.pk)
    )
    resumed = (
        start > 0
        and locked.last_counted_at is not None
        and now - locked.last_counted_at <= RESUME_WINDOW
    )
    if resumed:
        return Download(locked, start, end, counted=False)
    limit = locked.product.download_limit
    if limit is not None and locked.downloads >= limit:
        raise ApplicationError(
            f"This purchase used its {limit} downloads",
            code="download_limit_reached",
            status=403,
            extra={"downloads": locked.downloads, "download_limit": limit},
        )
    ProductPurchase.objects.filter(pk=locked.pk).update(
        downloads=locked.downloads + 1, last_counted_at=now, updated_at=now
    )
    locked.downloads += 1
    locked.last_counted_at = now
    return Download(locked, start, end, counted=True)
