"""Reads of the webhook delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.notify.models import WebhookDelivery
from payments.models import Participant
from the402.lib.errors import NotFound


def deliveries_for(
    participant: Participant, *, limit: int = 50, offset: int = 0
) -> QuerySet[WebhookDelivery]:
    """A provider's delivery log, newest first, with each delivery's service."""
    return (
        WebhookDelivery.objects.filter(participant=participant)
        .select_related("service")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )


def delivery_of(participant: Participant, delivery_id: str) -> WebhookDelivery:
    """One delivery of the provider's log; 404 for an unknown id and another's."""
    found = (
        WebhookDelivery.objects.filter(participant=participant, public_id=delivery_id[:24])
        .select_related("service")
        .first()
    )
    if found is None:
        raise NotFound(f"Delivery {delivery_id} not found", code="not_found")
    return found
