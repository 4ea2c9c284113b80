"""Data API calls: the buyer waits while the platform asks the provider, and pays only for
an answer (`marketplace.deals.purchases` charges after this returns one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from marketplace.catalog.models import Service
from marketplace.notify.outbound import Outcome, post_delivery
from marketplace.notify.outbox import delivery_create, record

DATA_API_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class DataApiAnswer:
    ok: bool
    result: Any  # the provider's JSON answer when ok
    error: str
    code: str  # why not ok: provider_unavailable, provider_timeout, provider_error


def _answer(outcome: Outcome) -> tuple[Any, str]:
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
    delivery = delivery_create(
        participant=service.provider,
        event_type="job_dispatch",
        payload=payload,
        service=service,
        queued=False,
    )
    if delivery is None:
        return DataApiAnswer(False, None, "The provider has no webhook URL", "provider_unavailable")
    outcome = post_delivery(
        delivery,
        timeout=float(settings.DATA_API_TIMEOUT),
        read_limit=DATA_API_MAX_BYTES + 1,
    )
    result, problem = _answer(outcome) if outcome.delivered else (None, "")
    if problem:
        outcome = replace(outcome, delivered=False, permanent=True, error=problem)
    record(delivery, outcome, retry=False)
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
