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

Headers: ``X-Webhook-Id`` (the event id), ``X-Webhook-Timestamp`` (unix seconds) and
``X-Webhook-Signature: sha256=<hex HMAC-SHA256(webhook secret, "<timestamp>." + body)>``,
the live platform's scheme (see `sign` / `verify`). Deliberate deviation from the live
platform: it also sends ``X-Platform-Secret: <the provider's API key>``, which would hand the
provider's credential to whatever the URL points at (a typo, an expired domain, a proxy
log). We never send it; providers verify the signature instead.

SSRF guard: unless `settings.WEBHOOK_ALLOW_PRIVATE`, a URL whose host is or resolves to a
non-global address (loopback, RFC 1918, link-local such as 169.254.169.254, reserved, …)
is refused before any request. The connection then goes to the very address that was
checked (the hostname is kept for the Host header and TLS SNI/certificate checks), so a
DNS answer that changes between check and connect (rebinding) cannot get around it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task
from rest_framework.utils.encoders import JSONEncoder

from marketplace.models import Service, WebhookDelivery
from payments.models import Participant
from payments.services import webhook_secret
from the402.lib.ids import new_public_id

logger = logging.getLogger(__name__)

SIGNATURE_TOLERANCE = 300  # seconds, either way (Stripe's default, the live platform's)
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
SLOW_RESPONSE_MS = 2000
EXCERPT_CHARS = 500
USER_AGENT = "the402-webhooks/1"
_RESERVED_KEYS = frozenset({"id", "type", "created_at"})


# ---------------------------------------------------------------- signing (providers copy this)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``"<ts>." + body``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether ``signature`` is ours for ``body`` sent at ``timestamp`` (unix seconds).

    Verify against the raw request bytes, not re-serialised JSON. A timestamp more than
    ``tolerance`` seconds from ``now``, in the past or the future, is rejected (a replayed or
    forged request); the comparison is constant-time.
    """
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body).encode(), signature.strip().encode())


# ---------------------------------------------------------------- enqueueing


def _url_for(participant: Participant, service: Service | None) -> str:
    if service is not None and service.webhook_url:
        return service.webhook_url
    return participant.webhook_url


def _delivery_create(
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
    delivery = _delivery_create(
        participant=participant, event_type=event_type, payload=payload, service=service
    )
    if delivery is not None:
        delivery_id = delivery.pk
        transaction.on_commit(lambda: async_task("marketplace.tasks.deliver_webhook", delivery_id))
    return delivery


# ---------------------------------------------------------------- one attempt


class _Refused(Exception):
    """The URL may not be called; ``permanent`` when no later attempt could do better."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # is_global is False for loopback, RFC 1918, link-local, shared (CGNAT), reserved,
    # unspecified and documentation ranges; multicast is global yet no webhook endpoint.
    return not ip.is_global or ip.is_multicast


def _target(url: str) -> tuple[httpx.URL, str]:
    """The URL to connect to, with its host replaced by the one checked IP address, and the
    original host. Raises _Refused."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise _Refused(f"invalid URL: {exc}", permanent=True) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise _Refused("the URL must be http(s) with a host", permanent=True)
    host = parsed.host
    allow_private = bool(settings.WEBHOOK_ALLOW_PRIVATE)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if _blocked(literal) and not allow_private:
            raise _Refused(f"refused: {host} is not a public address", permanent=True)
        return parsed, host
    try:
        infos = socket.getaddrinfo(host, parsed.port or 0, type=socket.SOCK_STREAM)
    except OSError as exc:  # NXDOMAIN, resolver down: may be fixed, so retried
        raise _Refused(f"cannot resolve {host}: {exc}", permanent=False) from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise _Refused(f"cannot resolve {host}", permanent=False)
    if allow_private:
        return parsed, host  # nothing to pin: let the connection try every address
    blocked = [str(ip) for ip in addresses if _blocked(ip)]
    if blocked:
        # A hostname can be re-pointed by its owner, so this is retried (and may pass).
        raise _Refused(
            f"refused: {host} resolves to non-public {', '.join(blocked)}", permanent=False
        )
    # IPv4 first: many workers have no IPv6 route, and only one address is tried.
    addresses.sort(key=lambda ip: ip.version)
    return parsed.copy_with(host=str(addresses[0])), host


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    permanent: bool  # a failure no retry can fix
    status_code: int | None
    error: str
    excerpt: str
    latency_ms: int | None
    signed: bool
    content: bytes = b""  # the start of the response body (up to the read limit)


def _read(response: httpx.Response, limit: int) -> bytes:
    """The start of the response body, without reading more of it than needed."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit]


def _post(
    delivery: WebhookDelivery, *, timeout: float | None = None, read_limit: int = EXCERPT_CHARS * 4
) -> _Outcome:
    """POST the delivery once (no database transaction may be open: it can take a while)."""
    timeout = float(settings.WEBHOOK_TIMEOUT) if timeout is None else timeout
    body = delivery.payload.encode()
    secret = webhook_secret(delivery.participant)
    try:
        target, host = _target(delivery.url)
    except _Refused as exc:
        logger.warning("webhook %s: %s", delivery.event_id, exc)
        return _Outcome(False, exc.permanent, None, str(exc), "", None, secret is not None)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Id": delivery.event_id,
        "X-Webhook-Timestamp": str(timestamp),
        # No X-Platform-Secret (the live platform sends the provider's API key): see above.
    }
    if secret is not None:
        headers["X-Webhook-Signature"] = sign(secret, timestamp, body)
    else:
        logger.warning(
            "webhook %s: %s has no webhook secret, sending it unsigned",
            delivery.event_id,
            delivery.participant.public_id,
        )
    original = httpx.URL(delivery.url)
    if target.host != original.host:
        headers["Host"] = original.netloc.decode("ascii")
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    started = time.monotonic()
    status_code: int | None = None
    content = b""
    location = ""
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment must not see provider traffic
            ) as client,
            client.stream(
                "POST", target, content=body, headers=headers, extensions=extensions
            ) as response,
        ):
            status_code = response.status_code
            content = _read(response, read_limit)
            location = response.headers.get("location", "")
    except httpx.TimeoutException as exc:
        error = f"timed out after {timeout:g}s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        error = ""
    latency_ms = round((time.monotonic() - started) * 1000)
    signed = secret is not None
    excerpt = content.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    if status_code is None:
        return _Outcome(False, False, None, error, "", latency_ms, signed)
    if 200 <= status_code < 300:
        note = "" if signed else "delivered unsigned: the provider has no webhook secret"
        return _Outcome(True, False, status_code, note, excerpt, latency_ms, signed, content)
    if 300 <= status_code < 400:
        error = f"HTTP {status_code}: redirects are not followed ({location[:150]})"
    elif status_code == 410:
        error = "HTTP 410 Gone: the endpoint is gone"
    else:
        error = f"HTTP {status_code}"
    return _Outcome(False, status_code == 410, status_code, error, excerpt, latency_ms, signed)


# ---------------------------------------------------------------- delivering


def backoff(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed tries: 10 s, 30 s, 90 s, … at most 2 h, ±20 %
    jitter (so endpoints that failed together are not all retried together)."""
    base = min(BACKOFF_MAX, BACKOFF_FIRST * BACKOFF_FACTOR ** min(max(attempts - 1, 0), 10))
    jitter = random.uniform(0.8, 1.2)  # noqa: S311 - spreading retries, not a secret
    return timedelta(seconds=min(BACKOFF_MAX, base * jitter))


def _claim(delivery_id: int, *, lease: timedelta) -> WebhookDelivery | None:
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


def _record(delivery: WebhookDelivery, outcome: _Outcome, *, retry: bool) -> None:
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
    won = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(**fields)
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


def _lease() -> timedelta:
    return timedelta(seconds=float(settings.WEBHOOK_TIMEOUT)) + LEASE_MARGIN


def webhook_deliver(delivery_id: int) -> WebhookDelivery:
    """Make one attempt at a delivery if it is due; returns it (re-read).

    Idempotent and safe to run concurrently: a delivered or failed delivery, one not due
    yet, or one another run is attempting is left alone. Never raises for the provider's
    behaviour: the outcome is recorded on the row (see the module docstring).
    """
    delivery = _claim(delivery_id, lease=_lease())
    if delivery is not None:
        _record(delivery, _post(delivery), retry=True)
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


# ---------------------------------------------------------------- data APIs

DATA_API_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class DataApiAnswer:
    ok: bool
    result: Any  # the provider's JSON answer when ok
    error: str
    code: str  # why not ok: provider_unavailable, provider_timeout, provider_error


def data_api_call(*, service: Service, payload: dict[str, Any]) -> DataApiAnswer:
    """Send a data API request (a signed `job_dispatch` event) to the provider's URL and
    wait for its answer, a JSON body, at most `settings.DATA_API_TIMEOUT` seconds.

    The call is logged like any delivery (one attempt, never retried: the buyer is waiting
    and pays only for an answer). No database transaction may be open.
    """
    delivery = _delivery_create(
        participant=service.provider,
        event_type="job_dispatch",
        payload=payload,
        service=service,
        queued=False,
    )
    if delivery is None:
        return DataApiAnswer(False, None, "The provider has no webhook URL", "provider_unavailable")
    outcome = _post(
        delivery,
        timeout=float(settings.DATA_API_TIMEOUT),
        read_limit=DATA_API_MAX_BYTES + 1,
    )
    _record(delivery, outcome, retry=False)
    if not outcome.delivered:
        timed_out = outcome.status_code is None and "timed out" in outcome.error
        return DataApiAnswer(
            False,
            None,
            f"The provider did not answer: {outcome.error}",
            "provider_timeout" if timed_out else "provider_unavailable",
        )
    if len(outcome.content) > DATA_API_MAX_BYTES:
        return DataApiAnswer(False, None, "The provider's answer is over 1 MB", "provider_error")
    try:
        result = json.loads(outcome.content or b"null")
    except ValueError:
        return DataApiAnswer(False, None, "The provider's answer is not JSON", "provider_error")
    return DataApiAnswer(True, result, "", "")


# ---------------------------------------------------------------- the test probe


class WebhookTestResult(TypedDict):
    success: bool
    status_code: int | None
    latency_ms: int | None
    error: str
    warnings: list[str]


def webhook_test(service: Service) -> WebhookTestResult:
    """Send a signed ``test`` event to the service's webhook now, once (no retries).

    Records it in the delivery log, sets ``service.webhook_healthy`` (2xx or not) and
    ``webhook_checked_at``, and reports the outcome with advice. Blocks for up to
    ``settings.WEBHOOK_TIMEOUT``; call it outside any transaction. Providers should answer
    ``test: true`` events with 200 and no side effects.
    """
    provider = service.provider
    warnings: list[str] = []
    delivery = _delivery_create(
        participant=provider,
        event_type=WebhookDelivery.EventType.TEST,
        payload={"test": True, "service_id": service.public_id},
        service=service,
    )
    if delivery is None:
        return {
            "success": False,
            "status_code": None,
            "latency_ms": None,
            "error": "no webhook URL: set one on the service or the provider profile",
            "warnings": [],
        }
    claimed = _claim(delivery.pk, lease=_lease())
    if claimed is None:  # cannot happen: just created, due, and no one else knows of it
        raise RuntimeError(f"webhook test {delivery.event_id} was claimed by another run")
    outcome = _post(claimed)
    _record(claimed, outcome, retry=False)
    if not outcome.signed:
        warnings.append("no webhook secret: deliveries are unsigned")
    if not delivery.url.startswith("https://"):
        warnings.append("the webhook URL is not HTTPS: events travel in clear")
    if outcome.latency_ms is not None and outcome.latency_ms > SLOW_RESPONSE_MS:
        warnings.append(
            f"slow response ({outcome.latency_ms} ms): answer 2xx at once, work asynchronously"
        )
    now = timezone.now()
    Service.objects.filter(pk=service.pk).update(
        webhook_healthy=outcome.delivered, webhook_checked_at=now, updated_at=now
    )
    service.webhook_healthy = outcome.delivered
    service.webhook_checked_at = now
    return {
        "success": outcome.delivered,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": "" if outcome.delivered else outcome.error,
        "warnings": warnings,
    }


# ---------------------------------------------------------------- selectors


def deliveries_for(
    participant: Participant, *, limit: int = 50, offset: int = 0
) -> QuerySet[WebhookDelivery]:
    """A provider's delivery log, newest first, with each delivery's service."""
    return (
        WebhookDelivery.objects.filter(participant=participant)
        .select_related("service")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )
