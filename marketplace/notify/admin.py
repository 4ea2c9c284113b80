"""The operator's console: the webhook delivery log (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from marketplace.models import (
    WebhookDelivery,
)
from the402.lib.admin import ReadOnlyAdmin


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log, read-only: deliveries are written by `marketplace.notify.outbox` only."""

    list_display = (
        "public_id",
        "event_type",
        "event_id",
        "participant",
        "service",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event_type", "signed")
    list_select_related = ("participant", "service")
    search_fields = (
        "=public_id",
        "=event_id",
        "url",
        "participant__public_id",
        "participant__name",
        "=participant__wallet",
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]
