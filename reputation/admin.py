from __future__ import annotations

from django.contrib import admin

from reputation.models import ReputationScore


@admin.register(ReputationScore)
class ReputationScoreAdmin(admin.ModelAdmin):
    list_display = ("participant", "scope", "scope_key", "composite", "confidence", "total_jobs")
    list_filter = ("scope",)
    list_select_related = ("participant",)
    search_fields = ("participant__public_id", "participant__wallet", "scope_key")
    raw_id_fields = ("participant",)
