"""The agent's deal pages of the web dashboard: buy a fixed-price service, inquire about a
quoted one, follow threads (messages, credentials, files, proposals: accept and pay, or
decline) and jobs (timeline, deliverables, verify, dispute).

Views stay thin. Every paid action runs the API's own view through its payment gate
(`payments.web.gateway`: a purchase, an inquiry, an accept, a dispute are charged exactly as
by API); free actions call the same services as the API (`threads`, `agreements`, `jobs`).
A thread or job is shown to its buyer only: anyone else gets a 404, as for an unknown id.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError

from marketplace.catalog.models import Service, ServiceType
from marketplace.catalog.selectors import service_get
from marketplace.deals import agreements, jobs, threads
from marketplace.deals.jobs_api import JobDisputeView
from marketplace.deals.models import Job, Thread
from marketplace.deals.purchases_api import InquireView, PurchaseView
from marketplace.deals.selectors import (
    job_get,
    jobs_of,
    live_proposal,
    message_of,
    thread_get,
    thread_history,
    threads_of,
)
from marketplace.deals.serializers import MessageInput
from marketplace.deals.threads_api import AcceptView
from payments import accounts
from payments.models import Participant
from payments.selectors import balance_summary
from payments.web import deposits, gateway
from payments.web.views import dashboard_participant
from the402.lib.api import validated
from the402.lib.errors import ApplicationError, NotFound
from the402.lib.ratelimit import rate_limit

PAGE_SIZE = 20


# --- helpers ---------------------------------------------------------------------------------
def _brief(text: str) -> Any:
    """The brief typed into a form: JSON when it parses as JSON, else the text (as the API's
    `text/plain` bodies are read)."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text


def _own_thread(thread_id: str, participant: Participant) -> Thread:
    try:
        thread = thread_get(thread_id)
    except NotFound:
        raise Http404("No such thread") from None
    if thread.buyer_id != participant.pk:
        raise Http404("No such thread")
    return thread


def _own_job(job_id: str, participant: Participant) -> Job:
    try:
        job = job_get(job_id)
    except NotFound:
        raise Http404("No such job") from None
    if job.buyer_id != participant.pk:
        raise Http404("No such job")
    return job


def _wallet_payment(
    request: HttpRequest,
    participant: Participant,
    view_class: type[Any],
    path: str,
    kwargs: dict[str, Any],
) -> str:
    """An x402 header paying `view_class`'s price from the account's managed wallet, signed
    here (a wallet of the owner's own pays by an x402 client: see the service page)."""
    signer = accounts.managed_signer(participant)
    if signer is None:
        raise ApplicationError(
            "This service is paid from a wallet, not the balance: your wallet is your own, "
            "so pay by API with an x402 client (see How to buy it by API)",
            code="wallet_not_managed",
        )
    return deposits.signed_payment(request, signer, view_class, path=path, kwargs=kwargs)


def _failed(request: HttpRequest, outcome: gateway.Outcome, what: str) -> None:
    if outcome.status == 402:
        messages.error(
            request,
            f"{what}: your balance is too low. Deposit first (Balance page). {outcome.error}",
        )
    else:
        messages.error(request, f"{what}: {outcome.error}")


# --- buying ----------------------------------------------------------------------------------
@never_cache
@login_required
@require_POST
def buy(request: HttpRequest, service_id: str) -> HttpResponse:
    """Buy a fixed-price service at the price the page showed (`max_price`), from the
    balance, or (human services) from the account's wallet."""
    participant = dashboard_participant(request)
    service = service_get(service_id)
    if service is None or service.status != Service.Status.ACTIVE:
        raise Http404("No such service")
    back = reverse("web-service", args=[service.public_id])
    path = f"/v1/services/{service.public_id}/purchase"
    kwargs = {"service_id": service.public_id}
    query = {"max_price": str(request.POST.get("max_price", ""))[:20]}
    if not query["max_price"]:
        query = {}
    body = _brief(str(request.POST.get("brief", "")))
    try:
        if service.service_type == ServiceType.HUMAN_SERVICE:
            pay = _wallet_payment(request, participant, PurchaseView, path, kwargs)
        else:
            pay = "balance"
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    outcome = gateway.call(
        PurchaseView,
        request,
        participant=participant,
        pay=pay,
        path=path,
        kwargs=kwargs,
        body=body,
        query=query,
    )
    if not outcome.ok:
        _failed(request, outcome, "The purchase did not go through")
        return redirect(back)
    messages.success(request, f"Bought {service.name}.")
    return redirect("web-job", job_id=outcome.data["job_id"])


@never_cache
@login_required
@require_POST
def inquire(request: HttpRequest, service_id: str) -> HttpResponse:
    """Open a thread about a service ($0.001 from the balance, as the API charges)."""
    participant = dashboard_participant(request)
    service = service_get(service_id)
    if service is None or service.status != Service.Status.ACTIVE:
        raise Http404("No such service")
    body: dict[str, Any] = {"message": str(request.POST.get("message", ""))}
    brief = _brief(str(request.POST.get("brief", "")))
    if brief:
        body["brief"] = brief
    outcome = gateway.call(
        InquireView,
        request,
        participant=participant,
        pay="balance",
        path=f"/v1/services/{service.public_id}/inquire",
        kwargs={"service_id": service.public_id},
        body=body,
    )
    if not outcome.ok:
        _failed(request, outcome, "The inquiry was not sent")
        return redirect("web-service", service_id=service.public_id)
    messages.success(request, "Your inquiry was sent to the provider.")
    return redirect("web-thread", thread_id=outcome.data["thread_id"])


# --- threads ---------------------------------------------------------------------------------
@never_cache
@login_required
@require_GET
def thread_list(request: HttpRequest) -> HttpResponse:
    participant = dashboard_participant(request)
    status = request.GET.get("status") or None
    if status is not None and status not in Thread.Status.values:
        status = None
    found = threads_of(participant, status=status).filter(buyer=participant)
    page = Paginator(found.order_by("-updated_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "deals/threads.html",
        {"page": page, "status": status, "statuses": Thread.Status.choices},
    )


@never_cache
@login_required
@require_GET
def thread_detail(request: HttpRequest, thread_id: str) -> HttpResponse:
    participant = dashboard_participant(request)
    thread = _own_thread(thread_id, participant)
    shown = live_proposal(thread)
    threads.proposal_seen(thread, shown, reader=participant)  # as GET /v1/threads/:id
    history = thread_history(thread)
    for message in history.messages:
        if message.kind == message.Kind.CREDENTIAL:  # shown to its parties only
            message.credential_text = threads.credential_text(message)  # type: ignore[attr-defined]
    job = Job.objects.filter(thread=thread).first()
    closed = thread.status in threads.CLOSED
    return render(
        request,
        "deals/thread.html",
        {
            "thread": thread,
            "history": history,
            "proposal": shown,
            "job": job,
            "closed": closed,
            "balance": balance_summary(participant),
            "pays_by_wallet": thread.service.service_type == ServiceType.HUMAN_SERVICE,
            "message_types": [("text", "Message"), ("credential", "Credential (encrypted)")],
        },
    )


@never_cache
@login_required
@require_POST
def thread_message(request: HttpRequest, thread_id: str) -> HttpResponse:
    """Write to the thread: text, a credential or a file (the service of
    `POST /v1/threads/:id/messages`, rate-limited as for a key holder)."""
    participant = dashboard_participant(request)
    thread = _own_thread(thread_id, participant)
    data: dict[str, Any] = {"message": str(request.POST.get("message", ""))}
    if request.POST.get("type"):
        data["type"] = request.POST["type"]
    if "file" in request.FILES:
        data["file"] = request.FILES["file"]
        data["type"] = "attachment"
    try:
        checked = validated(MessageInput, data)
        rate_limit("thread_message", participant.wallet)
        threads.message_post(
            thread=thread,
            sender=participant,
            kind=checked["type"],
            text=checked["message"],
            upload=checked.get("file"),
        )
    except ValidationError as exc:
        messages.error(request, f"The message was not sent: {gateway._flatten(exc.detail)}")
    except ApplicationError as exc:
        messages.error(request, f"The message was not sent: {exc.message}")
    else:
        messages.success(request, "Sent.")
    return redirect("web-thread", thread_id=thread.public_id)


@never_cache
@login_required
@require_GET
def thread_attachment(request: HttpRequest, thread_id: str, message_id: str) -> FileResponse:
    """Download a file sent in the thread (as `GET .../messages/:id/attachment`)."""
    participant = dashboard_participant(request)
    thread = _own_thread(thread_id, participant)
    try:
        message = message_of(thread, message_id)
    except NotFound:
        raise Http404("No such message") from None
    if not message.attachment:
        raise Http404("No attachment")
    return FileResponse(
        message.attachment.open("rb"),
        as_attachment=True,
        filename=message.attachment_name,
        content_type=message.attachment_type,
    )


@never_cache
@login_required
@require_POST
def thread_accept(request: HttpRequest, thread_id: str) -> HttpResponse:
    """Accept the proposal the page showed (`proposal_id`) and pay its total into escrow."""
    participant = dashboard_participant(request)
    thread = _own_thread(thread_id, participant)
    path = f"/v1/threads/{thread.public_id}/accept"
    kwargs = {"thread_id": thread.public_id}
    body = {"proposal_id": str(request.POST.get("proposal_id", ""))[:64] or None}
    try:
        if thread.service.service_type == ServiceType.HUMAN_SERVICE:
            pay = _wallet_payment(request, participant, AcceptView, path, kwargs)
        else:
            pay = "balance"
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("web-thread", thread_id=thread.public_id)
    outcome = gateway.call(
        AcceptView, request, participant=participant, pay=pay, path=path, kwargs=kwargs, body=body
    )
    if not outcome.ok:
        _failed(request, outcome, "The proposal was not accepted")
        return redirect("web-thread", thread_id=thread.public_id)
    messages.success(request, "Accepted and paid into escrow: the provider starts work.")
    return redirect("web-thread", thread_id=thread.public_id)


@never_cache
@login_required
@require_POST
def thread_decline(request: HttpRequest, thread_id: str) -> HttpResponse:
    participant = dashboard_participant(request)
    thread = _own_thread(thread_id, participant)
    reason = str(request.POST.get("reason", "")).strip()
    if len(reason) > 2000:
        messages.error(request, "The reason is limited to 2000 characters.")
        return redirect("web-thread", thread_id=thread.public_id)
    try:
        agreements.thread_decline(thread=thread, participant=participant, reason=reason)
    except ApplicationError as exc:
        messages.error(request, f"The thread was not declined: {exc.message}")
    else:
        messages.success(request, "Declined.")
    return redirect("web-thread", thread_id=thread.public_id)


# --- jobs ------------------------------------------------------------------------------------
@never_cache
@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    participant = dashboard_participant(request)
    status = request.GET.get("status") or None
    if status is not None and status not in Job.Status.values:
        status = None
    found = jobs_of(participant, status=status).filter(buyer=participant)
    page = Paginator(found.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "deals/jobs.html",
        {"page": page, "status": status, "statuses": Job.Status.choices},
    )


@never_cache
@login_required
@require_GET
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    participant = dashboard_participant(request)
    job = _own_job(job_id, participant)
    return render(
        request,
        "deals/job.html",
        {
            "job": job,
            "timeline": list(job.transitions.select_related("actor").order_by("created_at", "id")),
            "can_verify": job.status == Job.Status.COMPLETED,
            "can_dispute": job.status in jobs.DISPUTABLE,
            "deliverables": _pretty(job.deliverables),
            "brief": _pretty(job.brief),
            "reason_min": jobs.REASON_MIN,
            "reason_max": jobs.REASON_MAX,
        },
    )


def _pretty(value: Any) -> str:
    if value in (None, "", {}):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


@never_cache
@login_required
@require_POST
def job_verify(request: HttpRequest, job_id: str) -> HttpResponse:
    """Accept the delivery: the escrow is released to the provider (`jobs.job_verify`)."""
    participant = dashboard_participant(request)
    job = _own_job(job_id, participant)
    rating_text = str(request.POST.get("rating", "")).strip()
    try:
        rating = int(rating_text) if rating_text else None
    except ValueError:
        rating = -1  # refused by the service's own check
    try:
        jobs.job_verify(
            job=job,
            buyer=participant,
            rating=rating,
            feedback=str(request.POST.get("feedback", ""))[:2000],
        )
    except ApplicationError as exc:
        messages.error(request, f"The job was not verified: {exc.message}")
    else:
        messages.success(request, "Verified: the provider is paid.")
    return redirect("web-job", job_id=job.public_id)


@never_cache
@login_required
@require_POST
def job_dispute(request: HttpRequest, job_id: str) -> HttpResponse:
    """Dispute the delivery with a reason ($0.005 from the balance, as the API charges)."""
    participant = dashboard_participant(request)
    job = _own_job(job_id, participant)
    outcome = gateway.call(
        JobDisputeView,
        request,
        participant=participant,
        pay="balance",
        path=f"/v1/jobs/{job.public_id}/dispute",
        kwargs={"job_id": job.public_id},
        body={"reason": str(request.POST.get("reason", ""))[:4000]},
    )
    if not outcome.ok:
        _failed(request, outcome, "The dispute was not opened")
    else:
        messages.success(request, "Disputed: the money stays in escrow until it is resolved.")
    return redirect("web-job", job_id=job.public_id)
