"""The built-in demo provider (devnet): the demo catalog can be bought from end to end."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from marketplace.catalog.schemas import schema_error
from marketplace.demo.catalog import demo_catalog
from marketplace.demo.provider import deliverables_for, sample
from marketplace.models import Job, Service, ServiceType, Thread
from payments.ledger import (
    balance_of,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Participant
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, deposit

ONE = 1_000_000


@pytest.mark.parametrize("entry", demo_catalog().services, ids=lambda entry: entry["name"])
def test_sample_deliverables_fit_every_demo_schema(entry: dict[str, Any]) -> None:
    service = Service(name=entry["name"], deliverable_schema=entry.get("deliverable_schema"))
    assert schema_error(service.deliverable_schema, deliverables_for(service)) is None


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer", "minimum": 3}, 3),
        ({"type": "string", "format": "uri"}, "https://example.com/demo"),
        ({"enum": ["low", "high"]}, "low"),
        ({"type": "array", "items": {"type": "boolean"}}, [True]),
        ({"type": ["null", "number"]}, 1.5),
        ({"type": "object", "properties": {"n": {"const": 7}}}, {"n": 7}),
    ],
)
def test_sample_follows_the_schema(schema: dict[str, Any], expected: Any) -> None:
    assert sample(schema) == expected


# --- over HTTP, as `make run` serves it -------------------------------------------------
@pytest.fixture
def demo(live_server: Any, settings: Any) -> str:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.PUBLIC_URL = live_server.url
    call_command("seed_demo", webhook_url=f"{live_server.url}/demo/provider", verbosity=0)
    return live_server.url


def buyer_key() -> tuple[Participant, str]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, 500 * ONE)
    return buyer, api_key_issue(participant=buyer)


def a_demo_service(service_type: str, pricing_model: str = "fixed") -> tuple[Service, Any]:
    """A demo service of this kind with a brief that satisfies its input_schema."""
    for service in Service.objects.filter(
        service_type=service_type, pricing_model=pricing_model
    ).order_by("id"):
        schema = service.input_schema or {}
        required = set(schema.get("required", []))
        brief = {
            name: sample(sub)
            for name, sub in (schema.get("properties") or {}).items()
            if name in required
        }
        if schema_error(service.input_schema, brief) is None:
            return service, brief
    raise AssertionError(f"no demo {service_type} takes a sampled brief")


def buy(api: Client, service: Service, brief: Any, key: str) -> Any:
    return api.post(
        f"/v1/services/{service.public_id}/purchase",
        json.dumps(brief),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=key,
    )


def eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_demo_data_api_answers_with_data_of_its_schema(demo: str, api: Client) -> None:
    service, brief = a_demo_service(ServiceType.DATA_API)
    _, key = buyer_key()
    response = buy(api, service, brief, key)
    assert response.status_code == 201, response.content
    assert schema_error(service.deliverable_schema, response.json()["result"]) is None
    assert balance_of(provider_account(service.provider)) == service.price_micros
    assert ledger_problems() == []


def test_a_demo_automated_service_is_delivered_and_released(demo: str, api: Client) -> None:
    service, brief = a_demo_service(ServiceType.AUTOMATED_SERVICE)
    _, key = buyer_key()
    response = buy(api, service, brief, key)
    assert response.status_code == 201, response.content
    job = Job.objects.get(public_id=response.json()["job_id"])
    assert eventually(lambda: Job.objects.get(pk=job.pk).status == Job.Status.RELEASED)
    job.refresh_from_db()
    assert schema_error(service.deliverable_schema, job.deliverables) is None
    assert balance_of(provider_account(service.provider)) == service.price_micros
    assert ledger_problems() == []


def test_a_demo_provider_answers_an_inquiry_with_a_proposal(demo: str, api: Client) -> None:
    service = Service.objects.filter(pricing_model="quote_required").order_by("id").first()
    assert service is not None
    _, key = buyer_key()
    response = api.post(
        f"/v1/services/{service.public_id}/inquire",
        json.dumps({"message": "Can you help?"}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=key,
    )
    assert response.status_code == 201, response.content
    thread = Thread.objects.get(public_id=response.json()["thread_id"])
    assert eventually(lambda: Thread.objects.get(pk=thread.pk).status == Thread.Status.NEGOTIATING)
    assert thread.proposals.get().price_micros == service.price_micros


@pytest.mark.django_db
def test_the_demo_provider_refuses_unsigned_events(api: Client) -> None:
    response = api.post(
        "/demo/provider",
        json.dumps({"type": "job_dispatch", "service_id": "svc_0000000000000000"}),
        content_type="application/json",
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_the_demo_provider_exists_only_on_devnet(api: Client, settings: Any) -> None:
    settings.NETWORK = "base"
    assert api.post("/demo/provider", "{}", content_type="application/json").status_code == 404


def route_names(urlconf: str) -> set[str]:
    """The route names of a fresh execution of `urlconf` (the loaded URLconf is untouched)."""
    spec = importlib.util.find_spec(urlconf)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {pattern.name for pattern in module.urlpatterns}


@pytest.mark.parametrize(
    ("urlconf", "route"),
    [("marketplace.urls", "demo-provider"), ("payments.urls", "devnet-faucet")],
)
def test_devnet_routes_are_mounted_only_on_devnet(urlconf: str, route: str, settings: Any) -> None:
    settings.NETWORK = "base"
    assert route not in route_names(urlconf)
    settings.NETWORK = "devnet"
    assert route in route_names(urlconf)
