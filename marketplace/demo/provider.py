"""The demo providers' webhook endpoint (dev-only, devnet): it makes the demo catalog buyable.

`make run` points every demo provider's webhook URL here (`manage.py seed_demo
--webhook-url`). Like a real provider it checks each event's signature and acknowledges at
once; then:

* a data API request (a `job_dispatch` with no `callback_url`) is answered with sample data
  shaped by the service's `deliverable_schema`;
* an automated or human job is worked on in the background (`demo_work`, a django-q2 task):
  `in_progress`, then `completed` with sample deliverables;
* an inquiry gets a proposal at the bottom of the service's price range
  (`demo_propose`).

Off devnet the route is not mounted (`marketplace/urls.py`), and the view answers 404 too
should the network change under a running process (tests do); it only ever acts for demo
providers (the wallets of `catalog.json`).
"""

from __future__ import annotations

import json
import logging
import time
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from marketplace.deals.jobs import job_update
from marketplace.deals.threads import proposal_make
from marketplace.demo.catalog import demo_catalog
from marketplace.models import Job, Service, Thread
from marketplace.notify.signing import verify
from payments.services import webhook_secret
from payments.wallets import normalize_address
from the402.lib import money

logger = logging.getLogger(__name__)

_MAX_DEPTH = 6


@cache
def demo_wallets() -> frozenset[str]:
    """The demo providers' wallets: the only participants this endpoint acts for."""
    return frozenset(normalize_address(p["wallet"]) for p in demo_catalog().providers)


def sample(schema: Any, depth: int = 0) -> Any:
    """A plausible value for a JSON Schema (the shapes providers write: objects, arrays,
    strings with formats, numbers, booleans, enums)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return "demo"
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("oneOf", "anyOf", "allOf"):
        if schema.get(combinator):
            return sample(schema[combinator][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {
            name: sample(sub, depth + 1) for name, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [sample(schema.get("items", {}), depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema)


def _string(schema: dict[str, Any]) -> str:
    formats = {
        "uri": "https://example.com/demo",
        "url": "https://example.com/demo",
        "email": "demo@example.com",
        "date": "2026-01-01",
        "date-time": "2026-01-01T00:00:00Z",
    }
    text = formats.get(schema.get("format", ""), "demo result from the402's demo provider")
    return text.ljust(int(schema.get("minLength", 0)), ".")


def deliverables_for(service: Service) -> dict[str, Any]:
    value = sample(service.deliverable_schema) if service.deliverable_schema else None
    if isinstance(value, dict):
        return value
    return {"result": value if value is not None else f"Demo delivery of {service.name}"}


def _event(request: HttpRequest) -> tuple[dict[str, Any], Service] | None:
    """The signed event and the demo service it is about, or None (refused)."""
    try:
        event = json.loads(request.body)
        service = Service.objects.select_related("provider").get(public_id=event["service_id"])
    except (ValueError, KeyError, TypeError, Service.DoesNotExist):
        return None
    if service.provider.wallet not in demo_wallets():
        return None
    secret = webhook_secret(service.provider)
    signed = verify(
        secret or "",
        request.headers.get("X-Webhook-Timestamp", ""),
        request.body,
        request.headers.get("X-Webhook-Signature", ""),
        now=time.time(),
    )
    return (event, service) if secret and signed else None


@csrf_exempt
@require_POST
def demo_provider_webhook(request: HttpRequest) -> HttpResponse:
    if settings.NETWORK != "devnet":
        return JsonResponse({"error": "Not found", "code": "not_found"}, status=404)
    found = _event(request)
    if found is None:
        return JsonResponse({"error": "Bad signature", "code": "unauthorized"}, status=401)
    event, service = found
    if event.get("type") == "job_dispatch":
        if not event.get("callback_url"):  # a data API: the answer is the delivery
            return JsonResponse(sample(service.deliverable_schema) or deliverables_for(service))
        async_task("marketplace.demo.provider.demo_work", event["job_id"])
    elif event.get("type") == "thread_inquiry":
        async_task("marketplace.demo.provider.demo_propose", event["thread_id"])
    return JsonResponse({"ok": True})


def demo_work(job_id: str) -> str:
    """Work on a demo job: in progress, then completed with sample deliverables."""
    job = Job.objects.select_related("service", "provider").get(public_id=job_id)
    if job.provider.wallet not in demo_wallets() or job.status != Job.Status.DISPATCHED:
        return job.status
    job = job_update(job=job, provider=job.provider, status=Job.Status.IN_PROGRESS)
    job = job_update(
        job=job,
        provider=job.provider,
        status=Job.Status.COMPLETED,
        deliverables=deliverables_for(job.service),
        notes="Delivered by the402's demo provider (sample data).",
    )
    return job.status


def demo_propose(thread_id: str) -> str:
    """Answer a demo inquiry with a proposal at the bottom of the service's price range."""
    thread = Thread.objects.select_related("service", "provider").get(public_id=thread_id)
    if thread.provider.wallet not in demo_wallets() or thread.status != Thread.Status.INQUIRY:
        return thread.status
    price = thread.service.price_micros
    proposal_make(
        thread=thread,
        provider=thread.provider,
        price_micros=price,
        message=f"Demo provider: I can do this for ${money.format_usd(price)}.",
    )
    return "proposed"
