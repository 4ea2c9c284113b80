"""API shapes of the catalog. Serializers shape data; they never decide anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.catalog.models import FulfillmentType, PricingModel, Service, ServiceType
from marketplace.catalog.schemas import contains_nul
from marketplace.catalog.selectors import SORTS
from marketplace.catalog.services import parse_price
from payments.serializers import (
    MAX_OFFSET,
    CapabilitiesField,
    HttpUrlField,
    RegistrationOutput,
)
from reputation.selectors import reputation_view
from the402.lib import money
from the402.lib.api import MoneyField, iso
from the402.lib.errors import ApplicationError


class CatalogQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    category = serializers.CharField(required=False, max_length=50)
    service_type = serializers.ChoiceField(
        choices=["data_api", "automated_service", "human_service"], required=False
    )
    type = serializers.ChoiceField(
        choices=["data_api", "automated_service", "human_service"],
        required=False,
        help_text="Alias of service_type.",
    )
    max_price = MoneyField(
        required=False, help_text='Highest agent price in USD, such as "10" or "0.50".'
    )
    provider = serializers.CharField(
        required=False, max_length=64, help_text="Provider participant id or wallet address."
    )
    min_reputation = serializers.FloatField(required=False, min_value=0, max_value=100)
    min_confidence = serializers.FloatField(required=False, min_value=0, max_value=1)
    include_new = serializers.BooleanField(required=False, default=True)
    sort = serializers.ChoiceField(choices=list(SORTS), required=False)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        alias = attrs.pop("type", None)
        if alias and attrs.get("service_type") and alias != attrs["service_type"]:
            raise serializers.ValidationError("type and service_type disagree")
        if alias:
            attrs["service_type"] = alias
        if "max_price" in attrs:
            attrs["max_price_micros"] = attrs.pop("max_price")
        return attrs


_PRICE_SCHEMA = {
    "oneOf": [
        {"type": "string", "example": "25.00"},
        {
            "type": "object",
            "properties": {"min": {"type": "string"}, "max": {"type": "string"}},
            "required": ["min", "max"],
        },
    ]
}


def _price(service: Service, convert: Callable[[int], int]) -> str | dict[str, str]:
    if service.price_max_micros is None:
        return money.format_usd(convert(service.price_micros))
    return {
        "min": money.format_usd(convert(service.price_micros)),
        "max": money.format_usd(convert(service.price_max_micros)),
    }


def _same(micros: int) -> int:
    return micros


@extend_schema_field(_PRICE_SCHEMA)
class PriceField(serializers.Field):
    """A USD price string, or a `{min, max}` range for quote-required services."""


class DimensionsSerializer(serializers.Serializer):
    quality = serializers.FloatField()
    speed = serializers.FloatField()
    reliability = serializers.FloatField()
    communication = serializers.FloatField()


class ServiceSerializer(serializers.Serializer):
    """One catalog entry: the service, its prices, where to buy it, and its provider.

    The fields below define the documented shape; `to_representation` builds it directly,
    since walking DRF fields one by one cost more than the search itself. A test checks
    that both list the same keys.
    """

    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    service_type = serializers.CharField()
    pricing_model = serializers.CharField()
    fulfillment_type = serializers.CharField()
    price = PriceField(help_text="The provider's price.")
    agent_price = PriceField(help_text="What the agent pays: the price plus the platform fee.")
    provider_net_price = PriceField(help_text="What the provider receives.")
    platform_fee_pct = serializers.FloatField()
    estimated_delivery = serializers.CharField()
    input_schema = serializers.JSONField(allow_null=True)
    deliverable_schema = serializers.JSONField(allow_null=True)
    status = serializers.CharField()
    listed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    endpoint = serializers.URLField(help_text="Where to buy (or, if quoted, to inquire).")
    webhook_healthy = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the last webhook test succeeded; null until the provider tests it.",
    )
    provider_id = serializers.CharField()
    provider_name = serializers.CharField()
    provider_type = serializers.CharField()
    provider_wallet = serializers.CharField()
    provider_reputation = serializers.FloatField()
    provider_dimensions = DimensionsSerializer()
    provider_confidence = serializers.FloatField()
    provider_is_new = serializers.BooleanField()
    provider_completed_jobs = serializers.IntegerField()
    provider_completion_rate = serializers.FloatField(allow_null=True)

    def to_representation(self, service: Service) -> dict[str, Any]:
        provider = service.provider
        score = service.provider_score
        reputation = reputation_view(score)
        action = "inquire" if service.is_quoted else "purchase"
        return {
            "id": service.public_id,
            "name": service.name,
            "description": service.description,
            "category": service.category,
            "tags": service.tags,
            "service_type": service.service_type,
            "pricing_model": service.pricing_model,
            "fulfillment_type": service.fulfillment_type,
            "price": _price(service, _same),
            "agent_price": _price(service, money.agent_price),
            # The fee is paid by the agent on top, so the provider nets its listed price.
            "provider_net_price": _price(service, _same),
            "platform_fee_pct": money.PLATFORM_FEE_BPS / 100,
            "estimated_delivery": service.estimated_delivery,
            "input_schema": service.input_schema,
            "deliverable_schema": service.deliverable_schema,
            "status": service.status,
            "listed_at": iso(service.listed_at),
            "updated_at": iso(service.updated_at),
            "endpoint": f"{self.context['base_url']}/v1/services/{service.public_id}/{action}",
            "webhook_healthy": service.webhook_healthy,
            "provider_id": provider.public_id,
            "provider_name": provider.name,
            "provider_type": provider.type,
            "provider_wallet": provider.wallet,
            "provider_reputation": reputation["composite"],
            "provider_dimensions": reputation["dimensions"],
            "provider_confidence": reputation["confidence"],
            "provider_is_new": reputation["is_new"],
            "provider_completed_jobs": reputation["completed_jobs"],
            "provider_completion_rate": reputation["completion_rate"],
        }


class CatalogSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    total_is_estimate = serializers.BooleanField(
        help_text="true when total is estimated: a search with more than 10,000 matches"
    )
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    services = ServiceSerializer(many=True)
    queried_at = serializers.DateTimeField()


class ReputationLevelSerializer(serializers.Serializer):
    composite = serializers.FloatField()
    dimensions = DimensionsSerializer()
    confidence = serializers.FloatField()
    is_new = serializers.BooleanField()
    total_jobs = serializers.IntegerField()
    completed_jobs = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)


class ReputationLevelsSerializer(serializers.Serializer):
    service = ReputationLevelSerializer()
    service_type = ReputationLevelSerializer()
    provider = ReputationLevelSerializer()


class ServiceDetailSerializer(ServiceSerializer):
    reputation = ReputationLevelsSerializer()

    def to_representation(self, service: Service) -> dict[str, Any]:
        levels = service.reputation_levels
        return {
            **super().to_representation(service),
            "reputation": {level: reputation_view(score) for level, score in levels.items()},
        }


# --- the provider's listings: input ----------------------------------------------------
@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "example": "25.00", "description": '"25.00" or "$25.00"'},
            {
                "type": "object",
                "properties": {"fixed": {"type": "string", "example": "$25.00"}},
                "required": ["fixed"],
            },
            {
                "type": "object",
                "description": "A range, for quote_required services",
                "properties": {
                    "min": {"type": "string", "example": "25"},
                    "max": {"type": "string", "example": "500"},
                },
                "required": ["min", "max"],
            },
        ]
    }
)
class PriceInputField(serializers.Field):
    """A listing price in any documented form, read as `(price_micros, price_max_micros)`.

    A bad price raises `ApplicationError` (code `invalid_price`) straight from
    `parse_price`, so the API and the service answer with the same code.
    """

    def to_internal_value(self, data: Any) -> tuple[int, int | None]:
        return parse_price(data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class SchemaInputField(serializers.JSONField):
    """A JSON Schema, or a flat `{field: {type, description}}` map; checked by the service."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if contains_nul(value):
            raise serializers.ValidationError("must not contain NUL characters")
        return value


class ServiceUpdateInput(serializers.Serializer):
    """Any subset of a listing's fields; what is omitted stays as it is."""

    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=5000, required=False)
    category = serializers.CharField(max_length=50, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=20, required=False
    )
    price = PriceInputField(required=False)
    pricing_model = serializers.ChoiceField(choices=PricingModel.values, required=False)
    service_type = serializers.ChoiceField(choices=ServiceType.values, required=False)
    fulfillment_type = serializers.ChoiceField(
        choices=[*FulfillmentType.values, "async"],
        required=False,
        help_text="Inferred from service_type when omitted, and the other way round.",
    )
    estimated_delivery = serializers.CharField(max_length=50, allow_blank=True, required=False)
    input_schema = SchemaInputField(allow_null=True, required=False)
    deliverable_schema = SchemaInputField(allow_null=True, required=False)
    webhook_url = HttpUrlField(
        max_length=500,
        allow_blank=True,
        required=False,
        help_text="Per-service webhook; blank uses the provider's.",
    )
    status = serializers.ChoiceField(
        choices=[Service.Status.ACTIVE, Service.Status.INACTIVE], required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A misspelt field would otherwise be dropped in silence: say so instead.
        unknown = (
            sorted(set(self.initial_data) - set(self.fields))
            if isinstance(self.initial_data, dict)
            else []
        )
        if unknown:
            raise ApplicationError(
                f"unknown fields: {', '.join(map(str, unknown))}", code="invalid_field"
            )
        if "price" in attrs:
            attrs["price_micros"], attrs["price_max_micros"] = attrs.pop("price")
        return attrs


class ServiceDeletedOutput(serializers.Serializer):
    """What `DELETE /v1/services/:id` answers (200, a JSON body: MCP clients parse it)."""

    service_id = serializers.CharField()
    deleted = serializers.BooleanField(help_text="Gone from the catalog, for good")
    archived = serializers.BooleanField(
        help_text="Kept (out of the catalog) because jobs or threads refer to it"
    )
    status = serializers.CharField(help_text='"deleted" or "archived"')


class ServiceCreateInput(ServiceUpdateInput):
    """A new listing: name, description, category and price are required."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=5000)
    category = serializers.CharField(max_length=50)
    price = PriceInputField()


class OnboardInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    webhook_url = HttpUrlField(max_length=500, required=False, allow_blank=True, default="")
    capabilities = CapabilitiesField(required=False, default=list)
    referral_code = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="A referrer's code (ref_...); an unknown one is a 400 before any payment",
    )


# --- the provider's listings: output ---------------------------------------------------
class ProviderServiceOutput(ServiceSerializer):
    """The catalog entry, plus what only its owner sees."""

    service_id = serializers.CharField(help_text="Same as id; some clients read this name.")
    webhook_url = serializers.CharField(help_text="Per-service webhook; blank: the provider's.")

    def to_representation(self, service: Service) -> dict[str, Any]:
        return {
            **super().to_representation(service),
            "service_id": service.public_id,
            "webhook_url": service.webhook_url,
        }


class OnboardOutput(RegistrationOutput):
    webhook_url = serializers.CharField()
    webhook_secret = serializers.CharField(
        help_text="Signs every webhook: to your webhook_url and to each service's own URL."
    )
    referral = serializers.DictField(
        required=False,
        help_text="With a referral_code: {code, referrer_id, attributed, reason, message}",
    )
