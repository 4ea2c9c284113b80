"""The provider's jobs inbox, its threads and its earnings, on the dashboard.

Every action calls the service the API calls: `job_update` (start, deliver, fail, as `POST
/v1/jobs/:id/update`), `message_post` (`POST /v1/threads/:id/messages`), `proposal_make`
(`/propose`), `thread_decline` (`/decline`). Another provider's job or thread is a 404.
"""

from __future__ import annotations

import csv
import json
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from marketplace.deals import provider_selectors as reads
from marketplace.deals.agreements import thread_decline
from marketplace.deals.delivery import job_deliver
from marketplace.deals.forms import DeliverForm, MessageForm, ProposeForm, ReasonForm
from marketplace.deals.jobs import job_update
from marketplace.deals.models import Job, Thread, ThreadMessage
from marketplace.deals.threads import credential_text, message_post, proposal_make
from marketplace.provider_access import provider_view
from payments.earnings import provider_earnings
from payments.models import Participant
from payments.networks import current_network
from the402.lib import money
from the402.lib.charts import bar_chart
from the402.lib.errors import ApplicationError

POLL_SECONDS = 5
WINDOWS = (30, 90)
# Block explorers by network (`THE402_NETWORK`); devnet's local chain has none.
EXPLORERS = {"base": "https://basescan.org", "base-sepolia": "https://sepolia.basescan.org"}


# --- the inbox ----------------------------------------------------------------------------
def _tab(request: HttpRequest) -> str:
    tab = request.GET.get("tab", "new")
    return tab if tab in reads.INBOX_BUCKETS else "new"


def _inbox_context(participant: Participant, tab: str) -> dict[str, Any]:
    inbox = reads.provider_inbox(participant, tab)
    return {
        "participant": participant,
        "inbox": inbox,
        "tabs": [
            (key, label, inbox.counts[key]) for key, (label, _) in reads.INBOX_BUCKETS.items()
        ],
        "tab": tab,
        "fingerprint": reads.inbox_fingerprint(participant),
        "poll_seconds": POLL_SECONDS,
    }


@provider_view
@require_GET
def inbox(request: HttpRequest, participant: Participant) -> HttpResponse:
    return render(request, "provider/inbox.html", _inbox_context(participant, _tab(request)))


@provider_view
@require_GET
def inbox_poll(request: HttpRequest, participant: Participant) -> HttpResponse:
    """The inbox's list alone, for the polling script (`static/js/provider.js`)."""
    return render(request, "provider/_inbox_list.html", _inbox_context(participant, _tab(request)))


# --- one job ------------------------------------------------------------------------------
def _shown_messages(thread: Thread | None, viewer: Participant) -> list[dict[str, Any]]:
    """The thread's messages as the provider sees them (credentials opened for a party)."""
    shown = []
    for message in reads.thread_messages(thread):
        secret = credential_text(message) if message.kind == ThreadMessage.Kind.CREDENTIAL else None
        shown.append(
            {
                "message": message,
                "mine": message.sender_id == viewer.pk,
                "from": "you"
                if message.sender_id == viewer.pk
                else ("buyer" if message.sender_id else "the402"),
                "credential": secret,
            }
        )
    return shown


def _job_context(participant: Participant, job: Job, **forms: Any) -> dict[str, Any]:
    deliver = forms.get("deliver_form") or DeliverForm(schema=job.service.deliverable_schema)
    return {
        "participant": participant,
        "job": job,
        "brief_json": json.dumps(job.brief, indent=2, ensure_ascii=False),
        "deliverables_json": json.dumps(job.deliverables, indent=2, ensure_ascii=False)
        if job.deliverables is not None
        else "",
        "thread": job.thread,
        "shown": _shown_messages(job.thread, participant),
        "deliver_form": deliver,
        "message_form": forms.get("message_form") or MessageForm(),
        "reason_form": ReasonForm(),
        "bucket": reads.BUCKET_OF_STATUS.get(job.status, "finished"),
        "can_start": job.status == Job.Status.DISPATCHED,
        "can_deliver": job.status in (Job.Status.DISPATCHED, Job.Status.IN_PROGRESS),
        "can_fail": job.status in (Job.Status.DISPATCHED, Job.Status.IN_PROGRESS),
        "can_write": job.thread is not None
        and job.thread.status not in (Thread.Status.VERIFIED, Thread.Status.CANCELLED),
        "poll_seconds": POLL_SECONDS,
        "human": job.service.fulfillment_type == "human",
    }


@provider_view
@require_GET
def job_detail(request: HttpRequest, participant: Participant, job_id: str) -> HttpResponse:
    job = reads.provider_job(participant, job_id)
    return render(request, "provider/job.html", _job_context(participant, job))


@provider_view
@require_GET
def job_thread_poll(request: HttpRequest, participant: Participant, job_id: str) -> HttpResponse:
    """The job's thread alone, for the polling script."""
    job = reads.provider_job(participant, job_id)
    return render(request, "provider/_thread.html", _job_context(participant, job))


def _back(job: Job) -> HttpResponse:
    return redirect(reverse("dash-provider-job", args=[job.public_id]))


def _refused(
    request: HttpRequest, participant: Participant, job: Job, exc: ApplicationError, **forms: Any
) -> HttpResponse:
    context = _job_context(participant, reads.provider_job(participant, job.public_id), **forms)
    context["action_error"] = exc.message
    return render(request, "provider/job.html", context, status=exc.status_code)


@provider_view
@require_POST
def job_start(request: HttpRequest, participant: Participant, job_id: str) -> HttpResponse:
    job = reads.provider_job(participant, job_id)
    try:
        job_update(job=job, provider=participant, status=Job.Status.IN_PROGRESS)
    except ApplicationError as exc:
        return _refused(request, participant, job, exc)
    messages.success(request, "Work started: the buyer sees the job in progress.")
    return _back(job)


@provider_view
@require_POST
def job_fail(request: HttpRequest, participant: Participant, job_id: str) -> HttpResponse:
    """Give up the job: it fails and the escrow goes back to the buyer."""
    job = reads.provider_job(participant, job_id)
    form = ReasonForm(request.POST)
    notes = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        job_update(job=job, provider=participant, status=Job.Status.FAILED, notes=notes)
    except ApplicationError as exc:
        return _refused(request, participant, job, exc)
    messages.success(request, "The job failed and the buyer was refunded.")
    return _back(job)


@provider_view
@require_POST
def job_deliver_view(request: HttpRequest, participant: Participant, job_id: str) -> HttpResponse:
    job = reads.provider_job(participant, job_id)
    form = DeliverForm(request.POST, request.FILES, schema=job.service.deliverable_schema)
    if not form.is_valid():
        return _refused(
            request,
            participant,
            job,
            ApplicationError("Check the delivery's fields", code="invalid_deliverables"),
            deliver_form=form,
        )
    try:
        job_deliver(
            job=job,
            provider=participant,
            deliverables=form.deliverables,
            notes=form.cleaned_data["notes"],
            upload=form.cleaned_data.get("file"),
        )
    except ApplicationError as exc:
        if exc.code == "invalid_deliverables":
            form.add_error(form.deliverable_field_names[0], exc.message)
        return _refused(request, participant, job, exc, deliver_form=form)
    messages.success(request, "Delivered: the buyer verifies it, or it is verified in 48 hours.")
    return _back(job)


@provider_view
@require_POST
def job_message(request: HttpRequest, participant: Participant, job_id: str) -> HttpResponse:
    job = reads.provider_job(participant, job_id)
    if job.thread is None:
        return _refused(
            request,
            participant,
            job,
            ApplicationError("This job has no thread", code="conflict", status=409),
        )
    form = MessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(
            request,
            participant,
            job,
            ApplicationError("Write a message or attach a file", code="invalid_request"),
            message_form=form,
        )
    try:
        _post(job.thread, participant, form)
    except ApplicationError as exc:
        return _refused(request, participant, job, exc, message_form=form)
    return _back(job)


def _post(thread: Thread, participant: Participant, form: MessageForm) -> ThreadMessage:
    data = form.cleaned_data
    if data.get("file"):
        kind = ThreadMessage.Kind.ATTACHMENT
    elif data.get("kind") == "credential":
        kind = ThreadMessage.Kind.CREDENTIAL
    else:
        kind = ThreadMessage.Kind.TEXT
    return message_post(
        thread=thread, sender=participant, kind=kind, text=data["text"], upload=data.get("file")
    )


@provider_view
@require_GET
def job_file(
    request: HttpRequest, participant: Participant, job_id: str, message_id: str
) -> FileResponse:
    """A file of the job's thread (either party's), for the provider."""
    job = reads.provider_job(participant, job_id)
    if job.thread is None:
        raise ApplicationError("File not found", code="message_not_found", status=404)
    return _file(reads.thread_message(job.thread, message_id))


def _file(message: ThreadMessage) -> FileResponse:
    return FileResponse(
        message.attachment.open("rb"),
        as_attachment=True,
        filename=message.attachment_name,
        content_type=message.attachment_type,
    )


# --- threads without a job (inquiries) ------------------------------------------------------
def _thread_context(participant: Participant, thread: Thread, **forms: Any) -> dict[str, Any]:
    return {
        "participant": participant,
        "thread": thread,
        "service": thread.service,
        "shown": _shown_messages(thread, participant),
        "message_form": forms.get("message_form") or MessageForm(),
        "propose_form": forms.get("propose_form") or ProposeForm(),
        "reason_form": ReasonForm(),
        "open": thread.status in (Thread.Status.INQUIRY, Thread.Status.NEGOTIATING),
        "fee_bps": money.PLATFORM_FEE_BPS,
        "poll_seconds": POLL_SECONDS,
        "can_write": thread.status not in (Thread.Status.VERIFIED, Thread.Status.CANCELLED),
    }


def _thread_page(
    request: HttpRequest, participant: Participant, thread: Thread, status: int = 200, **forms: Any
) -> HttpResponse:
    context = _thread_context(participant, thread, **forms)
    if "error" in forms:
        context["action_error"] = forms["error"]
    return render(request, "provider/thread.html", context, status=status)


@provider_view
@require_GET
def thread_detail(request: HttpRequest, participant: Participant, thread_id: str) -> HttpResponse:
    thread = reads.provider_thread(participant, thread_id)
    job = Job.objects.filter(thread=thread).only("public_id").first()
    if job is not None:  # a paid thread is shown with its job
        return redirect(reverse("dash-provider-job", args=[job.public_id]))
    return _thread_page(request, participant, thread)


@provider_view
@require_POST
def thread_reply(request: HttpRequest, participant: Participant, thread_id: str) -> HttpResponse:
    thread = reads.provider_thread(participant, thread_id)
    form = MessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _thread_page(request, participant, thread, 400, message_form=form)
    try:
        _post(thread, participant, form)
    except ApplicationError as exc:
        return _thread_page(
            request, participant, thread, exc.status_code, message_form=form, error=exc.message
        )
    return redirect(reverse("dash-provider-thread", args=[thread.public_id]))


@provider_view
@require_POST
def thread_propose(request: HttpRequest, participant: Participant, thread_id: str) -> HttpResponse:
    """Propose a price within the service's range (`proposal_make`, as `/propose`)."""
    thread = reads.provider_thread(participant, thread_id)
    form = ProposeForm(request.POST)
    if form.is_valid():
        try:
            price = money.parse_usd(form.cleaned_data["price"])
            proposal_make(
                thread=thread,
                provider=participant,
                price_micros=price,
                message=form.cleaned_data["message"],
            )
        except money.MoneyError as exc:
            form.add_error("price", str(exc))
        except ApplicationError as exc:
            form.add_error("price" if "price" in exc.code else None, exc.message)
        else:
            messages.success(request, "Proposal sent: the buyer sees it with the fee.")
            return redirect(reverse("dash-provider-thread", args=[thread.public_id]))
    return _thread_page(request, participant, thread, 400, propose_form=form)


@provider_view
@require_POST
def thread_decline_view(
    request: HttpRequest, participant: Participant, thread_id: str
) -> HttpResponse:
    thread = reads.provider_thread(participant, thread_id)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        thread_decline(thread=thread, participant=participant, reason=reason)
    except ApplicationError as exc:
        return _thread_page(request, participant, thread, exc.status_code, error=exc.message)
    messages.success(request, "Declined.")
    return redirect("dash-provider-inbox")


@provider_view
@require_GET
def thread_file(
    request: HttpRequest, participant: Participant, thread_id: str, message_id: str
) -> FileResponse:
    thread = reads.provider_thread(participant, thread_id)
    return _file(reads.thread_message(thread, message_id))


# --- earnings -----------------------------------------------------------------------------
def _window(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", WINDOWS[0]))
    except ValueError:
        return WINDOWS[0]
    return days if days in WINDOWS else WINDOWS[0]


@provider_view
@require_GET
def earnings(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Settled, held and pending earnings with their jobs; payouts with their transactions;
    daily earnings and sales per service (SVG drawn here); the data APIs' calls."""
    window = _window(request)
    summary = provider_earnings(participant)
    recent = summary["recent_settlements"]
    jobs = reads.jobs_by_public_id(participant, [r["job_id"] for r in recent if r["job_id"]])
    network = current_network()
    explorer = EXPLORERS.get(network.key, "")
    rows = [
        {
            **row,
            "amount": int(row["provider_amount_usd"].scaleb(6)),
            "job": jobs.get(row["job_id"] or ""),
            "tx_url": f"{explorer}/tx/{row['tx_hash']}" if explorer and row["tx_hash"] else "",
        }
        for row in recent
    ]
    daily = reads.daily_earnings(participant, window)
    sales = reads.sales_per_service(participant, window)
    return render(
        request,
        "provider/earnings.html",
        {
            "participant": participant,
            # Exact: the summary's Decimal dollars back to integer micro-USDC, for `usd`.
            "earnings": {
                name.removesuffix("_usd"): int(value.scaleb(6))
                for name, value in summary["earnings"].items()
            },
            "rows": rows,
            "window": window,
            "windows": WINDOWS,
            "daily": daily,
            "daily_chart": bar_chart(
                daily.days, daily.values, title=f"Earnings per day, last {window} days", money=True
            ),
            "sales_charts": [
                (s, bar_chart(s.days, s.values, title=f"Sales per day of {s.label}"))
                for s in sales[:6]
            ],
            "data_apis": reads.data_api_stats(participant, window),
            "network": network,
        },
    )


@provider_view
@require_GET
def earnings_csv(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Every settlement to the provider as CSV (amounts in micro-USDC and in USD)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="the402-settlements.csv"'
    fields = [
        "escrow_id",
        "job_id",
        "status",
        "amount_micros",
        "amount_usd",
        "fee_micros",
        "backing",
        "created_at",
        "updated_at",
    ]
    writer = csv.DictWriter(response, fieldnames=fields)
    writer.writeheader()
    for row in reads.settlements_csv_rows(participant):
        writer.writerow({**row, "amount_usd": money.format_usd(row["amount_micros"] or 0)})
    return response
