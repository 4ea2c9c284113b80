"""A provider sees its money: every sale in its earnings and in its balance history, and each
history row says what it was for (the job, the thread, the deposit)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from marketplace.deals.jobs import job_update
from marketplace.models import Job, ServiceType
from payments.models import Participant
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
PRICE = 1_000_000


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.DATA_API_TIMEOUT = 1


def _service(provider_server: Provider, **fields: Any) -> Any:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    return ServiceFactory(provider=provider, price_micros=PRICE, **fields)


def _buyer() -> str:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, 10 * PRICE)
    return api_key_issue(participant=buyer)


def _buy(api: Client, service: Any, **headers: str) -> Any:
    return api.post(
        f"/v1/services/{service.public_id}/purchase",
        "{}",
        content_type="application/json",
        **headers,
    )


def _bought(api: Client, service: Any, key: str) -> dict[str, Any]:
    response = _buy(api, service, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201, response.content
    return response.json()


def _earnings(api: Client, participant: Participant) -> dict[str, Any]:
    key = api_key_issue(participant=participant)
    return api.get("/v1/provider/earnings", HTTP_X_API_KEY=key).json()


def _history(api: Client, key: str) -> list[dict[str, Any]]:
    return api.get("/v1/balance/history", HTTP_X_API_KEY=key).json()["entries"]


def test_a_data_api_sale_paid_from_a_balance_is_in_the_providers_earnings(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = b'{"ok": true}'
    service = _service(provider_server)
    job_id = _bought(api, service, _buyer())["job_id"]
    [sale] = _earnings(api, service.provider)["recent_settlements"]
    assert sale["kind"] == "data_api"
    assert (sale["job_id"], sale["service_id"]) == (job_id, service.public_id)
    assert (sale["provider_amount_usd"], sale["status"]) == (1, "payable")


def test_a_data_api_sale_paid_by_x402_is_in_the_providers_earnings(
    api: Client, chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    provider_server.reply = b'{"ok": true}'
    service = _service(provider_server)
    payer = funded_payer(5 * PRICE)
    header, value = payment_header(_buy(api, service), payer, version=2)
    response = _buy(api, service, **{header: value})
    assert response.status_code == 201, response.content
    [sale] = _earnings(api, service.provider)["recent_settlements"]
    assert (sale["kind"], sale["job_id"], sale["service_id"]) == (
        "data_api",
        response.json()["job_id"],
        service.public_id,
    )


def test_a_data_api_sale_is_in_the_providers_balance_history(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = b'{"ok": true}'
    service = _service(provider_server)
    bought = _bought(api, service, _buyer())
    [row] = _history(api, api_key_issue(participant=service.provider))
    assert (row["account"], row["amount_usd"]) == ("earnings", 1)
    assert (row["job_id"], row["thread_id"], row["service_id"]) == (
        bought["job_id"],
        bought["thread_id"],
        service.public_id,
    )
    assert row["description"] == f"Purchase of {service.name}"


def test_the_buyers_hold_for_a_data_api_names_the_job_it_paid_for(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = b'{"ok": true}'
    service = _service(provider_server)
    key = _buyer()
    bought = _bought(api, service, key)
    hold = next(row for row in _history(api, key) if row["kind"] == "balance_hold")
    assert (hold["job_id"], hold["thread_id"]) == (bought["job_id"], bought["thread_id"])


def test_a_released_escrow_is_in_both_histories_with_its_job(
    api: Client, provider_server: Provider
) -> None:
    service = _service(provider_server, service_type=ServiceType.AUTOMATED_SERVICE)
    key = _buyer()
    job_id = _bought(api, service, key)["job_id"]
    job = Job.objects.get(public_id=job_id)
    job_update(job=job, provider=service.provider, status="completed", deliverables={"ok": 1})
    held = next(row for row in _history(api, key) if row["kind"] == "escrow_hold")
    assert held["job_id"] == job_id
    assert job_id in held["description"]
    [released] = _history(api, api_key_issue(participant=service.provider))
    assert (released["kind"], released["job_id"], released["account"]) == (
        "escrow_released",
        job_id,
        "earnings",
    )
    [sale] = _earnings(api, service.provider)["recent_settlements"]
    assert (sale["kind"], sale["job_id"], sale["service_id"]) == (
        "escrow",
        job_id,
        service.public_id,
    )


def test_a_deposit_names_itself_in_the_history(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(5 * PRICE)
    url = "/v1/balance/deposit?amount=1"
    header, value = payment_header(api.post(url, content_type="application/json"), payer, version=2)
    response = api.post(url, content_type="application/json", **{header: value})
    assert response.status_code == 201, response.content
    participant = Participant.objects.get(public_id=response.json()["participant_id"])
    [row] = _history(api, api_key_issue(participant=participant))
    assert row["deposit_id"] == response.json()["payment_id"]
    assert row["description"].startswith("Deposit")


def test_every_history_row_has_a_description(api: Client, provider_server: Provider) -> None:
    provider_server.reply = b'{"ok": true}'
    service = _service(provider_server)
    key = _buyer()  # the factory's deposit records no description
    _bought(api, service, key)
    assert all(row["description"] for row in _history(api, key))
    assert json.dumps(_history(api, key))  # plain JSON
