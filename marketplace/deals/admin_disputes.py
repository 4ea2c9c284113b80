"""The operator's console: disputes, listed and resolved (`job_resolve_dispute`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.timezone import localtime

from marketplace.deals.admin import message_text
from marketplace.deals.jobs import job_resolve_dispute
from marketplace.models import (
    Dispute,
    Job,
    JobTransition,
)
from payments.models import Escrow
from the402.lib import money
from the402.lib.admin import ReadOnlyAdmin, usd
from the402.lib.errors import ApplicationError


def _role(participant_id: int | None, *, buyer_id: int, provider_id: int) -> str:
    """Who wrote a message or made a move: the buyer, the provider, or the platform."""
    if participant_id is None:
        return "platform"
    if participant_id == buyer_id:
        return "buyer"
    if participant_id == provider_id:
        return "provider"
    return "other"


class DisputeStateFilter(admin.SimpleListFilter):
    """Open disputes by default; resolved ones (a non-empty `resolution`) on request."""

    title = "state"
    parameter_name = "state"
    OPEN, RESOLVED, ALL = "open", "resolved", "all"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.OPEN, "Open"), (self.RESOLVED, "Resolved"), (self.ALL, "All")]

    def choices(self, changelist: Any) -> Iterator[Any]:
        """As Django's, without its "All" for no value: no value means open disputes."""
        current = self.value() or self.OPEN
        counts = self.get_facet_queryset(changelist) if changelist.add_facets else {}
        for i, (lookup, title) in enumerate(self.lookup_choices):
            if changelist.add_facets:
                title = f"{title} ({counts.get(f'{i}__c', '-')})"
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or self.OPEN
        if value == self.OPEN:
            return queryset.filter(status=Job.Status.DISPUTED)
        if value == self.RESOLVED:
            return queryset.exclude(resolution="")
        return queryset


class ResolutionForm(forms.Form):
    """How an admin settles a dispute; `marketplace.deals.jobs.job_resolve_dispute` does it."""

    resolution = forms.ChoiceField(
        choices=[
            ("release", "Release: pay the provider"),
            ("refund", "Refund: pay the buyer back"),
            ("split", "Split: the provider gets the amount below, the buyer the rest"),
        ],
        widget=forms.RadioSelect,
    )
    payee_amount = forms.CharField(
        required=False,
        label="Provider's share (USD)",
        help_text="For a split only, such as 12.50.",
    )
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Required. Posted to the thread and sent to the provider.",
    )

    def __init__(self, *args: Any, escrow: Escrow | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.escrow = escrow
        if escrow is not None:
            self.fields["payee_amount"].help_text = (
                f"For a split only: $0.00 to {usd(escrow.amount)} (the provider's price). "
                "The platform fee is split in proportion; the buyer gets the rest back."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = (data.get("payee_amount") or "").strip()
        data["payee_amount"] = None
        if data.get("resolution") != "split":
            if raw:
                self.add_error("payee_amount", "Only a split takes a provider's share.")
            return data
        if not raw:
            self.add_error("payee_amount", "A split needs the provider's share.")
            return data
        try:
            amount = money.parse_usd(raw)
        except money.MoneyError as exc:
            self.add_error("payee_amount", str(exc))
            return data
        if self.escrow is not None and amount > self.escrow.amount:
            self.add_error(
                "payee_amount", f"The provider's share is at most {usd(self.escrow.amount)}."
            )
        data["payee_amount"] = amount
        return data


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """Disputed jobs: read the whole thread, then release, refund or split with a note.

    The job itself is never edited here; a resolution goes through `job_resolve_dispute`
    (escrow, job status, thread note, `dispute_resolved` webhook). Viewing needs
    `marketplace.view_job` (or `change_job`); resolving needs `marketplace.change_job`.
    """

    list_display = (
        "job",
        "service",
        "buyer",
        "provider",
        "amount_held",
        "reason",
        "disputed_since",
        "status",
        "resolution",
    )
    list_filter = (DisputeStateFilter, "resolution")
    list_select_related = ("service", "buyer", "provider", "escrow")
    search_fields = (
        "=public_id",
        "service__name",
        "buyer__name",
        "buyer__public_id",
        "provider__name",
        "provider__public_id",
        "dispute_reason",
    )
    list_per_page = 50
    change_form_template = "admin/marketplace/dispute/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dispute]:
        disputed_at = (
            JobTransition.objects.filter(job=OuterRef("pk"), to_status=Job.Status.DISPUTED)
            .order_by("-created_at", "-id")
            .values("created_at")[:1]
        )
        # Not super(): it orders before the annotation `get_ordering` names exists.
        return (
            self.model._default_manager.filter(Q(status=Job.Status.DISPUTED) | ~Q(resolution=""))
            .annotate(disputed_at=Subquery(disputed_at))
            .order_by(*self.get_ordering(request))
        )

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return ["disputed_at", "id"]  # the longest-waiting first

    @admin.display(description="job", ordering="public_id")
    def job(self, obj: Dispute) -> str:
        return obj.public_id

    @admin.display(description="amount held")
    def amount_held(self, obj: Dispute) -> str:
        return usd(obj.escrow.total if obj.escrow is not None else None)

    @admin.display(description="dispute reason")
    def reason(self, obj: Dispute) -> str:
        return Truncator(obj.dispute_reason).chars(80)

    @admin.display(description="disputed since", ordering="disputed_at")
    def disputed_since(self, obj: Dispute) -> Any:
        return getattr(obj, "disputed_at", None)

    # --- permissions: never added, edited or deleted as a model (ReadOnlyAdmin) ---------
    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("marketplace.change_job")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("marketplace.view_job") or self.has_resolve_permission(request)

    # --- the page: the job, its thread, and the resolution form -------------------------
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        dispute = self.get_object(request, unquote(object_id))
        if dispute is None:
            # A private ModelAdmin method the stubs leave out.
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        can_resolve = self.has_resolve_permission(request)
        form: ResolutionForm | None = None
        if request.method == "POST":
            if not can_resolve:
                raise PermissionDenied
            form = ResolutionForm(request.POST, escrow=dispute.escrow)
            if form.is_valid():
                try:
                    job_resolve_dispute(
                        job=dispute,
                        resolution=form.cleaned_data["resolution"],
                        note=form.cleaned_data["note"],
                        payee_amount=form.cleaned_data["payee_amount"],
                    )
                except ApplicationError as exc:
                    form.add_error(None, exc.message)
                    dispute = self.get_object(request, unquote(object_id)) or dispute
                else:
                    self.message_user(
                        request,
                        f"The dispute on job {dispute.public_id} is resolved "
                        f"({form.cleaned_data['resolution']}); the provider is notified.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(request.path)
        elif can_resolve and dispute.status == Job.Status.DISPUTED:
            form = ResolutionForm(escrow=dispute.escrow)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Dispute on job {dispute.public_id}",
            "subtitle": None,
            "original": dispute,
            "has_view_permission": True,
            "details": self._details(dispute),
            "form": form,
            **self._history(dispute),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_form_template, context)

    def _details(self, job: Dispute) -> list[tuple[str, str, str]]:
        """(label, value, link) rows of the job, read-only."""

        def link(name: str, obj: Any) -> str:
            return reverse(f"admin:{name}_change", args=[obj.pk], current_app=self.admin_site.name)

        escrow = job.escrow
        rows = [
            ("Job", job.public_id, ""),
            ("Status", job.get_status_display(), ""),
            ("Service", str(job.service), link("marketplace_service", job.service)),
            ("Buyer", str(job.buyer), link("payments_participant", job.buyer)),
            ("Provider", str(job.provider), link("payments_participant", job.provider)),
            (
                "Escrow",
                f"{escrow.public_id} ({escrow.get_backing_display()}, {escrow.status})"
                if escrow is not None
                else "—",
                link("payments_escrow", escrow) if escrow is not None else "",
            ),
            (
                "Amount held",
                f"{usd(escrow.total)} (price {usd(escrow.amount)} + fee {usd(escrow.fee)})"
                if escrow is not None
                else "—",
                "",
            ),
            ("Created", _when(job.created_at), ""),
            ("Completed", _when(job.completed_at), ""),
            ("Disputed since", _when(getattr(job, "disputed_at", None)), ""),
            ("Dispute reason", job.dispute_reason, ""),
        ]
        if job.resolution:
            rows += [
                ("Resolution", job.get_resolution_display(), ""),
                ("Resolution note", job.resolution_note, ""),
            ]
        return rows

    def _history(self, job: Dispute) -> dict[str, Any]:
        """The job's brief, deliverables and moves, and its thread: messages (credentials
        never decrypted: their ciphertext is not even loaded), proposals, status history."""
        parties = {"buyer_id": job.buyer_id, "provider_id": job.provider_id}
        context: dict[str, Any] = {
            "brief": json.dumps(job.brief, indent=2, sort_keys=True, default=str),
            "deliverables": (
                json.dumps(job.deliverables, indent=2, sort_keys=True, default=str)
                if job.deliverables is not None
                else ""
            ),
            "provider_notes": job.notes,
            "job_transitions": [
                {"move": t, "role": _role(t.actor_id, **parties)} for t in job.transitions.all()
            ],
            "thread": job.thread,
        }
        if job.thread is None:
            return context
        thread = job.thread
        context["thread_messages"] = [
            {
                "message": message,
                "role": _role(message.sender_id, **parties),
                "text": message_text(message),
            }
            for message in thread.messages.defer("secret").select_related("proposal")
        ]
        context["proposals"] = [
            {"proposal": p, "price": usd(p.price_micros), "fee": usd(p.fee_micros)}
            for p in thread.proposals.all()
        ]
        context["thread_transitions"] = [
            {"move": t, "role": _role(t.actor_id, **parties)} for t in thread.transitions.all()
        ]
        return context


def _when(value: datetime | None) -> str:
    return "—" if value is None else date_format(localtime(value), "DATETIME_FORMAT")
