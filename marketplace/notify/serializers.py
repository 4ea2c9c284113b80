"""API shapes of the webhook delivery log: the serializer is the response."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from marketplace.notify.models import WebhookDelivery
from the402.lib.api import iso


class DeliveryOutput(serializers.Serializer):
    """One delivery of the provider's log."""

    delivery_id = serializers.CharField()
    event_id = serializers.CharField()
    type = serializers.CharField()
    service_id = serializers.CharField(allow_null=True)
    url = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    signed = serializers.BooleanField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, delivery: WebhookDelivery) -> dict[str, Any]:
        return {
            "delivery_id": delivery.public_id,
            "event_id": delivery.event_id,
            "type": delivery.event_type,
            "service_id": delivery.service.public_id if delivery.service else None,
            "url": delivery.url,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "signed": delivery.signed,
            "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error,
            "created_at": iso(delivery.created_at),
            "delivered_at": iso(delivery.delivered_at),
            "next_attempt_at": iso(delivery.next_attempt_at),
        }


class DeliveryListOutput(serializers.Serializer):
    deliveries = DeliveryOutput(many=True)
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
