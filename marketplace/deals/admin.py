"""The operator's console over the deals: jobs and threads (disputes: `admin_disputes`).

Nothing the state machines own is edited as a field here. Jobs and threads are read-only
pages (their moves shown inline); an operator's action on a job (cancelling one not
started, resolving a dispute) calls the service that does it (`marketplace.deals.jobs`),
which moves the job, its thread, its escrow and the ledger together. Money shows as USD.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from marketplace.deals.jobs import NOT_STARTED, job_cancel
from marketplace.models import (
    Job,
    JobTransition,
    Proposal,
    ServiceType,
    Thread,
    ThreadMessage,
    ThreadTransition,
)
from the402.lib.admin import EMPTY, MoneyAdmin, ReadOnlyAdmin, ReadOnlyInline, usd, usd_display
from the402.lib.errors import ApplicationError


def admin_link(obj: Any, text: str | None = None) -> str:
    """A link to `obj`'s admin page, or "—"."""
    if obj is None:
        return EMPTY
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


def message_text(message: ThreadMessage) -> str:
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


class JobTransitionInline(ReadOnlyInline):
    """The job's moves, oldest first: the audit rows `marketplace.deals.jobs` writes."""

    model = JobTransition
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    verbose_name = "move"
    verbose_name_plural = "moves (the job's state transitions)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobTransition]:
        return super().get_queryset(request).select_related("actor")


class JobOperatorForm(forms.ModelForm):
    """No field of the job is editable: the form carries only an operator's action, which
    `JobAdmin.save_model` performs through `marketplace.deals.jobs`."""

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
    """Jobs, read-only: status, money and work belong to `marketplace.deals.jobs`. An operator
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

    # --- writes: only through marketplace.deals.jobs -----------------------------------------
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
        return admin_link(obj.escrow, obj.escrow.public_id) if obj.escrow is not None else EMPTY

    @admin.display(description="dispute page")
    def dispute_page(self, obj: Job) -> str:
        if obj.status != Job.Status.DISPUTED and not obj.resolution:
            return EMPTY
        url = reverse("admin:marketplace_dispute_change", args=[obj.pk])
        label = "Resolve the dispute" if obj.status == Job.Status.DISPUTED else "The dispute"
        return format_html('<a href="{}">{}</a>', url, label)


# --- threads ------------------------------------------------------------------------------
class ThreadTransitionInline(ReadOnlyInline):
    """The thread's moves, oldest first: the audit rows `marketplace.deals.threads` writes."""

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
        return message_text(obj)


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    """Threads, read-only: status, proposals and messages belong to `marketplace.deals.threads`;
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
        return admin_link(job, f"{job.public_id} ({job.status})") if job is not None else EMPTY

    @admin.display(description="held (price + fee)")
    def held(self, obj: Thread) -> str:
        return _escrow_amount(self._job(obj), "total")
