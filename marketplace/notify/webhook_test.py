"""The webhook test probe (`POST /v1/services/:id/test`): one signed `test` event, now."""

from __future__ import annotations

from typing import TypedDict

from django.utils import timezone

from marketplace.catalog.models import Service
from marketplace.notify.models import WebhookDelivery
from marketplace.notify.outbound import post_delivery
from marketplace.notify.outbox import claim, delivery_create, lease, record
from payments.models import Participant

SLOW_RESPONSE_MS = 2000


class WebhookTestResult(TypedDict):
    success: bool
    status_code: int | None
    latency_ms: int | None
    error: str
    warnings: list[str]
    response_excerpt: str


def webhook_test(
    service: Service | None = None, *, provider: Participant | None = None
) -> WebhookTestResult:
    """Send a signed ``test`` event to the service's webhook now, once (no retries).

    Records it in the delivery log, sets ``service.webhook_healthy`` (2xx or not) and
    ``webhook_checked_at``, and reports the outcome with advice. Blocks for up to
    ``settings.WEBHOOK_TIMEOUT``; call it outside any transaction. Providers should answer
    ``test: true`` events with 200 and no side effects.

    Without a service it tests the provider's own webhook URL (`provider`, the dashboard's
    "send test event"); nothing but the delivery log is written then.
    """
    if service is not None:
        provider = service.provider
    if provider is None:
        raise ValueError("webhook_test needs a service or a provider")
    warnings: list[str] = []
    delivery = delivery_create(
        participant=provider,
        event_type=WebhookDelivery.EventType.TEST,
        payload={"test": True, **({"service_id": service.public_id} if service else {})},
        service=service,
    )
    if delivery is None:
        return {
            "success": False,
            "status_code": None,
            "latency_ms": None,
            "error": "no webhook URL: set one on the service or the provider profile",
            "warnings": [],
            "response_excerpt": "",
        }
    claimed = claim(delivery.pk, lease=lease())
    if claimed is None:  # cannot happen: just created, due, and no one else knows of it
        raise RuntimeError(f"webhook test {delivery.event_id} was claimed by another run")
    outcome = post_delivery(claimed)
    record(claimed, outcome, retry=False)
    if not delivery.url.startswith("https://"):
        warnings.append("the webhook URL is not HTTPS: events travel in clear")
    if outcome.latency_ms is not None and outcome.latency_ms > SLOW_RESPONSE_MS:
        warnings.append(
            f"slow response ({outcome.latency_ms} ms): answer 2xx at once, work asynchronously"
        )
    now = timezone.now()
    if service is not None:
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
        "response_excerpt": outcome.excerpt,
    }
