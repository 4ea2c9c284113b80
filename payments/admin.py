from __future__ import annotations

from django.contrib import admin

from payments.models import Participant


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("public_id", "name", "type", "wallet", "created_at")
    list_filter = ("type", "created_at")
    search_fields = ("public_id", "name", "wallet", "description")
    readonly_fields = ("public_id", "created_at", "updated_at")
    date_hierarchy = "created_at"
