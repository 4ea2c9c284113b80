"""One convention for money in every answer and webhook (README, "Money in answers"):
fields ending `_usd` are JSON numbers; `price`, `agent_price` and `provider_net_price` are
decimal strings (or, for a quoted price, an object of them).

Checked twice: on the OpenAPI document (every property so named, in every schema), and on
real answers and webhook bodies of the flows that carry money.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from marketplace.models import ServiceType
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory
from tests.marketplace.deals.threads.helpers import agent, negotiated, post
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
DECIMAL_FIELDS = ("price", "agent_price", "provider_net_price")
DECIMAL_TEXT = re.compile(r"^[0-9]+\.[0-9]{2,6}$")


def _wrong_schemas(node: Any, where: str = "") -> list[str]:
    """Properties of any schema in `node` that break the convention."""
    wrong = []
    if isinstance(node, dict):
        for name, schema in (node.get("properties") or {}).items():
            kinds = _types(schema)
            if kinds == {"unknown"}:
                continue  # free JSON (an input taking "25.50" or a number alike)
            if name.endswith("_usd") and not kinds <= {"number", "integer", "null"}:
                wrong.append(f"{where}.{name}: {sorted(kinds)}")
            if name in DECIMAL_FIELDS and not kinds <= {"string", "object", "null"}:
                wrong.append(f"{where}.{name}: {sorted(kinds)}")
        for key, value in node.items():
            wrong += _wrong_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            wrong += _wrong_schemas(value, f"{where}[{index}]")
    return wrong


def _types(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type")
    found = set(kinds if isinstance(kinds, list) else [kinds] if kinds else [])
    if schema.get("nullable"):
        found.add("null")
    for alternative in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= _types(alternative)
    return found or {"unknown"}


def _wrong_values(node: Any, where: str = "") -> list[str]:
    """Fields of an answer or webhook body that break the convention."""
    wrong = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name.endswith("_usd") and value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    wrong.append(f"{where}.{name} = {value!r}")
            if name in DECIMAL_FIELDS and value is not None:
                texts = value.values() if isinstance(value, dict) else [value]
                if not all(isinstance(t, str) and DECIMAL_TEXT.match(t) for t in texts):
                    wrong.append(f"{where}.{name} = {value!r}")
            wrong += _wrong_values(value, f"{where}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            wrong += _wrong_values(value, f"{where}[{index}]")
    return wrong


def test_the_openapi_document_follows_the_convention(api: Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert _wrong_schemas(response.json()) == []


def test_the_checks_catch_a_broken_convention() -> None:
    assert _wrong_values({"a": [{"price_usd": "1.00", "price": 1.0}]}) == [
        ".a[0].price_usd = '1.00'",
        ".a[0].price = 1.0",
    ]
    schema = {"properties": {"fee_usd": {"type": "string"}, "price": {"type": "number"}}}
    assert _wrong_schemas(schema) == [".fee_usd: ['string']", ".price: ['number']"]


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.DATA_API_TIMEOUT = 1


def test_answers_and_webhooks_follow_the_convention(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    provider_server.reply = b'{"ok": true}'
    seller = ParticipantFactory()
    participant_update(participant=seller, webhook_url=provider_server.url)
    data_api = ServiceFactory(provider=seller, price_micros=1_500_000)
    automated = ServiceFactory(
        provider=seller, price_micros=2_000_000, service_type=ServiceType.AUTOMATED_SERVICE
    )
    buyer = agent()
    seller_key = api_key_issue(participant=seller)
    answers = [api.get("/v1/services/catalog"), api.get(f"/v1/services/{data_api.public_id}")]
    with django_capture_on_commit_callbacks(execute=True):
        for service in (data_api, automated):
            path = f"/v1/services/{service.public_id}/purchase"
            answers.append(post(api, path, {}, **buyer.by_balance))
        deal = negotiated(api)
        answers.append(api.get(deal.path(), **deal.buyer.by_key))
    answers += [
        api.get("/v1/balance", **buyer.by_key),
        api.get("/v1/balance/history", **buyer.by_key),
        api.get("/v1/balance/history", HTTP_X_API_KEY=seller_key),
        api.get("/v1/provider/earnings", HTTP_X_API_KEY=seller_key),
    ]
    assert [a.status_code for a in answers] == [200, 200, 201, 201, 200, 200, 200, 200, 200]
    bodies = [a.json() for a in answers]
    webhooks = [json.loads(request.body) for request in provider_server.received]
    assert webhooks, "the provider heard of its jobs"
    assert _wrong_values(bodies) == []
    assert _wrong_values(webhooks) == []
