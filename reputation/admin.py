"""Reputation in the admin: scores read-only (only the computation writes them), signals
read-only, and the sybil flags an operator confirms or dismiss with a note (one by one on
the flag's page, or in bulk from the list). Participants' pages show their reputation and
flags."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from payments.models import Participant
from reputation.models import ReputationScore, Signal, SybilFlag, SybilFlagTransition
from reputation.sybil import InvalidFlagTransition, flag_decide
from the402.lib.admin import ReadOnlyAdmin, ReadOnlyInline
from the402.lib.errors import ApplicationError


@admin.register(ReputationScore)
class ReputationScoreAdmin(ReadOnlyAdmin):
    """Scores come only from the computation (`reputation.services`): read-only."""

    list_display = (
        "participant",
        "scope",
        "scope_key",
        "composite",
        "tier",
        "confidence",
        "total_jobs",
        "completed_jobs",
        "computed_at",
    )
    list_filter = ("scope",)
    list_select_related = ("participant",)
    search_fields = ("participant__public_id", "participant__wallet", "=scope_key")
    show_full_result_count = False

    @admin.display(description="tier")
    def tier(self, obj: ReputationScore) -> str:
        return obj.tier


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    """What reputation learned from, one row per event (written by `marketplace`)."""

    list_display = (
        "kind",
        "reference",
        "provider",
        "buyer",
        "service_public_id",
        "amount_micros_usd",
        "quality",
        "speed",
        "reliability",
        "communication",
        "occurred_at",
    )
    money_fields = ("amount_micros",)  # shown as USD ("$2.10"), here and on the page
    list_filter = ("kind", "service_type")
    list_select_related = ("provider", "buyer")
    search_fields = ("=reference", "=service_public_id", "provider__wallet", "buyer__wallet")
    show_full_result_count = False


class SybilFlagTransitionInline(ReadOnlyInline):
    model = SybilFlagTransition
    fields = ("from_status", "to_status", "actor", "note", "created_at")


class DecisionForm(forms.ModelForm):
    """The flag page's only editable part: a decision and its note, applied through
    `flag_decide` (so the move table, the audit row and the hook all apply)."""

    decision = forms.ChoiceField(
        choices=[("", "—"), ("confirmed", "Confirm"), ("dismissed", "Dismiss")], required=False
    )
    decision_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    class Meta:
        model = SybilFlag
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") and not (data.get("decision_note") or "").strip():
            self.add_error("decision_note", "A decision needs a note.")
        return data


class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))


def _evidence_html(evidence: Any) -> str:
    text = json.dumps(evidence, indent=2, sort_keys=True)
    summary = evidence.get("summary", "") if isinstance(evidence, dict) else ""
    return format_html("<p><strong>{}</strong></p><pre>{}</pre>", summary, text)


@admin.register(SybilFlag)
class SybilFlagAdmin(admin.ModelAdmin):
    form = DecisionForm
    list_display = (
        "public_id",
        "kind",
        "status",
        "summary",
        "party_wallets",
        "created_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("=public_id", "parties__wallet", "parties__public_id")
    readonly_fields = (
        "public_id",
        "kind",
        "status",
        "party_wallets",
        "evidence_readable",
        "note",
        "decided_by",
        "decided_at",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": readonly_fields}),
        ("Decision", {"fields": ("decision", "decision_note")}),
    )
    inlines = (SybilFlagTransitionInline,)
    actions = ("confirm_flags", "dismiss_flags")
    list_select_related = ("decided_by",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SybilFlag]:
        return super().get_queryset(request).prefetch_related("parties")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="summary")
    def summary(self, obj: SybilFlag) -> str:
        return str(obj.evidence.get("summary", "")) if isinstance(obj.evidence, dict) else ""

    @admin.display(description="parties")
    def party_wallets(self, obj: SybilFlag) -> str:
        return format_html_join(
            ", ", "{} ({})", ((p.wallet, p.name or p.public_id) for p in obj.parties.all())
        )

    @admin.display(description="evidence")
    def evidence_readable(self, obj: SybilFlag) -> str:
        return _evidence_html(obj.evidence)

    def save_model(self, request: HttpRequest, obj: SybilFlag, form: Any, change: bool) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision:
            return
        try:
            flag_decide(
                flag=obj, to=decision, user=request.user, note=form.cleaned_data["decision_note"]
            )
        except (InvalidFlagTransition, ApplicationError) as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def _decide_many(
        self, request: HttpRequest, queryset: QuerySet[SybilFlag], to: str, verb: str
    ) -> HttpResponse | None:
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done, refused = 0, []
            for flag in queryset:
                try:
                    flag_decide(flag=flag, to=to, user=request.user, note=form.cleaned_data["note"])
                    done += 1
                except (InvalidFlagTransition, ApplicationError) as exc:
                    refused.append(str(exc))
            self.message_user(request, f"{done} flag(s) {to}.", messages.SUCCESS)
            for reason in refused:
                self.message_user(request, reason, messages.WARNING)
            return None
        return TemplateResponse(
            request,
            "admin/reputation/sybilflag/decide.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{verb} {queryset.count()} sybil flag(s)",
                "opts": self.model._meta,
                "flags": queryset,
                "form": form,
                "action": request.POST.get("action"),
                "verb": verb,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            },
        )

    @admin.action(description="Confirm selected flags (with a note)")
    def confirm_flags(self, request: HttpRequest, queryset: QuerySet[SybilFlag]) -> Any:
        return self._decide_many(request, queryset, SybilFlag.Status.CONFIRMED, "Confirm")

    @admin.action(description="Dismiss selected flags and whitelist their pairs (with a note)")
    def dismiss_flags(self, request: HttpRequest, queryset: QuerySet[SybilFlag]) -> Any:
        return self._decide_many(request, queryset, SybilFlag.Status.DISMISSED, "Dismiss")


# ---------------------------------------------------------------- participants' pages
class ReputationScoreInline(ReadOnlyInline):
    model = ReputationScore
    fk_name = "participant"
    fields = ("scope", "scope_key", "composite", "confidence", "total_jobs", "completed_jobs")
    verbose_name_plural = "reputation"


class SybilFlagPartyInline(ReadOnlyInline):
    model = SybilFlag.parties.through
    fields = ("flag_link",)
    readonly_fields = ("flag_link",)
    verbose_name_plural = "sybil flags"

    @admin.display(description="flag")
    def flag_link(self, obj: Any) -> str:
        flag = obj.sybilflag
        return format_html(
            '<a href="../../../reputation/sybilflag/{}/change/">{} {} ({})</a>',
            flag.pk,
            flag.public_id,
            flag.kind,
            flag.status,
        )


def _with_reputation(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """The participant admin `payments` registered, plus reputation's inlines (payments,
    below this app, cannot know them)."""
    return type(
        "ParticipantWithReputationAdmin",
        (base,),
        {"inlines": (*base.inlines, ReputationScoreInline, SybilFlagPartyInline)},
    )


if admin.site.is_registered(Participant):
    _base = type(admin.site.get_model_admin(Participant))
    admin.site.unregister(Participant)
    admin.site.register(Participant, _with_reputation(_base))
