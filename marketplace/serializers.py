"""API shapes of the catalog. Serializers shape data; they never decide anything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.models import Service
from marketplace.selectors import SORTS
from payments.serializers import MAX_OFFSET
from reputation.selectors import reputation_view
from the402.lib import money

_DATETIME = serializers.DateTimeField()


def _iso(value: datetime) -> str:
    return _DATETIME.to_representation(value)


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
    max_price = serializers.CharField(
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

    def validate_max_price(self, value: str) -> int:
        try:
            return money.parse_usd(value)
        except money.MoneyError as exc:
            raise serializers.ValidationError(str(exc)) from None

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
            "listed_at": _iso(service.listed_at),
            "updated_at": _iso(service.updated_at),
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
