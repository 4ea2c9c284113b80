"""The provider's webhook log on the dashboard: every delivery with its attempts, answers,
next retry and payload, and "retry now" for a failed one (`delivery_retry_now`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from marketplace.notify.models import WebhookDelivery
from marketplace.notify.outbox import delivery_retry_now
from marketplace.notify.selectors import deliveries_for, delivery_of
from marketplace.provider_access import provider_view
from payments.models import Participant
from the402.lib.ratelimit import rate_limit

PAGE = 50


@provider_view
@require_GET
def webhooks(request: HttpRequest, participant: Participant) -> HttpResponse:
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    deliveries = list(deliveries_for(participant, limit=PAGE + 1, offset=offset))
    return render(
        request,
        "provider/webhooks.html",
        {
            "participant": participant,
            "deliveries": deliveries[:PAGE],
            "offset": offset,
            "next_offset": offset + PAGE if len(deliveries) > PAGE else None,
            "prev_offset": max(offset - PAGE, 0) if offset else None,
            "failed": WebhookDelivery.Status.FAILED,
        },
    )


@provider_view
@require_POST
def webhook_retry(request: HttpRequest, participant: Participant, delivery_id: str) -> HttpResponse:
    """One more attempt at a failed delivery, now (same event id and body)."""
    delivery = delivery_of(participant, delivery_id)
    rate_limit("webhook_test", participant.public_id)  # each retry calls out
    retried = delivery_retry_now(delivery)
    if retried.status == WebhookDelivery.Status.DELIVERED:
        messages.success(request, f"{retried.event_type} {retried.event_id} was delivered.")
    else:
        messages.error(
            request,
            f"{retried.event_type} {retried.event_id} failed again: "
            f"{retried.last_error or retried.last_status_code}",
        )
    return redirect("dash-provider-webhooks")
