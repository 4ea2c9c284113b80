"""POST /v1/services/:id/purchase: data APIs answer at once and charge only an answer;
automated and human services are paid into escrow and dispatched."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.deals.jobs import job_cancel, job_resolve_dispute, job_update
from marketplace.models import Job, PricingModel, ServiceType, Thread, WebhookDelivery
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import (
    PLATFORM_FEES,
    agent_account,
    balance_of,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant, X402Payment
from payments.reconcile import reconcile
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
PRICE, FEE = 1_000_000, 50_000
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.DATA_API_TIMEOUT = 1


def buyer_with_balance(amount: int = 10 * PRICE) -> tuple[Participant, str]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, amount)
    return buyer, api_key_issue(participant=buyer)


def service_at(provider_server: Provider, **fields: Any) -> Any:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    return ServiceFactory(provider=provider, price_micros=PRICE, **fields)


def buy(api: Client, service: Any, brief: Any, **headers: str) -> Any:
    return api.post(
        f"/v1/services/{service.public_id}/purchase",
        json.dumps(brief),
        content_type="application/json",
        **headers,
    )


def events(provider_server: Provider) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in provider_server.received]


@dataclass
class Unfunded:
    """An x402 purchase of an automated service whose escrow's `fund` waits to be mined."""

    job: Job
    payer: Any
    fund: Callable[[], None]  # mine the `fund`
    refuse: Callable[[], None]  # mine it after the escrow's expiry: refused

    def refreshed(self) -> Job:
        self.job.refresh_from_db()
        return self.job


@pytest.fixture
def unfunded(
    api: Client,
    chain: Any,
    w3: Any,
    funded_payer: Callable[..., Any],
    provider_server: Provider,
    django_capture_on_commit_callbacks: Any,
    snapshot: None,
) -> Unfunded:
    service = service_at(provider_server, service_type=ServiceType.AUTOMATED_SERVICE)
    payer = funded_payer(5 * PRICE)
    header, value = payment_header(buy(api, service, {}), payer, version=2)
    with django_capture_on_commit_callbacks(execute=False) as funding:
        response = buy(api, service, {}, **{header: value})
    assert response.status_code == 201, response.content

    def fund() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            for run in funding:
                run()

    def refuse() -> None:
        w3.provider.make_request("evm_increaseTime", [31 * 24 * 3600])
        w3.provider.make_request("evm_mine", [])
        fund()

    job = Job.objects.get(public_id=response.json()["job_id"])
    return Unfunded(job=job, payer=payer, fund=fund, refuse=refuse)


# --- data APIs --------------------------------------------------------------------------
def test_a_data_api_answers_in_the_response_and_pays_the_provider(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = b'{"temperature": 21}'
    service = service_at(provider_server, input_schema=SCHEMA)
    buyer, key = buyer_with_balance()
    response = buy(api, service, {"city": "Lisbon"}, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["result"] == {"temperature": 21}
    assert body["status"] == Job.Status.RELEASED
    assert body["status_url"] == f"/v1/jobs/{body['job_id']}"
    assert balance_of(agent_account(buyer)) == 10 * PRICE - PRICE - FEE
    assert balance_of(provider_account(service.provider)) == PRICE
    assert Thread.objects.get(public_id=body["thread_id"]).status == Thread.Status.VERIFIED
    assert ledger_problems() == []


def test_the_data_api_request_is_a_signed_job_dispatch_with_the_brief(
    api: Client, provider_server: Provider
) -> None:
    service = service_at(provider_server)
    _, key = buyer_with_balance()
    body = buy(api, service, {"city": "Porto"}, HTTP_X_BALANCE_AUTH=key).json()
    event = json.loads(provider_server.received[0].body)
    assert (event["type"], event["job_id"], event["thread_id"], event["brief"]) == (
        "job_dispatch",
        body["job_id"],
        body["thread_id"],
        {"city": "Porto"},
    )
    assert provider_server.received[0].headers["X-Webhook-Signature"].startswith("sha256=")


@pytest.mark.parametrize(("answer", "status"), [(500, 502), (404, 502)])
def test_a_failing_data_api_is_not_charged(
    api: Client, provider_server: Provider, answer: int, status: int
) -> None:
    provider_server.answer(answer)
    service = service_at(provider_server)
    buyer, key = buyer_with_balance()
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == status
    assert response.json()["code"] == "provider_unavailable"
    assert balance_of(agent_account(buyer)) == 10 * PRICE
    assert not Job.objects.exists()
    assert ledger_problems() == []


def test_a_data_api_that_times_out_is_not_charged(api: Client, provider_server: Provider) -> None:
    provider_server.answer(200, delay=2)
    service = service_at(provider_server)
    buyer, key = buyer_with_balance()
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (504, "provider_timeout")
    assert balance_of(agent_account(buyer)) == 10 * PRICE


def test_a_data_api_answer_that_is_not_json_is_not_charged(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = b"<html>oops</html>"
    service = service_at(provider_server)
    buyer, key = buyer_with_balance()
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (502, "provider_error")
    assert balance_of(agent_account(buyer)) == 10 * PRICE


def test_a_data_api_answer_against_its_deliverable_schema_is_not_charged(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = b'{"temperature": "warm"}'
    service = service_at(
        provider_server,
        deliverable_schema={
            "type": "object",
            "properties": {"temperature": {"type": "number"}},
        },
    )
    buyer, key = buyer_with_balance()
    assert buy(api, service, {}, HTTP_X_BALANCE_AUTH=key).status_code == 502
    assert balance_of(agent_account(buyer)) == 10 * PRICE


def test_a_short_balance_does_not_call_the_data_api(
    api: Client, chain: Any, provider_server: Provider
) -> None:
    service = service_at(provider_server)
    _, key = buyer_with_balance(PRICE)
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (402, "insufficient_balance")
    assert provider_server.received == []


def test_an_x402_data_api_purchase_settles_after_the_answer(
    api: Client, chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    provider_server.reply = b'{"rows": 3}'
    service = service_at(provider_server)
    payer = funded_payer(5 * PRICE)
    header, value = payment_header(buy(api, service, {}), payer, version=2)
    response = buy(api, service, {}, **{header: value})
    assert response.status_code == 201, response.content
    assert response.json()["result"] == {"rows": 3}
    assert "PAYMENT-RESPONSE" in response
    assert chain_balance(token=chain.usdc, address=payer.address) == 5 * PRICE - PRICE - FEE
    assert balance_of(provider_account(service.provider)) == PRICE
    assert balance_of(PLATFORM_FEES) == FEE
    assert ledger_problems() == []


def test_an_x402_data_api_failure_moves_no_money_and_the_payment_can_be_retried(
    api: Client, chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    provider_server.answer(503)
    service = service_at(provider_server)
    payer = funded_payer(5 * PRICE)
    header, value = payment_header(buy(api, service, {}), payer, version=2)
    headers = {header: value}
    assert buy(api, service, {}, **headers).status_code == 502
    assert chain_balance(token=chain.usdc, address=payer.address) == 5 * PRICE
    assert not X402Payment.objects.exists()
    assert buy(api, service, {}, **headers).status_code == 201  # the provider is back
    assert chain_balance(token=chain.usdc, address=payer.address) == 5 * PRICE - PRICE - FEE


# --- escrowed services ------------------------------------------------------------------
def test_an_automated_purchase_holds_an_escrow_and_dispatches_the_job(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    service = service_at(provider_server, service_type=ServiceType.AUTOMATED_SERVICE)
    buyer, key = buyer_with_balance()
    with django_capture_on_commit_callbacks(execute=True):
        response = buy(api, service, {"city": "Faro"}, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201, response.content
    body = response.json()
    job = Job.objects.get(public_id=body["job_id"])
    assert (body["status"], job.escrow.status) == (Job.Status.DISPATCHED, Escrow.Status.HELD)
    assert (job.escrow.amount, job.escrow.fee) == (PRICE, FEE)
    assert balance_of(agent_account(buyer)) == 10 * PRICE - PRICE - FEE
    assert job.thread.public_id == body["thread_id"]
    assert job.thread.status == Thread.Status.ACCEPTED
    event = json.loads(provider_server.received[0].body)
    assert (event["type"], event["job_id"], event["thread_id"]) == (
        "job_dispatch",
        job.public_id,
        body["thread_id"],
    )
    assert event["callback_url"].endswith(f"/v1/jobs/{job.public_id}/update")
    assert ledger_problems() == []


def test_an_x402_automated_purchase_pays_the_escrow_contract(
    api: Client,
    chain: Any,
    funded_payer: Callable[..., Any],
    provider_server: Provider,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = service_at(provider_server, service_type=ServiceType.AUTOMATED_SERVICE)
    payer = funded_payer(5 * PRICE)
    challenge = buy(api, service, {})
    assert challenge.json()["accepts"][0]["payTo"] == chain.escrow
    header, value = payment_header(challenge, payer, version=1)
    with django_capture_on_commit_callbacks(execute=True):  # the escrow's funding call
        response = buy(api, service, {}, **{header: value})
    assert response.status_code == 201, response.content
    assert Job.objects.get().escrow.status == Escrow.Status.HELD
    assert chain_balance(token=chain.usdc, address=payer.address) == 5 * PRICE - PRICE - FEE
    assert ledger_problems() == []
    assert reconcile() == []


def test_a_purchase_whose_escrow_the_contract_refuses_is_cancelled_and_repaid(
    chain: Any, unfunded: Unfunded
) -> None:
    unfunded.refuse()
    job = unfunded.refreshed()
    assert (job.status, job.escrow.status) == (Job.Status.CANCELLED, Escrow.Status.FAILED)
    assert chain_balance(token=chain.usdc, address=unfunded.payer.address) == 5 * PRICE
    assert ledger_problems() == []


def test_the_provider_hears_that_the_platform_cancelled_its_job(
    unfunded: Unfunded, provider_server: Provider
) -> None:
    unfunded.refuse()
    cancelled = [e for e in events(provider_server) if e["type"] == "job_cancelled"]
    assert [(e["job_id"], e["thread_id"], e["reason"]) for e in cancelled] == [
        (
            unfunded.job.public_id,
            unfunded.job.thread.public_id,
            "the payment could not be held in escrow",
        )
    ]


@pytest.mark.parametrize("ending", ["declined", "failed"])
def test_a_job_refunded_before_its_escrow_is_refused_gets_its_money_back(
    chain: Any, unfunded: Unfunded, ending: str
) -> None:
    job = unfunded.job
    if ending == "declined":
        job_cancel(job=job, actor=job.buyer, reason="changed my mind")
    else:
        job_update(job=job, provider=job.provider, status="failed")
    unfunded.refuse()  # the refund waited for the funding, which the contract refuses
    assert chain_balance(token=chain.usdc, address=unfunded.payer.address) == 5 * PRICE
    assert balance_of(f"escrow:{job.escrow.public_id}") == 0
    assert ledger_problems() == []


def test_a_job_under_way_whose_escrow_the_contract_refuses_is_disputed_for_an_admin(
    chain: Any, unfunded: Unfunded, provider_server: Provider
) -> None:
    job_update(job=unfunded.job, provider=unfunded.job.provider, status="in_progress")
    unfunded.refuse()
    job = unfunded.refreshed()
    assert (job.status, job.escrow.status) == (Job.Status.DISPUTED, Escrow.Status.FAILED)
    assert "could not be held in escrow" in job.dispute_reason
    assert "job_disputed" in [e["type"] for e in events(provider_server)]
    # The money waits in the contract for the admin's resolution.
    assert chain_balance(token=chain.usdc, address=unfunded.payer.address) == 4 * PRICE - FEE
    assert balance_of(f"escrow:{job.escrow.public_id}") == PRICE + FEE
    issues = reconcile(now=timezone.now() + timedelta(minutes=30))
    mismatch = next(i for i in issues if i.kind == "escrow_ledger_mismatch")
    assert "dispute" in mismatch.action
    assert ledger_problems() == []


@pytest.mark.parametrize("resolution", ["release", "refund"])
def test_an_admin_settles_a_failed_escrows_dispute_from_the_contract(
    chain: Any, unfunded: Unfunded, django_capture_on_commit_callbacks: Any, resolution: str
) -> None:
    job_update(job=unfunded.job, provider=unfunded.job.provider, status="in_progress")
    unfunded.refuse()
    with django_capture_on_commit_callbacks(execute=True):
        job_resolve_dispute(job=unfunded.refreshed(), resolution=resolution, note="settled")
    provider, payer = unfunded.job.provider.wallet, unfunded.payer.address
    paid = {
        "release": (PRICE, 4 * PRICE - FEE),
        "refund": (0, 5 * PRICE),
    }[resolution]
    assert (
        chain_balance(token=chain.usdc, address=provider),
        chain_balance(token=chain.usdc, address=payer),
    ) == paid
    assert balance_of(f"escrow:{unfunded.job.escrow.public_id}") == 0
    assert [i.kind for i in reconcile(now=timezone.now() + timedelta(minutes=30))] == [
        "chain_call_failed"  # the refused `fund`, kept to read
    ]
    assert ledger_problems() == []


def test_a_human_service_cannot_be_paid_from_a_balance(
    api: Client, provider_server: Provider
) -> None:
    service = service_at(provider_server, service_type=ServiceType.HUMAN_SERVICE)
    buyer, key = buyer_with_balance()
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "balance_not_accepted")
    assert balance_of(agent_account(buyer)) == 10 * PRICE


# --- what is refused before payment -----------------------------------------------------
def test_a_quote_required_service_answers_quote_required(api: Client) -> None:
    service = ServiceFactory(
        pricing_model=PricingModel.QUOTE_REQUIRED,
        service_type=ServiceType.HUMAN_SERVICE,
        price_max_micros=5 * PRICE,
    )
    _, key = buyer_with_balance()
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "quote_required")
    assert "Quote required" in response.json()["error"]


def test_a_brief_that_does_not_match_the_input_schema_is_refused_uncharged(
    api: Client, provider_server: Provider
) -> None:
    service = service_at(provider_server, input_schema=SCHEMA)
    buyer, key = buyer_with_balance()
    response = buy(api, service, {"town": "Faro"}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_brief")
    assert "city" in response.json()["error"]
    assert provider_server.received == []
    assert balance_of(agent_account(buyer)) == 10 * PRICE


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"brief": "Weather in Faro, please"}), "application/json"),
        (json.dumps("Weather in Faro, please"), "application/json"),
        ("Weather in Faro, please", "text/plain"),
    ],
)
def test_a_plain_string_brief_is_accepted_without_an_object_schema(
    api: Client, provider_server: Provider, body: str, content_type: str
) -> None:
    service = service_at(provider_server, input_schema=None)
    _, key = buyer_with_balance()
    response = api.post(
        f"/v1/services/{service.public_id}/purchase",
        body,
        content_type=content_type,
        HTTP_X_BALANCE_AUTH=key,
    )
    assert response.status_code == 201, response.content
    assert Job.objects.get().brief == "Weather in Faro, please"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"brief": "Weather in Faro, please"}), "application/json"),
        (json.dumps("Weather in Faro, please"), "application/json"),
        ("Weather in Faro, please", "text/plain"),
    ],
)
def test_a_text_brief_to_an_object_schema_is_refused_uncharged_naming_its_fields(
    api: Client, provider_server: Provider, body: str, content_type: str
) -> None:
    service = service_at(provider_server, input_schema=SCHEMA)
    buyer, key = buyer_with_balance()
    response = api.post(
        f"/v1/services/{service.public_id}/purchase",
        body,
        content_type=content_type,
        HTTP_X_BALANCE_AUTH=key,
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_brief")
    assert "city" in response.json()["error"]
    assert response.json()["required"] == ["city"]
    assert provider_server.received == []
    assert balance_of(agent_account(buyer)) == 10 * PRICE


@pytest.mark.parametrize(
    "body",
    [
        {"brief": json.dumps({"town": "Faro"})},  # what MCP clients send
        json.dumps({"town": "Faro"}),  # a JSON string holding the object
    ],
)
def test_a_string_brief_that_is_a_json_object_is_validated_as_that_object(
    api: Client, provider_server: Provider, body: Any
) -> None:
    service = service_at(provider_server, input_schema=SCHEMA)
    buyer, key = buyer_with_balance()
    response = buy(api, service, body, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_brief")
    assert "'city' is a required property" in response.json()["error"]
    assert balance_of(agent_account(buyer)) == 10 * PRICE


def test_a_string_brief_holding_a_valid_object_buys_with_that_object(
    api: Client, provider_server: Provider
) -> None:
    service = service_at(
        provider_server, input_schema=SCHEMA, service_type=ServiceType.AUTOMATED_SERVICE
    )
    _, key = buyer_with_balance()
    response = buy(api, service, {"brief": '{"city": "Faro"}'}, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201, response.content
    assert Job.objects.get().brief == {"city": "Faro"}


def test_an_unknown_or_inactive_service_is_404(api: Client) -> None:
    _, key = buyer_with_balance()
    assert (
        api.post("/v1/services/svc_0000000000000000/purchase", HTTP_X_BALANCE_AUTH=key).status_code
        == 404
    )
    service = ServiceFactory(status="inactive")
    assert buy(api, service, {}, HTTP_X_BALANCE_AUTH=key).status_code == 404


def test_a_provider_cannot_buy_its_own_service(api: Client, provider_server: Provider) -> None:
    service = service_at(provider_server)
    deposit(service.provider, 10 * PRICE)
    key = api_key_issue(participant=service.provider)
    response = buy(api, service, {}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "own_service")
    assert not WebhookDelivery.objects.exists()


def test_a_job_completed_before_its_escrow_is_funded_is_paid_once_funded(
    chain: Any, unfunded: Unfunded
) -> None:
    job = unfunded.job
    assert job.escrow.status == Escrow.Status.PENDING  # `fund` not mined yet
    # An automated provider that finishes within the block: the job moves on at once.
    job = job_update(job=job, provider=job.provider, status="completed", deliverables={})
    assert job.status == Job.Status.RELEASED
    assert Escrow.objects.get(pk=job.escrow_id).deferred == Escrow.Status.RELEASED
    unfunded.fund()
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.RELEASED
    assert chain_balance(token=chain.usdc, address=job.provider.wallet) == PRICE
    assert ledger_problems() == []
    assert reconcile() == []


def test_an_inquiry_keeps_a_free_text_brief(api: Client, provider_server: Provider) -> None:
    service = service_at(provider_server, input_schema=SCHEMA)
    _, key = buyer_with_balance()
    response = api.post(
        f"/v1/services/{service.public_id}/inquire",
        json.dumps({"message": "Can you do Faro?", "brief": "Weather in Faro, please"}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=key,
    )
    assert response.status_code == 201, response.content
    assert Thread.objects.get().brief == "Weather in Faro, please"
