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
is refused before any request. An IPv6 address that embeds an IPv4 one (IPv4-mapped
``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96`` and
``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo) is judged by that IPv4 address, so
``::127.0.0.1`` is loopback. Even with private addresses allowed (a local run, where
providers listen on 127.0.0.1), a non-public address is refused on the ports of our own
services: the chain's JSON-RPC (when `CHAIN_RPC_URL` is on a loopback or private host),
PostgreSQL and Redis (when configured): a data API pointed there would hand their answer to
the buyer. The connection then goes to the very address that was checked (the hostname is
kept for the Host header and TLS SNI/certificate checks), so a DNS answer that changes
between check and connect (rebinding) cannot get around it.

Every exchange has one total deadline (the configured timeout) covering connecting, sending,
the headers and the body: a provider dripping a byte at a time cannot hold a worker longer.
The answer is read up to a limit (an excerpt for webhooks, `DATA_API_MAX_BYTES` for data
APIs), uncompressed (we ask for ``Accept-Encoding: identity`` and never inflate), and an
answer cut off before its ``Content-Length`` is a failed attempt, not a delivery. A data API
answer must also be a JSON value other than ``null``: an empty or unusable answer fails the
call (the buyer is not charged) and the delivery log says why.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypedDict

import httpcore
import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task
from rest_framework.utils.encoders import JSONEncoder

from marketplace.models import Service, WebhookDelivery
from payments.models import Participant
from payments.services import webhook_secret_ensure
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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefixes
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (RFC 4291)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (compatible, NAT64, 6to4, Teredo)."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address (the server's is a public relay)
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):  # not :: or ::1
        return ipaddress.IPv4Address(ip.packed[12:])
    return None


def _blocked(ip: IPAddress) -> bool:
    """Whether ``ip`` is not a public unicast address (or an IPv6 form of one that isn't)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _blocked(ip.ipv4_mapped)  # ::ffff:127.0.0.1 is 127.0.0.1
        if ip in _NAT64_LOCAL:
            return True  # the IPv4 address may sit at any offset: refused whatever it is
        embedded = _embedded_ipv4(ip)  # ::127.0.0.1, 64:ff9b::7f00:1, 2002:7f00:1::
        if embedded is not None and _blocked(embedded):
            return True  # else the IPv6 address is judged as itself (Teredo is not global)
    # is_global is False for loopback, RFC 1918, link-local, shared (CGNAT), reserved,
    # unspecified and documentation ranges; multicast is global yet no webhook endpoint.
    return not ip.is_global or ip.is_multicast


def _url_port(url: str, default: int | None = None) -> tuple[str, int] | None:
    """The host and port of ``url`` (the scheme's default port when it names none)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if not parsed.host:
        return None
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, default)
    return (parsed.host, port) if port else None


def _host_is_internal(host: str) -> bool:
    """Whether ``host`` is, or resolves to, a non-public address (unresolvable counts)."""
    try:
        return _blocked(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return True
    return any(_blocked(ipaddress.ip_address(info[4][0])) for info in infos)


def _internal_ports() -> set[int]:
    """The ports of our own services that no webhook may reach on a non-public address:
    the chain's JSON-RPC when it is on a loopback or private host, the database's and
    Redis's (with their default ports) when they are configured."""
    ports: set[int] = set()
    rpc = _url_port(settings.CHAIN_RPC_URL or "")
    if rpc is not None and _host_is_internal(rpc[0]):
        ports.add(rpc[1])
    database = settings.DATABASES["default"]
    if "postgresql" in database.get("ENGINE", ""):
        ports.add(5432)
        if str(database.get("PORT") or "").isdigit():
            ports.add(int(database["PORT"]))
    redis_url = getattr(settings, "REDIS_URL", None)
    if redis_url:
        ports.add(6379)
        redis = _url_port(redis_url, default=6379)
        if redis is not None:
            ports.add(redis[1])
    return ports


def _own_port(port: int, addresses: list[IPAddress]) -> bool:
    """Whether ``port`` on these (allowed, private) addresses is one of our own services."""
    return any(_blocked(ip) for ip in addresses) and port in _internal_ports()


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
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    allow_private = bool(settings.WEBHOOK_ALLOW_PRIVATE)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    own_port = f"port {port} of a non-public address is one of our own services"
    if literal is not None:
        if _blocked(literal) and not allow_private:
            raise _Refused(f"refused: {host} is not a public address", permanent=True)
        if _own_port(port, [literal]):
            raise _Refused(f"refused: {own_port}", permanent=True)
        return parsed, host
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:  # NXDOMAIN, resolver down: may be fixed, so retried
        raise _Refused(f"cannot resolve {host}: {exc}", permanent=False) from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise _Refused(f"cannot resolve {host}", permanent=False)
    # A hostname can be re-pointed by its owner, so a refusal is retried (and may pass).
    blocked = [str(ip) for ip in addresses if _blocked(ip)]
    if blocked and not allow_private:
        raise _Refused(
            f"refused: {host} resolves to non-public {', '.join(blocked)}", permanent=False
        )
    if _own_port(port, addresses):
        raise _Refused(f"refused: {host}: {own_port}", permanent=False)
    # IPv4 first: many workers have no IPv6 route, and only one address is tried. Pinned
    # even when private addresses are allowed, so a rebinding cannot reach a refused port.
    addresses.sort(key=lambda ip: ip.version)
    return parsed.copy_with(host=str(addresses[0])), host


# ---------------------------------------------------------------- one total deadline


def _time_left(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    """The timeout for one network operation: what is left until ``deadline`` (at most
    ``timeout``); raises ``error`` once the deadline has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the exchange's total deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by one deadline."""

    WRITE_CHUNK = 16 * 1024  # each send is bounded, so a slow reader cannot stretch a write

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(
            max_bytes, _time_left(self._deadline, timeout, httpcore.ReadTimeout)
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), self.WRITE_CHUNK):
            self._stream.write(
                buffer[start : start + self.WRITE_CHUNK],
                _time_left(self._deadline, timeout, httpcore.WriteTimeout),
            )

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._backend = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for outbound calls")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=False)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport (its request/response mapping and error types), on a
    connection pool whose network backend enforces one total deadline.

    httpx 0.28 (pinned) takes no network backend, so the httpcore pool it builds is
    replaced by an equivalent one that has ours; the timeout tests fail if that breaks.
    """

    def __init__(self, deadline: float) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(), network_backend=_DeadlineBackend(deadline)
        )


# ---------------------------------------------------------------- one attempt, continued


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
    timed_out: bool = False
    encoding: str = ""  # the answer's Content-Encoding, if it set one


def _read(response: httpx.Response, limit: int) -> bytes:
    """The start of the raw response body, without reading more of it than needed (nor
    inflating it: a small compressed answer could decompress to gigabytes)."""
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit]


def _post(
    delivery: WebhookDelivery, *, timeout: float | None = None, read_limit: int = EXCERPT_CHARS * 4
) -> _Outcome:
    """POST the delivery once (no database transaction may be open: it can take a while,
    at most ``timeout`` seconds for the whole exchange)."""
    timeout = float(settings.WEBHOOK_TIMEOUT) if timeout is None else timeout
    body = delivery.payload.encode()
    secret = webhook_secret_ensure(delivery.participant)  # never sent unsigned
    try:
        target, host = _target(delivery.url)
    except _Refused as exc:
        logger.warning("webhook %s: %s", delivery.event_id, exc)
        return _Outcome(False, exc.permanent, None, str(exc), "", None, secret is not None)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",  # answers are read raw, never inflated
        "User-Agent": USER_AGENT,
        "X-Webhook-Id": delivery.event_id,
        "X-Webhook-Timestamp": str(timestamp),
        # No X-Platform-Secret (the live platform sends the provider's API key): see above.
    }
    headers["X-Webhook-Signature"] = sign(secret, timestamp, body)
    original = httpx.URL(delivery.url)
    if target.host != original.host:
        headers["Host"] = original.netloc.decode("ascii")
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    started = time.monotonic()
    status_code: int | None = None
    content = b""
    location = encoding = ""
    timed_out = False
    try:
        with (
            httpx.Client(
                transport=_DeadlineTransport(started + timeout),
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
                trust_env=False,  # a proxy from the environment must not see provider traffic
            ) as client,
            client.stream(
                "POST", target, content=body, headers=headers, extensions=extensions
            ) as response,
        ):
            status_code = response.status_code
            location = response.headers.get("location", "")
            encoding = response.headers.get("content-encoding", "").strip().lower()
            content = _read(response, read_limit)
    except httpx.TimeoutException as exc:
        timed_out = True
        error = f"timed out after {timeout:g}s ({type(exc).__name__})"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        error = ""
    latency_ms = round((time.monotonic() - started) * 1000)
    signed = secret is not None
    excerpt = content.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    if status_code is None:
        return _Outcome(False, False, None, error, "", latency_ms, signed, timed_out=timed_out)
    if error:  # the headers came, the body did not (cut off, or past the deadline)
        return _Outcome(
            False,
            False,
            status_code,
            f"HTTP {status_code}, but the answer was not received whole: {error}",
            excerpt,
            latency_ms,
            signed,
            content,
            timed_out=timed_out,
        )
    if 200 <= status_code < 300:
        note = "" if signed else "delivered unsigned: the provider has no webhook secret"
        return _Outcome(
            True, False, status_code, note, excerpt, latency_ms, signed, content, False, encoding
        )
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


def _answer(outcome: _Outcome) -> tuple[Any, str]:
    """The JSON value of a 2xx data API answer, or why there is none usable."""
    if outcome.encoding not in ("", "identity"):
        return None, f"The provider's answer is compressed ({outcome.encoding}); send it plain"
    if len(outcome.content) > DATA_API_MAX_BYTES:
        return None, "The provider's answer is over 1 MB"
    if not outcome.content.strip():
        return None, "The provider's answer is empty"
    try:
        result = json.loads(outcome.content)
    except ValueError:
        return None, "The provider's answer is not JSON"
    if result is None:
        return None, "The provider's answer is null"
    return result, ""


def data_api_call(*, service: Service, payload: dict[str, Any]) -> DataApiAnswer:
    """Send a data API request (a signed `job_dispatch` event) to the provider's URL and
    wait for its answer, a JSON value other than null, at most `settings.DATA_API_TIMEOUT`
    seconds for the whole exchange.

    The call is logged like any delivery (one attempt, never retried: the buyer is waiting
    and pays only for an answer); an unusable answer (cut off, empty, null, not JSON, too
    large) is logged as a failed delivery with the reason. No database transaction may be
    open.
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
    result, problem = _answer(outcome) if outcome.delivered else (None, "")
    if problem:
        outcome = replace(outcome, delivered=False, permanent=True, error=problem)
    _record(delivery, outcome, retry=False)
    if problem:
        return DataApiAnswer(False, None, problem, "provider_error")
    if not outcome.delivered:
        return DataApiAnswer(
            False,
            None,
            f"The provider did not answer: {outcome.error}",
            "provider_timeout" if outcome.timed_out else "provider_unavailable",
        )
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
