"""The one way we call a provider's URL: SSRF-safe, with one total deadline.

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
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx
from django.conf import settings

from marketplace.notify.models import WebhookDelivery
from marketplace.notify.signing import sign
from payments.services import webhook_secret_ensure, webhook_secret_previous

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 500
USER_AGENT = "the402-webhooks/1"


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
class Outcome:
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


def post_delivery(
    delivery: WebhookDelivery, *, timeout: float | None = None, read_limit: int = EXCERPT_CHARS * 4
) -> Outcome:
    """POST the delivery once (no database transaction may be open: it can take a while,
    at most ``timeout`` seconds for the whole exchange)."""
    timeout = float(settings.WEBHOOK_TIMEOUT) if timeout is None else timeout
    body = delivery.payload.encode()
    secret = webhook_secret_ensure(delivery.participant)  # never sent unsigned
    try:
        target, host = _target(delivery.url)
    except _Refused as exc:
        logger.warning("webhook %s: %s", delivery.event_id, exc)
        return Outcome(False, exc.permanent, None, str(exc), "", None, True)
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
    previous = webhook_secret_previous(delivery.participant)
    if previous is not None:  # a rotation's grace period: the old secret signs too
        headers["X-Webhook-Signature-Previous"] = sign(previous, timestamp, body)
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
    signed = True  # every participant has a secret (webhook_secret_ensure)
    excerpt = content.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    if status_code is None:
        return Outcome(False, False, None, error, "", latency_ms, signed, timed_out=timed_out)
    if error:  # the headers came, the body did not (cut off, or past the deadline)
        return Outcome(
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
        return Outcome(
            True, False, status_code, "", excerpt, latency_ms, signed, content, False, encoding
        )
    if 300 <= status_code < 400:
        error = f"HTTP {status_code}: redirects are not followed ({location[:150]})"
    elif status_code == 410:
        error = "HTTP 410 Gone: the endpoint is gone"
    else:
        error = f"HTTP {status_code}"
    return Outcome(False, status_code == 410, status_code, error, excerpt, latency_ms, signed)
