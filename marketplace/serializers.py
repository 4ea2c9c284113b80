"""API shapes of the catalog. Serializers shape data; they never decide anything."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.models import Service
from marketplace.selectors import SORTS
from reputation.models import NEW_PROVIDER_CONFIDENCE
from the402.lib import money


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
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=1_000_000)

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


def _price(service: Service, convert: Any) -> str | dict[str, str]:
    if service.price_max_micros is None:
        return money.format_usd(convert(service.price_micros))
    return {
        "min": money.format_usd(convert(service.price_micros)),
        "max": money.format_usd(convert(service.price_max_micros)),
    }


class DimensionsSerializer(serializers.Serializer):
    quality = serializers.FloatField()
    speed = serializers.FloatField()
    reliability = serializers.FloatField()
    communication = serializers.FloatField()


class ServiceSerializer(serializers.Serializer):
    """One catalog entry: the service, its prices, where to buy it, and its provider."""

    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    service_type = serializers.CharField()
    pricing_model = serializers.CharField()
    fulfillment_type = serializers.CharField()
    price = serializers.SerializerMethodField()
    agent_price = serializers.SerializerMethodField()
    provider_net_price = serializers.SerializerMethodField()
    platform_fee_pct = serializers.SerializerMethodField()
    estimated_delivery = serializers.CharField()
    input_schema = serializers.JSONField(allow_null=True)
    deliverable_schema = serializers.JSONField(allow_null=True)
    status = serializers.CharField()
    listed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    endpoint = serializers.SerializerMethodField()
    webhook_healthy = serializers.SerializerMethodField()
    provider_id = serializers.CharField(source="provider.public_id")
    provider_name = serializers.CharField(source="provider.name")
    provider_type = serializers.CharField(source="provider.type")
    provider_wallet = serializers.CharField(source="provider.wallet")
    provider_reputation = serializers.SerializerMethodField()
    provider_dimensions = serializers.SerializerMethodField()
    provider_confidence = serializers.SerializerMethodField()
    provider_is_new = serializers.SerializerMethodField()
    provider_completed_jobs = serializers.IntegerField()
    provider_completion_rate = serializers.SerializerMethodField()

    @extend_schema_field(_PRICE_SCHEMA)
    def get_price(self, service: Service) -> str | dict[str, str]:
        return _price(service, lambda micros: micros)

    @extend_schema_field(_PRICE_SCHEMA)
    def get_agent_price(self, service: Service) -> str | dict[str, str]:
        return _price(service, money.agent_price)

    @extend_schema_field(_PRICE_SCHEMA)
    def get_provider_net_price(self, service: Service) -> str | dict[str, str]:
        # The fee is paid by the agent on top, so the provider nets its listed price.
        return _price(service, lambda micros: micros)

    def get_platform_fee_pct(self, service: Service) -> float:
        return money.PLATFORM_FEE_BPS / 100

    @extend_schema_field(OpenApiTypes.URI)
    def get_endpoint(self, service: Service) -> str:
        action = "inquire" if service.is_quoted else "purchase"
        return f"{self.context['base_url']}/v1/services/{service.public_id}/{action}"

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_webhook_healthy(self, service: Service) -> bool | None:
        return None  # unknown until the provider tests its webhook

    def get_provider_reputation(self, service: Service) -> float:
        return round(service.provider_reputation, 1)

    @extend_schema_field(DimensionsSerializer)
    def get_provider_dimensions(self, service: Service) -> dict[str, float]:
        return {
            "quality": round(service.provider_quality, 1),
            "speed": round(service.provider_speed, 1),
            "reliability": round(service.provider_reliability, 1),
            "communication": round(service.provider_communication, 1),
        }

    def get_provider_confidence(self, service: Service) -> float:
        return round(service.provider_confidence, 2)

    def get_provider_is_new(self, service: Service) -> bool:
        return service.provider_confidence < NEW_PROVIDER_CONFIDENCE

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_provider_completion_rate(self, service: Service) -> float | None:
        if not service.provider_total_jobs:
            return None
        return round(100.0 * service.provider_completed_jobs / service.provider_total_jobs, 1)


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
    reputation = ReputationLevelsSerializer(source="reputation_levels")
