"""Operations: the dependency checks `/health` reports and the Prometheus metrics at `/metrics`.

Request latency is measured by `RequestMetricsMiddleware` in each web process; under gunicorn
(several processes) set PROMETHEUS_MULTIPROC_DIR to an empty directory per start and the
scrape adds up every process's samples (prometheus-client's multiprocess mode;
`gunicorn.conf.py` marks dead workers). What the database and the broker know (payments,
settlements, webhook deliveries and retries, the task queue) is read at scrape time, so it is
the same whichever process answers and survives restarts.

`/metrics` answers only with `Authorization: Bearer $THE402_METRICS_TOKEN` when the token is
set, else only to loopback clients (behind a proxy on the same host every client looks local:
set the token, or refuse `/metrics` at the proxy as `make cluster`'s HAProxy does).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

REQUEST_LATENCY = Histogram(
    "the402_http_request_duration_seconds",
    "Time to answer an HTTP request, by route, method and status class",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class RequestMetricsMiddleware:
    """Times every request under its URL pattern (not its path: ids stay out of labels)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        REQUEST_LATENCY.labels(
            route=route[:100],
            method=request.method or "",
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


# --- dependencies --------------------------------------------------------------------------
def broker_status() -> tuple[bool, int | None]:
    """(the broker answers, tasks waiting in the queue)."""
    from django_q.brokers import get_broker

    try:
        broker = get_broker()
        return bool(broker.ping()), int(broker.queue_size() or 0)
    except Exception:  # any failure is "down"; the reason is not for a public endpoint
        return False, None


def chain_status() -> tuple[bool, int | None]:
    """(the chain's RPC answers, its latest block number), within one second."""
    if not settings.CHAIN_RPC_URL:
        return False, None
    try:
        answer = httpx.post(
            settings.CHAIN_RPC_URL,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            timeout=1.0,
        )
        return True, int(answer.json()["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False, None


_cache: dict[str, Any] = {}
HEALTH_CACHE_SECONDS = 5.0


def dependency_checks() -> dict[str, Any]:
    """The broker, the chain and the queue depth, for `/health`; cached a few seconds per
    process, so a proxy's health checks cost the chain and the broker little."""
    now = time.monotonic()
    if _cache.get("at", -HEALTH_CACHE_SECONDS) + HEALTH_CACHE_SECONDS > now:
        return dict(_cache["checks"])
    broker_ok, depth = broker_status()
    chain_ok, block = chain_status()
    checks = {
        "broker": "ok" if broker_ok else "error",
        "chain": "ok" if chain_ok else "error",
        "chain_block": block,
        "queue_depth": depth,
    }
    _cache.update(at=now, checks=checks)
    return dict(checks)


# --- what the database knows, read at scrape time -----------------------------------------
class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from marketplace.models import WebhookDelivery
        from payments.models import ChainCall, LedgerTransaction, X402Payment

        payments = GaugeMetricFamily(
            "the402_x402_payments",
            "x402 payments by status (settling: not yet known)",
            labels=["status"],
        )
        for row in X402Payment.objects.values("status").annotate(n=Count("id")):
            payments.add_metric([row["status"]], row["n"])
        yield payments
        ledger = GaugeMetricFamily(
            "the402_ledger_transactions",
            "Ledger transactions by kind (deposits, charges, settlements, escrow moves, payouts)",
            labels=["kind"],
        )
        for kind, n in LedgerTransaction.objects.values_list("kind").annotate(n=Count("id")):
            ledger.add_metric([kind], n)
        yield ledger
        calls = GaugeMetricFamily(
            "the402_chain_calls",
            "Transactions we sent (escrow, payouts) by status",
            labels=["status"],
        )
        for row in ChainCall.objects.values("status").annotate(n=Count("id")):
            calls.add_metric([row["status"]], row["n"])
        yield calls
        hooks = GaugeMetricFamily(
            "the402_webhook_deliveries", "Webhook deliveries by status", labels=["status"]
        )
        for row in WebhookDelivery.objects.values("status").annotate(n=Count("id")):
            hooks.add_metric([row["status"]], row["n"])
        yield hooks
        yield GaugeMetricFamily(
            "the402_webhook_deliveries_retried",
            "Webhook deliveries that needed more than one attempt",
            value=WebhookDelivery.objects.filter(attempts__gt=1).count(),
        )
        _, depth = broker_status()
        yield GaugeMetricFamily(
            "the402_task_queue_length",
            "Tasks waiting in the django-q2 broker",
            value=-1 if depth is None else depth,
        )


def _authorized(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        return HttpResponse(
            b'{"error":"Not found","code":"not_found"}',
            status=404,
            content_type="application/json",
        )
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    output = generate_latest(registry)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return HttpResponse(output + generate_latest(database), content_type=CONTENT_TYPE_LATEST)
