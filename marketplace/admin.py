from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from marketplace.models import Service, WebhookDelivery
from the402.lib.admin import ReadOnlyAdmin


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = (
        "public_id",
        "name",
        "provider",
        "category",
        "service_type",
        "pricing_model",
        "price_micros",
        "status",
        "listed_at",
    )
    list_filter = ("status", "service_type", "pricing_model", "category")
    list_select_related = ("provider",)
    search_fields = ("public_id", "name", "description", "category", "provider__name")
    raw_id_fields = ("provider",)
    readonly_fields = ("public_id", "created_at", "updated_at")
    date_hierarchy = "listed_at"
    list_per_page = 50


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log, read-only: deliveries are written by `marketplace.webhooks` only."""

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
        "participant__wallet",
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]
