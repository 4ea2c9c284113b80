"""Input and output of the plans API: money as USD strings at the edge."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from marketplace.plans.models import Plan, Subscription
from the402.lib import money
from the402.lib.api import MoneyField, iso


class PlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=5000, allow_blank=True, default="")
    price = MoneyField(code="invalid_price")
    billing_period = serializers.CharField(
        max_length=20, help_text="monthly or annual (`interval` is taken too)"
    )
    service_ids = serializers.ListField(child=serializers.CharField(max_length=40), max_length=50)
    max_requests = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10_000_000
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "billing_period" not in data and "interval" in data:
            data = {**data, "billing_period": data["interval"]}
        values = super().to_internal_value(data)
        if "price" in values:
            values["price_micros"] = values.pop("price")
        return values


class PlanUpdateInput(PlanInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    def to_internal_value(self, data: Any) -> Any:
        given = set(data or {}) | {"price_micros"} if "price" in (data or {}) else set(data or {})
        if "interval" in given:
            given.add("billing_period")
        values = super().to_internal_value(data)
        return {k: v for k, v in values.items() if k in given}


class PlanListInput(serializers.Serializer):
    provider = serializers.CharField(required=False, max_length=60)
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=100_000)


class PlanOutput(serializers.Serializer):
    plan_id = serializers.CharField()
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    provider_id = serializers.CharField()
    provider_wallet = serializers.CharField()
    price = serializers.CharField(help_text="The provider's price per period, USD")
    agent_price = serializers.CharField(help_text="What an agent pays per period (plus 5%)")
    billing_period = serializers.CharField()
    interval = serializers.CharField()
    service_ids = serializers.ListField(child=serializers.CharField())
    max_requests = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    subscribe_endpoint = serializers.CharField()
    created_at = serializers.CharField()

    def to_representation(self, plan: Plan) -> dict[str, Any]:
        return {
            "plan_id": plan.public_id,
            "id": plan.public_id,
            "name": plan.name,
            "description": plan.description,
            "provider_id": plan.provider.public_id,
            "provider_wallet": plan.provider.wallet,
            "price": money.format_usd(plan.price_micros),
            "agent_price": money.format_usd(plan.agent_price_micros),
            "billing_period": plan.billing_period,
            "interval": plan.billing_period,
            "service_ids": sorted(s.public_id for s in plan.services.all()),
            "max_requests": plan.max_requests,
            "status": plan.status,
            "subscribe_endpoint": f"/v1/plans/{plan.public_id}/subscribe",
            "created_at": iso(plan.created_at),
        }


class SubscriptionListInput(serializers.Serializer):
    status = serializers.CharField(
        required=False, help_text="active, paused, cancelled, past_due or expired"
    )
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=100_000)

    def validate_status(self, value: str) -> str:
        if value not in Subscription.Status.values:
            raise serializers.ValidationError(
                f"must be one of {', '.join(Subscription.Status.values)}"
            )
        return value


class SubscriptionOutput(serializers.Serializer):
    subscription_id = serializers.CharField()
    id = serializers.CharField()
    plan_id = serializers.CharField()
    plan_name = serializers.CharField()
    provider_id = serializers.CharField()
    status = serializers.CharField()
    price = serializers.CharField(help_text="Provider price per period, as subscribed")
    agent_price = serializers.CharField(help_text="What each renewal charges")
    billing_period = serializers.CharField()
    interval = serializers.CharField()
    service_ids = serializers.ListField(child=serializers.CharField())
    period_number = serializers.IntegerField()
    current_period_start = serializers.CharField()
    current_period_end = serializers.CharField()
    covers_now = serializers.BooleanField()
    auto_renew = serializers.BooleanField()
    requests_used = serializers.IntegerField()
    max_requests = serializers.IntegerField(allow_null=True)
    renewal_failures = serializers.IntegerField()
    next_retry_at = serializers.CharField(allow_null=True)
    cancelled_at = serializers.CharField(allow_null=True)
    paused_at = serializers.CharField(allow_null=True)
    expired_at = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()

    def to_representation(self, sub: Subscription) -> dict[str, Any]:
        from django.utils import timezone

        S = Subscription.Status
        plan = sub.plan
        return {
            "subscription_id": sub.public_id,
            "id": sub.public_id,
            "plan_id": plan.public_id,
            "plan_name": plan.name,
            "provider_id": plan.provider.public_id,
            "status": sub.status,
            "price": money.format_usd(sub.price_micros),
            "agent_price": money.format_usd(sub.agent_price_micros),
            "billing_period": plan.billing_period,
            "interval": plan.billing_period,
            "service_ids": sorted(s.public_id for s in plan.services.all()),
            "period_number": sub.period_number,
            "current_period_start": iso(sub.period_start),
            "current_period_end": iso(sub.period_end),
            "covers_now": sub.status in (S.ACTIVE, S.PAUSED, S.CANCELLED)
            and sub.period_end > timezone.now(),
            "auto_renew": sub.status in (S.ACTIVE, S.PAST_DUE)
            and plan.status == plan.Status.ACTIVE,
            "requests_used": sub.requests_used,
            "max_requests": plan.max_requests,
            "renewal_failures": sub.renewal_failures,
            "next_retry_at": iso(sub.next_retry_at),
            "cancelled_at": iso(sub.cancelled_at),
            "paused_at": iso(sub.paused_at),
            "expired_at": iso(sub.expired_at),
            "created_at": iso(sub.created_at),
        }
