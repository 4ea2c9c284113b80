"""Webhooks to providers: events stored, then POSTed (signed) until delivered or given up.

`webhook_enqueue` stores a `WebhookDelivery` in the caller's transaction and queues its
first attempt after commit (django-q2 `marketplace.tasks.deliver_webhook`); the
`webhooks-retry` schedule runs `deliver_due` every minute for the rest.

An attempt claims the row in a short transaction (``SELECT … FOR UPDATE SKIP LOCKED``),
pushes its `next_attempt_at` past the attempt's longest duration (a lease, so neither a
concurrent run nor the schedule posts it meanwhile) and commits; the POST runs with no
database transaction open, and its outcome is written with a compare-and-swap on the
attempt number. So one delivery run twice at once posts once, and a crashed attempt is
retried once its lease runs out (at-least-once: providers dedupe on the event id).

Outcomes: 2xx delivers. 410 Gone, a URL that is not http(s) or names a refused IP address
fail at once (retrying cannot help). Anything else (3xx, since redirects are not
followed, other 4xx, 5xx, timeouts, connection and DNS errors) is retried with exponential
backoff and jitter (10 s, 30 s, 90 s, … at most 2 h) until 24 hours after the delivery was
created; the last failure then marks it FAILED.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task
from rest_framework.utils.encoders import JSONEncoder

from marketplace.catalog.models import Service
from marketplace.notify.models import WebhookDelivery
from marketplace.notify.outbound import EXCERPT_CHARS, Outcome, post_delivery
from payments.models import Participant
from reputation.services import record_webhook_delivery
from the402.lib.ids import new_public_id

logger = logging.getLogger(__name__)

RETRY_WINDOW = timedelta(hours=24)
BACKOFF_FIRST = 10.0  # seconds; multiplied by BACKOFF_FACTOR per failed attempt
BACKOFF_FACTOR = 3
BACKOFF_MAX = 2 * 60 * 60.0
# Beyond the request timeout, how long a claimed attempt keeps others off the delivery
# (DNS resolution and writing the outcome are not covered by the httpx timeout).
LEASE_MARGIN = timedelta(seconds=60)
# The retry task stops starting attempts after this, well within django-q2's 60 s timeout;
# what is left is due again at the next run.
DUE_BUDGET_SECONDS = 40.0
DUE_BATCH = 200
_RESERVED_KEYS = frozenset({"id", "type", "created_at"})


def _url_for(participant: Participant, service: Service | None) -> str:
    if service is not None and service.webhook_url:
        return service.webhook_url
    return participant.webhook_url


def delivery_create(
    *,
    participant: Participant,
    event_type: str,
    payload: dict[str, Any],
    service: Service | None,
    queued: bool = True,
) -> WebhookDelivery | None:
    """Store an event; `queued=False` stores it as already being attempted (once) by the
    caller, out of the retry schedule's reach."""
    if event_type not in WebhookDelivery.EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    clash = _RESERVED_KEYS & set(payload)
    if clash:
        raise ValueError(f"payload must not set {', '.join(sorted(clash))}")
    if service is not None and service.provider_id != participant.pk:
        raise ValueError("the service belongs to another provider")
    url = _url_for(participant, service)
    if not url:
        logger.info("webhook %s for %s not sent: no webhook URL", event_type, participant.public_id)
        return None
    now = timezone.now()
    event_id = new_public_id("evt")
    event = {
        "id": event_id,
        "type": event_type,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        **payload,
    }
    delivery = WebhookDelivery(
        event_id=event_id,
        event_type=event_type,
        participant=participant,
        service=service,
        url=url,
        payload=json.dumps(event, cls=JSONEncoder, separators=(",", ":")),
        next_attempt_at=now if queued else None,
        attempts=0 if queued else 1,
    )
    delivery.full_clean()
    delivery.save()
    return delivery


@transaction.atomic
def webhook_enqueue(
    *,
    participant: Participant,
    event_type: str,
    payload: dict[str, Any],
    service: Service | None = None,
) -> WebhookDelivery | None:
    """Store an event for ``participant`` and queue its delivery once the caller commits.

    The body is ``{"id": "evt_…", "type": event_type, "created_at": …, **payload}``; payload
    values must be JSON-serialisable (datetimes are written as ISO 8601 strings, decimals
    such as `*_usd` amounts as numbers, as in API responses).
    It goes to the service's webhook URL if it has one, else the participant's; with
    neither, nothing is stored or sent and None is returned. Call it inside the transaction
    of the change the event reports, so the event exists exactly when the change does.
    Raises ValueError for an unknown type, a payload setting id/type/created_at, or a
    service of another provider.
    """
    delivery = delivery_create(
        participant=participant, event_type=event_type, payload=payload, service=service
    )
    if delivery is not None:
        delivery_id = delivery.pk
        transaction.on_commit(lambda: async_task("marketplace.tasks.deliver_webhook", delivery_id))
    return delivery


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed tries: 10 s, 30 s, 90 s, … at most 2 h, ±20 %
    jitter (so endpoints that failed together are not all retried together)."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * BACKOFF_FACTOR ** min(max(attempts - 1, 0), 10))
    jitter = random.uniform(0.8, 1.2)  # noqa: S311 - spreading retries, not a secret
    return timedelta(seconds=min(BACKOFF_MAX, base * jitter))


def claim(delivery_id: int, *, lease: timedelta) -> WebhookDelivery | None:
    """Take a due PENDING delivery for one attempt: counts the attempt and leases the row
    (its `next_attempt_at` moves past the attempt), committed before anything is sent.
    None when it is finished, not due, or held by another run."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return None
        now = timezone.now()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None  # backing off, or another run's attempt is in flight
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        delivery.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    return delivery


def record(delivery: WebhookDelivery, outcome: Outcome, *, retry: bool) -> None:
    """Write an attempt's outcome, unless the claim was lost meanwhile (its lease ran out
    and another run took the delivery: that run's outcome is the one to keep)."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "last_attempt_at": now,
        "last_status_code": outcome.status_code,
        "last_latency_ms": outcome.latency_ms,
        "last_error": outcome.error[:300],
        "last_response_excerpt": outcome.excerpt[:EXCERPT_CHARS],
        "signed": outcome.signed,
        "updated_at": now,
    }
    deadline = delivery.created_at + RETRY_WINDOW
    if outcome.delivered:
        fields.update(
            status=WebhookDelivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None
        )
    elif outcome.permanent or not retry or now >= deadline:
        fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
    else:
        # The last retry falls on the deadline itself, so the window is used to its end.
        fields["next_attempt_at"] = min(now + backoff(delivery.attempts), deadline)
    with transaction.atomic():
        won = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
        ).update(**fields)
        if won and fields.get("status") is not None:
            _reputation_signal(delivery, delivered=outcome.delivered)
    if not won:
        logger.warning(
            "webhook %s: attempt %s finished after its lease; outcome dropped",
            delivery.event_id,
            delivery.attempts,
        )
    elif not outcome.delivered:
        logger.info(
            "webhook %s attempt %s failed: %s",
            delivery.event_id,
            delivery.attempts,
            outcome.error,
        )


def _reputation_signal(delivery: WebhookDelivery, *, delivered: bool) -> None:
    """A delivery's end (delivered, or given up) counts for its provider's reliability
    (`reputation.services.record_webhook_delivery`, weight 0.25). Not a test probe (the
    provider checking its own endpoint), nor a data API call (its answer is its own
    signal, `reputation_feed.data_api_*`), nor an event without a service."""
    service = delivery.service
    if service is None or delivery.event_type == WebhookDelivery.EventType.TEST:
        return
    if delivery.next_attempt_at is None:
        return  # not from the queue (`queued=False`): a data API call, made in its request
    record_webhook_delivery(
        provider_id=delivery.participant_id,
        service_public_id=service.public_id,
        service_type=service.service_type,
        delivery_public_id=delivery.event_id,
        delivered=delivered,
    )


def lease() -> timedelta:
    return timedelta(seconds=float(settings.WEBHOOK_TIMEOUT)) + LEASE_MARGIN


def webhook_deliver(delivery_id: int) -> WebhookDelivery:
    """Make one attempt at a delivery if it is due; returns it (re-read).

    Idempotent and safe to run concurrently: a delivered or failed delivery, one not due
    yet, or one another run is attempting is left alone. Never raises for the provider's
    behaviour: the outcome is recorded on the row (see the module docstring).
    """
    delivery = claim(delivery_id, lease=lease())
    if delivery is not None:
        record(delivery, post_delivery(delivery), retry=True)
    return WebhookDelivery.objects.get(pk=delivery_id)


def deliveries_due(now: datetime | None = None) -> QuerySet[WebhookDelivery]:
    """PENDING deliveries whose next attempt is due, the longest-waiting first."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")


def deliver_due(*, budget_seconds: float = DUE_BUDGET_SECONDS) -> int:
    """Attempt the due deliveries until ``budget_seconds`` are spent; returns how many were
    attempted (the rest are due again at the next run)."""
    deadline = time.monotonic() + budget_seconds
    ran = 0
    for delivery_id in list(deliveries_due().values_list("pk", flat=True)[:DUE_BATCH]):
        if time.monotonic() > deadline:
            break
        webhook_deliver(delivery_id)
        ran += 1
    return ran


def delivery_retry_now(delivery: WebhookDelivery) -> WebhookDelivery:
    """The provider's "retry now" for a FAILED delivery: one more attempt, at once, with
    the same event id and body (re-read and returned). It is reopened by a compare-and-swap
    (two clicks make one attempt); if that attempt fails too it stays FAILED, with the new
    attempt's outcome on the row. A delivery not FAILED is returned untouched (pending ones
    are the retry schedule's). Blocks for up to the webhook timeout: call it outside any
    transaction."""
    reopened = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.FAILED
    ).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now())
    if reopened:
        claimed = claim(delivery.pk, lease=lease())
        if claimed is not None:
            record(claimed, post_delivery(claimed), retry=False)
    return WebhookDelivery.objects.select_related("service").get(pk=delivery.pk)
