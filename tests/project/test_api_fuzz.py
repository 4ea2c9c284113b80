"""Schemathesis generates requests for every operation in `/openapi.json`, valid ones and
invalid ones, as a funded agent that is also a provider: whatever it sends, the answer is
never a server error, and every refusal is the documented JSON error.

Path parameters are drawn from real objects (the agent's own service, another provider's
services, a job on each side, a thread with a message), so the generated requests reach
the code behind the look-ups rather than stopping at a 404. Every webhook URL in a request
body points at a provider on 127.0.0.1, so nothing generated reaches out of the machine.
`FUZZ_EXAMPLES` sets how many requests each operation gets (a quick 25 by default; a few
hundred for a deeper run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from marketplace.models import Thread
from payments.services import api_key_issue
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory, deposit
from tests.provider_server import Provider
from the402.wsgi import application

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))

# Real ids by path parameter name, and the loopback provider every generated webhook URL is
# replaced with; filled by the `agent_key` fixture before any request.
REAL_IDS: dict[str, list[str]] = {}
LOOPBACK: dict[str, str] = {}

schema = schemathesis.openapi.from_wsgi("/openapi.json", application)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    allow_x00=True,  # PostgreSQL refuses NUL in text and jsonb: it must be a 400 there too
)


@schema.hook
def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from(REAL_IDS.get(name) or [value])
            for name, value in path_parameters.items()
        }
    )


def _loopback_webhooks(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: LOOPBACK["url"]
            if key == "webhook_url" and isinstance(item, str) and "://" in item
            else _loopback_webhooks(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_loopback_webhooks(item) for item in value]
    return value


@schema.hook
def map_body(ctx: Any, body: Any) -> Any:
    return _loopback_webhooks(body)


@pytest.fixture
def agent_key(chain: Any, api: Client, provider_server: Provider, settings: Any) -> str:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    LOOPBACK["url"] = provider_server.url
    agent = ParticipantFactory(type="both")
    deposit(agent, 1_000_000_000)
    own = ServiceFactory(provider=agent)
    seller = ParticipantFactory()
    quoted = ServiceFactory(
        provider=seller,
        service_type="human_service",
        pricing_model="quote_required",
        price_max_micros=5_000_000,
    )
    automated = ServiceFactory(provider=seller, service_type="automated_service")
    bought, sold = JobFactory(service=automated, buyer=agent), JobFactory(service=own)
    key = api_key_issue(participant=agent)
    inquiry = api.post(
        f"/v1/services/{quoted.public_id}/inquire",
        data=json.dumps({"message": "Can you?", "brief": {"pages": 3}}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=key,
    )
    assert inquiry.status_code == 201, inquiry.content
    thread = Thread.objects.get(public_id=inquiry.json()["thread_id"])
    REAL_IDS.update(
        service_id=[own.public_id, quoted.public_id, automated.public_id],
        job_id=[bought.public_id, sold.public_id],
        thread_id=[thread.public_id],
        quote_id=[thread.quote_id or thread.public_id],
        message_id=[message.public_id for message in thread.messages.all()],
        participant_id=[agent.public_id, seller.public_id],
        wallet=[agent.wallet, seller.wallet],
    )
    return key


@pytest.fixture
def wsgi_in_test_transaction(agent_key: str) -> Iterator[None]:
    """Calls straight into the WSGI app would close the test's database connection when
    each request finishes (Django's test client suspends that; so does this)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(
    case: Any, agent_key: str, wsgi_in_test_transaction: None
) -> None:
    case.headers = {
        **(case.headers or {}),
        "Host": "127.0.0.1",
        "X-API-Key": agent_key,
        "X-BALANCE-AUTH": agent_key,
    }
    response = case.call()
    sent = (case.method, case.formatted_path, case.query, case.body)
    assert response.status_code < 500 or case.path == "/health", (sent, response.text[:300])
    if 400 <= response.status_code < 500 and response.status_code != 402:
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"], (sent, body)
        assert isinstance(body.get("code"), str) and body["code"], (sent, body)
