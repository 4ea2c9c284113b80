"""Writes to the catalog. Every write goes through here (the API, the admin, the seeders)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from marketplace.models import (
    FULFILLMENT_FOR_TYPE,
    TYPE_FOR_FULFILLMENT,
    PricingModel,
    Service,
    ServiceType,
)
from marketplace.schemas import normalize_schema
from payments.models import Participant
from reputation.services import reputation_ensure_provider
from the402.lib import money
from the402.lib.errors import ApplicationError

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
    if pricing_model not in PricingModel.values:
        raise ApplicationError(
            "pricing_model must be fixed or quote_required", code="invalid_pricing_model"
        )
    if pricing_model == PricingModel.QUOTE_REQUIRED and price_max_micros is None:
        price_max_micros = price_micros  # a single quoted figure is a range of one price
    if pricing_model == PricingModel.FIXED and price_max_micros is not None:
        raise ApplicationError(
            "a fixed-price service has one price, not a range", code="invalid_price"
        )
    service = Service(
        provider=provider,
        name=name.strip(),
        description=description.strip(),
        category=category.strip().lower(),
        tags=[t.strip().lower() for t in (tags or []) if t.strip()],
        service_type=resolve_service_type(
            service_type=service_type, fulfillment_type=fulfillment_type
        ),
        pricing_model=pricing_model,
        price_micros=price_micros,
        price_max_micros=price_max_micros,
        estimated_delivery=estimated_delivery.strip(),
        input_schema=normalize_schema(input_schema, field="input_schema"),
        deliverable_schema=normalize_schema(deliverable_schema, field="deliverable_schema"),
        webhook_url=webhook_url,
        status=status,
    )
    service.full_clean()
    service.save()
    reputation_ensure_provider(participant_id=provider.pk)
    return service


@transaction.atomic
def service_bulk_create(services: list[Service], *, batch_size: int = 2000) -> int:
    """Insert many already-validated services at once (seeders and benchmarks).

    Skips `full_clean` per row for speed; the database constraints still hold every row.
    """
    for provider_id in {service.provider_id for service in services}:
        reputation_ensure_provider(participant_id=provider_id)
    Service.objects.bulk_create(services, batch_size=batch_size)
    return len(services)
