"""Reads of the webhook delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from marketplace.notify.models import WebhookDelivery
from payments.models import Participant


def deliveries_for(
    participant: Participant, *, limit: int = 50, offset: int = 0
) -> QuerySet[WebhookDelivery]:
    """A provider's delivery log, newest first, with each delivery's service."""
    return (
        WebhookDelivery.objects.filter(participant=participant)
        .select_related("service")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )
