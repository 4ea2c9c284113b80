"""The operator's console over the marketplace: services, jobs, threads, webhook
deliveries and disputes.

Nothing the state machines own is edited as a field here. Jobs and threads are read-only
pages (their moves shown inline); an operator's action on a job (cancelling one not
started, resolving a dispute) calls the service that does it (`marketplace.jobs`), which
moves the job, its thread, its escrow and the ledger together. Money shows as USD.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timezone import localtime

from marketplace.jobs import NOT_STARTED, job_cancel, job_resolve_dispute
from marketplace.models import (
    Dispute,
    Job,
    JobTransition,
    Proposal,
    Service,
    ServiceType,
    Thread,
    ThreadMessage,
    ThreadTransition,
    WebhookDelivery,
)
from marketplace.services import service_create, service_update
from payments.models import Escrow
from the402.lib import money
from the402.lib.admin import EMPTY, MoneyAdmin, ReadOnlyAdmin, ReadOnlyInline, usd, usd_display
from the402.lib.errors import ApplicationError

# The admin index reads "webhook deliveries", not Django's default "webhook deliverys".
# The lasting fix is `verbose_name_plural = "webhook deliveries"` in WebhookDelivery.Meta
# (with its AlterModelOptions migration); until then the admin names it here. Not in
# `Meta.original_attrs`, so makemigrations sees no change.
WebhookDelivery._meta.verbose_name_plural = "webhook deliveries"


def _admin_link(obj: Any, text: str | None = None) -> str:
    """A link to `obj`'s admin page, or "—"."""
    if obj is None:
        return EMPTY
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


# --- services -----------------------------------------------------------------------------
_LISTING_FIELDS = (
    "name",
    "description",
    "category",
    "tags",
    "service_type",
    "pricing_model",
    "price_micros",
    "price_max_micros",
    "estimated_delivery",
    "input_schema",
    "deliverable_schema",
    "webhook_url",
    "status",
)


@admin.register(Service)
class ServiceAdmin(MoneyAdmin):
    """Listings. A save goes through `service_create` / `service_update`, by the catalog's
    rules (pricing, types, schemas); prices are typed in dollars."""

    list_display = (
        "public_id",
        "name",
        "provider",
        "category",
        "service_type",
        "pricing_model",
        "price_micros_usd",
        "status",
        "listed_at",
    )
    list_filter = ("status", "service_type", "pricing_model", "category")
    list_select_related = ("provider",)
    search_fields = (
        "=public_id",
        "name",
        "description",
        "category",
        "provider__name",
        "=provider__public_id",
        "=provider__wallet",
    )
    raw_id_fields = ("provider",)
    usd_form_fields = ("price_micros", "price_max_micros")
    price_micros_usd = usd_display("price_micros", "price")
    date_hierarchy = "listed_at"
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return ["public_id", "provider", *_LISTING_FIELDS, *self._stamps(obj)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = ["public_id", *self._stamps(obj)]
        return readonly + ["provider"] if obj is not None else readonly

    @staticmethod
    def _stamps(obj: Any) -> list[str]:
        if obj is None:
            return []
        return ["listed_at", "webhook_healthy", "webhook_checked_at", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        """Through the catalog's services, never `obj.save()`. A rule they refuse is shown
        as an error and nothing is written."""
        data = form.cleaned_data
        try:
            if change:
                changed = {name: data[name] for name in form.changed_data if name in data}
                saved = service_update(service=obj, **changed)
            else:
                fields = {name: data[name] for name in _LISTING_FIELDS if name in data}
                saved = service_create(provider=data["provider"], **fields)
        except ApplicationError as exc:
            request._service_refused = exc.message  # type: ignore[attr-defined]
            return
        obj.pk, obj.public_id = saved.pk, saved.public_id

    def _refused(self, request: HttpRequest) -> HttpResponse | None:
        refused = getattr(request, "_service_refused", None)
        if refused is None:
            return None
        self.message_user(request, f"Not saved: {refused}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return (
            None
            if hasattr(request, "_service_refused")
            else super().log_change(request, obj, message)
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return (
            None
            if hasattr(request, "_service_refused")
            else super().log_addition(request, obj, message)
        )

    def response_change(self, request: HttpRequest, obj: Service) -> HttpResponse:
        return self._refused(request) or super().response_change(request, obj)

    def response_add(
        self, request: HttpRequest, obj: Service, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._refused(request) or super().response_add(request, obj, post_url_continue)


# --- webhook deliveries -------------------------------------------------------------------
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
        "=participant__wallet",
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


# --- jobs ---------------------------------------------------------------------------------
class JobTransitionInline(ReadOnlyInline):
    """The job's moves, oldest first: the audit rows `marketplace.jobs` writes."""

    model = JobTransition
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    verbose_name = "move"
    verbose_name_plural = "moves (the job's state transitions)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobTransition]:
        return super().get_queryset(request).select_related("actor")


class JobOperatorForm(forms.ModelForm):
    """No field of the job is editable: the form carries only an operator's action, which
    `JobAdmin.save_model` performs through `marketplace.jobs`."""

    ACTIONS = [("", "No action"), ("cancel", "Cancel the job and refund the buyer")]

    operator_action = forms.ChoiceField(choices=ACTIONS, required=False, label="Action")
    operator_note = forms.CharField(
        required=False,
        max_length=250,
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Required with an action; recorded on the job's move.",
    )

    class Meta:
        model = Job
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("operator_action")
        if action and not (data.get("operator_note") or "").strip():
            self.add_error("operator_note", "Give a reason for the action.")
        if action == "cancel" and self.instance.status not in NOT_STARTED:
            self.add_error(
                None,
                f"This job is {self.instance.status}: only a job whose work has not started "
                "can be cancelled; otherwise it is settled by a dispute.",
            )
        return data


class ServiceTypeFilter(admin.SimpleListFilter):
    title = "service type"
    parameter_name = "service_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Sequence[tuple[str, str]]:
        return ServiceType.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(service__service_type=value) if value else queryset


def _escrow_amount(job: Job | None, part: str) -> str:
    escrow = job.escrow if job is not None else None
    return usd(getattr(escrow, part)) if escrow is not None else EMPTY


_JOB_SEARCH = (
    "=public_id",
    "=buyer__wallet",
    "=provider__wallet",
    "=buyer__public_id",
    "=provider__public_id",
    "buyer__name",
    "provider__name",
    "=service__public_id",
    "service__name",
    "=escrow__public_id",
    "=thread__public_id",
)


@admin.register(Job)
class JobAdmin(MoneyAdmin):
    """Jobs, read-only: status, money and work belong to `marketplace.jobs`. An operator
    with `change_job` may cancel a job not started (`job_cancel`, which refunds its escrow);
    a disputed job is settled on its page under Disputes (`job_resolve_dispute`)."""

    form = JobOperatorForm
    list_display = (
        "public_id",
        "status",
        "service",
        "buyer",
        "provider",
        "price",
        "fee",
        "escrow_status",
        "created_at",
    )
    list_filter = ("status", ServiceTypeFilter, "resolution")
    list_select_related = ("service", "buyer", "provider", "escrow")
    search_fields = _JOB_SEARCH
    search_help_text = "A job, thread, escrow or service id; a wallet; a name."
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = (JobTransitionInline,)
    actions = ("cancel_not_started",)

    _DETAILS = (
        (None, ("public_id", "status", "service", "buyer", "provider", "thread")),
        ("Money", ("escrow_link", "price", "fee", "held", "escrow_status")),
        ("Work", ("brief", "deadline", "deliverables", "notes", "completed_at", "verified_at")),
        ("Dispute", ("dispute_reason", "resolution", "resolution_note", "dispute_page")),
        ("Record", ("created_at", "updated_at")),
    )

    # --- read-only, everything ---------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for _, names in self._DETAILS for name in names]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[tuple[Any, Any]]:
        fieldsets: list[tuple[Any, Any]] = [
            (title, {"fields": names}) for title, names in self._DETAILS
        ]
        if self._can_act(request, obj):
            fieldsets.append(
                (
                    "Operator action",
                    {
                        "fields": ("operator_action", "operator_note"),
                        "description": "Cancelling refunds the escrow to the buyer and tells "
                        "the provider; it is recorded as a move by the platform.",
                    },
                )
            )
        return fieldsets

    def _can_act(self, request: HttpRequest, obj: Job | None) -> bool:
        return (
            obj is not None
            and obj.status in NOT_STARTED
            and self.has_change_permission(request, obj)
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = self.get_object(request, unquote(object_id))
        context = {
            "show_save": self._can_act(request, job),
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    # --- writes: only through marketplace.jobs -----------------------------------------
    def save_model(self, request: HttpRequest, obj: Job, form: Any, change: bool) -> None:
        """Never `obj.save()`: the action the operator chose, through its service."""
        if form.cleaned_data.get("operator_action") != "cancel":
            self.message_user(request, "Nothing to do: no action was chosen.", messages.INFO)
            return
        note = form.cleaned_data["operator_note"].strip()
        try:
            job_cancel(job=obj, actor=None, reason=f"cancelled by an operator: {note}")
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(
                request,
                f"Job {obj.public_id} is cancelled; the buyer is refunded.",
                messages.SUCCESS,
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related is written from here: the moves are the audit trail."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def response_change(self, request: HttpRequest, obj: Job) -> HttpResponse:
        return HttpResponseRedirect(request.path)  # back to the job, with save_model's message

    @admin.action(
        description="Cancel the selected jobs not started (refunds their buyers)",
        permissions=["change"],
    )
    def cancel_not_started(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        cancelled = 0
        for job in queryset.filter(status__in=NOT_STARTED):
            try:
                job_cancel(job=job, actor=None, reason="cancelled by an operator")
            except ApplicationError as exc:
                self.message_user(request, f"{job.public_id}: {exc.message}", messages.ERROR)
            else:
                cancelled += 1
        skipped = queryset.exclude(status__in=NOT_STARTED).count()
        self.message_user(request, f"Cancelled {cancelled} job(s); {skipped} had started.")

    # --- displays -------------------------------------------------------------------------
    @admin.display(description="price", ordering="escrow__amount")
    def price(self, obj: Job) -> str:
        return _escrow_amount(obj, "amount")

    @admin.display(description="fee", ordering="escrow__fee")
    def fee(self, obj: Job) -> str:
        return _escrow_amount(obj, "fee")

    @admin.display(description="held (price + fee)")
    def held(self, obj: Job) -> str:
        return _escrow_amount(obj, "total")

    @admin.display(description="escrow status", ordering="escrow__status")
    def escrow_status(self, obj: Job) -> str:
        return obj.escrow.status if obj.escrow is not None else EMPTY

    @admin.display(description="escrow")
    def escrow_link(self, obj: Job) -> str:
        return _admin_link(obj.escrow, obj.escrow.public_id) if obj.escrow is not None else EMPTY

    @admin.display(description="dispute page")
    def dispute_page(self, obj: Job) -> str:
        if obj.status != Job.Status.DISPUTED and not obj.resolution:
            return EMPTY
        url = reverse("admin:marketplace_dispute_change", args=[obj.pk])
        label = "Resolve the dispute" if obj.status == Job.Status.DISPUTED else "The dispute"
        return format_html('<a href="{}">{}</a>', url, label)


# --- threads ------------------------------------------------------------------------------
class ThreadTransitionInline(ReadOnlyInline):
    """The thread's moves, oldest first: the audit rows `marketplace.threads` writes."""

    model = ThreadTransition
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    verbose_name = "move"
    verbose_name_plural = "moves (the thread's state transitions)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ThreadTransition]:
        return super().get_queryset(request).select_related("actor")


class ProposalInline(ReadOnlyInline):
    model = Proposal
    fields = ("public_id", "created_at", "price_usd", "fee_usd", "status", "expires_at", "message")
    price_usd = usd_display("price_micros", "price")
    fee_usd = usd_display("fee_micros", "fee")


class ThreadMessageInline(ReadOnlyInline):
    """The conversation. A credential is only ever "[credential]": its ciphertext is not
    even loaded."""

    model = ThreadMessage
    fields = ("created_at", "sender", "kind", "text")
    verbose_name = "message"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ThreadMessage]:
        return super().get_queryset(request).defer("secret").select_related("sender", "proposal")

    @admin.display(description="message")
    def text(self, obj: ThreadMessage) -> str:
        return _message_text(obj)


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    """Threads, read-only: status, proposals and messages belong to `marketplace.threads`;
    a paid thread follows its job, where an operator acts."""

    list_display = (
        "public_id",
        "status",
        "service",
        "buyer",
        "provider",
        "job_link",
        "held",
        "updated_at",
    )
    list_filter = ("status", ServiceTypeFilter)
    list_select_related = ("service", "buyer", "provider", "job", "job__escrow")
    search_fields = (
        "=public_id",
        "=quote_id",
        "=buyer__wallet",
        "=provider__wallet",
        "=buyer__public_id",
        "=provider__public_id",
        "buyer__name",
        "provider__name",
        "=service__public_id",
        "service__name",
        "=job__public_id",
    )
    search_help_text = "A thread, quote, job or service id; a wallet; a name."
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = (ThreadTransitionInline, ProposalInline, ThreadMessageInline)
    fieldsets = (
        (None, {"fields": ("public_id", "quote_id", "status", "service", "buyer", "provider")}),
        ("Deal", {"fields": ("job_link", "held", "brief", "expires_at")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = (
        "public_id",
        "quote_id",
        "status",
        "service",
        "buyer",
        "provider",
        "job_link",
        "held",
        "brief",
        "expires_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Thread]:
        # All of them: the changelist adds `list_select_related` only to a queryset without.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @staticmethod
    def _job(thread: Thread) -> Job | None:
        try:
            return thread.job
        except Job.DoesNotExist:
            return None

    @admin.display(description="job", ordering="job__public_id")
    def job_link(self, obj: Thread) -> str:
        job = self._job(obj)
        return _admin_link(job, f"{job.public_id} ({job.status})") if job is not None else EMPTY

    @admin.display(description="held (price + fee)")
    def held(self, obj: Thread) -> str:
        return _escrow_amount(self._job(obj), "total")


# --- disputes -----------------------------------------------------------------------------
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
    """How an admin settles a dispute; `marketplace.jobs.job_resolve_dispute` does it."""

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
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined,no-any-return]
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
                "text": _message_text(message),
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


def _message_text(message: ThreadMessage) -> str:
    """What the admin reads of a message. A credential is only ever "[credential]"."""
    kind = ThreadMessage.Kind
    if message.kind == kind.CREDENTIAL:
        return "[credential]"
    text = message.body
    if message.kind == kind.ATTACHMENT:
        size = f", {message.attachment_size} bytes" if message.attachment_size is not None else ""
        text = f"[file {message.attachment_name}{size}] {text}".strip()
    elif message.kind == kind.PROPOSAL and message.proposal is not None:
        proposal = message.proposal
        text = (
            f"[proposal {proposal.public_id}: {usd(proposal.price_micros)} "
            f"+ {usd(proposal.fee_micros)} fee, {proposal.status}] {text}"
        ).strip()
    return text
