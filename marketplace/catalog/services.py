"""Writes to the catalog. Every write goes through here (the API, the admin, the seeders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from marketplace.catalog.models import (
    FULFILLMENT_FOR_TYPE,
    TYPE_FOR_FULFILLMENT,
    PricingModel,
    Service,
    ServiceType,
)
from marketplace.catalog.schemas import normalize_schema
from payments.models import Participant
from payments.services import participant_register, participant_update, webhook_secret_ensure
from reputation.services import reputation_ensure_provider
from the402.lib import money
from the402.lib.errors import ApplicationError, NotFound

# Legacy name some clients send for automated fulfilment.
_FULFILLMENT_ALIASES = {"async": "automated"}


def resolve_service_type(*, service_type: str | None, fulfillment_type: str | None) -> str:
    """Infer the service type from the fulfilment type when omitted, and check they agree."""
    if fulfillment_type is not None:
        fulfillment_type = _FULFILLMENT_ALIASES.get(fulfillment_type, fulfillment_type)
        if fulfillment_type not in TYPE_FOR_FULFILLMENT:
            raise ApplicationError(
                "fulfillment_type must be one of: instant, automated, human",
                code="invalid_fulfillment_type",
            )
    if service_type is not None and service_type not in ServiceType.values:
        raise ApplicationError(
            "service_type must be one of: " + ", ".join(ServiceType.values),
            code="invalid_service_type",
        )
    if service_type is None:
        return TYPE_FOR_FULFILLMENT[fulfillment_type or "automated"]
    if fulfillment_type is not None and FULFILLMENT_FOR_TYPE[service_type] != fulfillment_type:
        raise ApplicationError(
            f"fulfillment_type {fulfillment_type!r} does not fit service_type {service_type!r} "
            f"(expected {FULFILLMENT_FOR_TYPE[service_type]!r})",
            code="inconsistent_service_type",
        )
    return service_type


def parse_price(value: Any) -> tuple[int, int | None]:
    """Parse a listing price into `(price_micros, price_max_micros)`.

    Accepts `"25.00"`, `"$25.00"`, `{"fixed": "$25.00"}` and, for quoted services,
    `{"min": "25", "max": "500"}`.
    """
    try:
        if isinstance(value, dict):
            if "fixed" in value:
                return money.parse_usd(value["fixed"]), None
            if "min" in value and "max" in value:
                low, high = money.parse_usd(value["min"]), money.parse_usd(value["max"])
                if high < low:
                    raise ApplicationError("price max is below price min", code="invalid_price")
                return low, high
            raise ApplicationError(
                'price object needs "fixed", or "min" and "max"', code="invalid_price"
            )
        return money.parse_usd(value), None
    except money.MoneyError as exc:
        raise ApplicationError(f"price: {exc}", code="invalid_price") from None


# What a provider may set on a listing. `fulfillment_type` is not stored: it decides (or is
# checked against) `service_type`.
_LISTING_FIELDS = frozenset(
    {
        "name",
        "description",
        "category",
        "tags",
        "service_type",
        "fulfillment_type",
        "pricing_model",
        "price_micros",
        "price_max_micros",
        "estimated_delivery",
        "input_schema",
        "deliverable_schema",
        "webhook_url",
        "status",
    }
)
_PRICE_FIELDS = frozenset({"pricing_model", "price_micros", "price_max_micros"})


def _listing_pricing(service: Service, fields: dict[str, Any]) -> dict[str, Any]:
    """The pricing columns `fields` leads to, checked against the listing as it will be.

    A partial update is judged with the stored values it does not replace, so a new range
    cannot land on a fixed-price service, nor a fixed model keep an old range.
    """
    if not _PRICE_FIELDS & fields.keys():
        return {}
    pricing_model = fields.get("pricing_model", service.pricing_model)
    if pricing_model not in PricingModel.values:
        raise ApplicationError(
            "pricing_model must be fixed or quote_required", code="invalid_pricing_model"
        )
    price_given = "price_micros" in fields or "price_max_micros" in fields
    price_micros = fields.get("price_micros", service.price_micros)
    if "price_max_micros" in fields:
        price_max_micros = fields["price_max_micros"]
    elif "price_micros" in fields:
        price_max_micros = None  # a new single price replaces the old range
    else:
        price_max_micros = service.price_max_micros
    if pricing_model == PricingModel.QUOTE_REQUIRED and price_max_micros is None:
        price_max_micros = price_micros  # a single quoted figure is a range of one price
    if pricing_model == PricingModel.FIXED and price_max_micros is not None:
        if not price_given and price_max_micros == price_micros:
            price_max_micros = None  # a quoted range of one price becomes that fixed price
        elif price_given:
            raise ApplicationError(
                "a fixed-price service has one price, not a range", code="invalid_price"
            )
        else:
            raise ApplicationError(
                "this service is quoted as a range: give the fixed price with pricing_model",
                code="invalid_price",
            )
    _price_in_bounds(price_micros, price_max_micros)
    return {
        "pricing_model": pricing_model,
        "price_micros": price_micros,
        "price_max_micros": price_max_micros,
    }


def _price_in_bounds(price_micros: int, price_max_micros: int | None) -> None:
    """A listed price is above zero and at most `THE402_MAX_PRICE_USD` (so every purchase
    has an amount to sign, and none overflows what a buyer can mean)."""
    ceiling = settings.MAX_PRICE_USD * money.MICROS_PER_USD
    if price_micros <= 0:
        raise ApplicationError("price must be above zero", code="invalid_price")
    if max(price_micros, price_max_micros or 0) > ceiling:
        raise ApplicationError(
            f"price must be at most {money.format_usd(ceiling)} USD", code="invalid_price"
        )


def _listing_apply(service: Service, fields: dict[str, Any]) -> list[str]:
    """Normalise `fields` onto `service` by the catalog's rules; return the columns set.

    The one set of listing rules, shared by `service_create` and `service_update`. Nothing
    is written; on an error `service` may be half-changed, so callers discard it.
    """
    unknown = fields.keys() - _LISTING_FIELDS
    if unknown:
        raise ApplicationError(f"cannot set: {', '.join(sorted(unknown))}", code="invalid_field")
    changed: dict[str, Any] = {}
    for name in ("name", "description", "estimated_delivery"):
        if name in fields:
            changed[name] = fields[name].strip()
    if "category" in fields:
        changed["category"] = fields["category"].strip().lower()
    if "tags" in fields:
        changed["tags"] = [t.strip().lower() for t in (fields["tags"] or []) if t.strip()]
    # Checked in the order service_create always has: pricing, type, then the schemas.
    changed.update(_listing_pricing(service, fields))
    if "service_type" in fields or "fulfillment_type" in fields:
        changed["service_type"] = resolve_service_type(
            service_type=fields.get("service_type"),
            fulfillment_type=fields.get("fulfillment_type"),
        )
    for name in ("input_schema", "deliverable_schema"):
        if name in fields:
            changed[name] = normalize_schema(fields[name], field=name)
    for name in ("webhook_url", "status"):
        if name in fields:
            changed[name] = fields[name]
    for name, value in changed.items():
        setattr(service, name, value)
    return list(changed)


@transaction.atomic
def service_create(
    *,
    provider: Participant,
    name: str,
    description: str,
    category: str,
    price_micros: int,
    price_max_micros: int | None = None,
    pricing_model: str = PricingModel.FIXED,
    service_type: str | None = None,
    fulfillment_type: str | None = None,
    tags: list[str] | None = None,
    estimated_delivery: str = "",
    input_schema: dict[str, Any] | None = None,
    deliverable_schema: dict[str, Any] | None = None,
    webhook_url: str = "",
    status: str = Service.Status.ACTIVE,
) -> Service:
    """List a new service for `provider`; also gives the provider its reputation row."""
    service = Service(provider=provider)
    _listing_apply(
        service,
        {
            "name": name,
            "description": description,
            "category": category,
            "tags": tags,
            "service_type": service_type,
            "fulfillment_type": fulfillment_type,
            "pricing_model": pricing_model,
            "price_micros": price_micros,
            "price_max_micros": price_max_micros,
            "estimated_delivery": estimated_delivery,
            "input_schema": input_schema,
            "deliverable_schema": deliverable_schema,
            "webhook_url": webhook_url,
            "status": status,
        },
    )
    service.full_clean()
    service.save()
    reputation_ensure_provider(participant_id=provider.pk)
    return service


@transaction.atomic
def service_update(*, service: Service, **fields: Any) -> Service:
    """Change the given fields of a listing, by the same rules as `service_create`.

    Returns the updated row, re-read under `select_for_update`: two concurrent partial
    updates are then judged one after the other, so they cannot combine into a listing
    neither would have been allowed to make (say, a range on a fixed price). `service`
    itself is left as it was. Only the changed columns (and `updated_at`) are written; the
    search index follows the row. A `service_type` or `fulfillment_type` of None means
    "not given", as omitting it does.
    """
    for key in ("service_type", "fulfillment_type"):
        if fields.get(key) is None:
            fields.pop(key, None)
    locked = (
        Service.objects.select_for_update(of=("self",))
        .select_related("provider")
        .get(pk=service.pk)
    )
    before = tuple(getattr(locked, name) for name in sorted(_PRICE_FIELDS))
    changed = _listing_apply(locked, fields)
    if before != tuple(getattr(locked, name) for name in sorted(_PRICE_FIELDS)):
        locked.price_changed_at = timezone.now()  # buyers get 15 minutes' notice
        changed.append("price_changed_at")
    if changed:
        locked.full_clean()
        locked.save(update_fields=[*changed, "updated_at"])
    return locked


@transaction.atomic
def service_delete(*, service: Service) -> str:
    """Remove a listing; returns `"deleted"` or `"archived"`.

    A listing without history is deleted for good (its search entry goes with the row).
    Rows that must outlive a listing (jobs, threads) reference it with PROTECT: a service
    with such history is archived instead, out of the catalog and of its provider's
    listings, and kept for its jobs. An archived service counts as deleted: 404 to its
    provider from then on.
    """
    if service.status == Service.Status.ARCHIVED:
        raise NotFound(f"Service {service.public_id} not found", code="service_not_found")
    try:
        with transaction.atomic():
            service.delete()
    except (ProtectedError, RestrictedError):
        Service.objects.filter(pk=service.pk).update(
            status=Service.Status.ARCHIVED, updated_at=timezone.now()
        )
        service.status = Service.Status.ARCHIVED
        return "archived"
    return "deleted"


@transaction.atomic
def service_bulk_create(services: list[Service], *, batch_size: int = 2000) -> int:
    """Insert many already-validated services at once (seeders and benchmarks).

    Skips `full_clean` per row for speed; the database constraints still hold every row.
    """
    for provider_id in {service.provider_id for service in services}:
        reputation_ensure_provider(participant_id=provider_id)
    Service.objects.bulk_create(services, batch_size=batch_size)
    return len(services)


@dataclass(frozen=True)
class Onboarding:
    participant: Participant
    api_key: str
    created: bool  # newly registered (a known wallet's repeat is not)
    webhook_secret: str  # signs every webhook to the provider (its URL and its services')
    # What became of the sign-up's referral code (`payments.hooks.referral_record`).
    referral: dict[str, Any] | None = None


@transaction.atomic
def provider_onboard(
    *,
    wallet: str,
    name: str,
    description: str = "",
    webhook_url: str = "",
    capabilities: list[Any] | None = None,
    referral_code: str = "",
) -> Onboarding:
    """Make `wallet` a provider: register it if new, and give it a signed webhook.

    Idempotent per wallet like `participant_register`: a registered wallet keeps its
    profile and key; an agent becomes `both`. A given `webhook_url` is set. The webhook
    secret is always returned (new with a new URL, else the current one), with or without a
    URL, so that a retried onboarding answers the same as the first.
    """
    registration = participant_register(
        wallet=wallet,
        name=name,
        type=Participant.Type.PROVIDER,
        description=description,
        capabilities=capabilities,
        referral_code=referral_code,
    )
    participant = registration.participant
    changes: dict[str, Any] = {}
    if participant.type == Participant.Type.AGENT:
        changes["type"] = Participant.Type.BOTH
    if webhook_url:
        changes["webhook_url"] = webhook_url
    secret = participant_update(participant=participant, **changes) if changes else None
    if secret is None:
        secret = webhook_secret_ensure(participant)
    return Onboarding(
        participant,
        registration.api_key,
        registration.created,
        secret,
        referral=registration.referral,
    )
