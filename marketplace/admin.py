from __future__ import annotations

from django.contrib import admin

from marketplace.models import Service


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
