"""Legacy quotes: POST /v1/services/:id/quote, GET /v1/quotes/:id, POST /v1/quotes/:id/accept.

A quote is a thread opened with a `quote_id` (one mechanism): the provider answers with a
proposal on the thread, and accepting the quote pays that proposal into escrow and
dispatches the job.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from marketplace.deals.threads import threads_expire_due
from marketplace.models import Job, PricingModel, Service, ServiceType, Thread
from payments.chain.escrow_state import escrow_record
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import PLATFORM_FEES, agent_account, balance_of
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from payments.reconcile import reconcile
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory
from tests.factories import deposit as credit
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
ONE_USD = 1_000_000
DEPOSIT = 100 * ONE_USD
QUOTE_FEE = 1_000  # $0.001 to request a quote
PRICE, FEE, TOTAL = 45 * ONE_USD, 2_250_000, 47_250_000  # 45.00 + 5% = 47.25
SCHEMA = {
    "type": "object",
    "properties": {"topic": {"type": "string"}},
    "required": ["topic"],
}
BRIEF = {"topic": "tide tables for the Algarve"}


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider_server listens on 127.0.0.1


def quoted_service(service_type: str = ServiceType.AUTOMATED_SERVICE, **fields: Any) -> Service:
    return ServiceFactory(
        service_type=service_type,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=10 * ONE_USD,
        price_max_micros=100 * ONE_USD,
        input_schema=SCHEMA,
        **fields,
    )


def agent(wallet: str | None = None, deposit: int = DEPOSIT) -> tuple[Participant, str]:
    """An agent with `deposit` on its balance, and its API key."""
    fields = {"wallet": wallet} if wallet else {}
    participant = ParticipantFactory(type=Participant.Type.AGENT, **fields)
    if deposit:
        credit(participant, deposit)
    return participant, api_key_issue(participant=participant)


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    data = "" if body is None else json.dumps(body)
    return api.post(path, data, content_type="application/json", **headers)


def request_quote(api: Client, service: Service, key: str, brief: Any = BRIEF) -> Any:
    return post(api, f"/v1/services/{service.public_id}/quote", brief, HTTP_X_BALANCE_AUTH=key)


def propose(
    api: Client,
    thread_id: str,
    provider: Participant,
    price: str = "45.00",
    message: str = "Can complete in 12 hours",
) -> Any:
    return post(
        api,
        f"/v1/threads/{thread_id}/propose",
        {"price": price, "message": message},
        HTTP_X_API_KEY=api_key_issue(participant=provider),
    )


def quoted(api: Client, service: Service, key: str) -> dict[str, Any]:
    """A quote requested by `key`'s agent and answered by the provider at $45."""
    body = request_quote(api, service, key).json()
    assert propose(api, body["thread_id"], service.provider).status_code == 201
    return body


def exact(response: Any) -> dict[str, Any]:
    """A JSON body with its numbers read as Decimals (no float rounding in comparisons)."""
    return json.loads(response.content, parse_float=Decimal)


# --- requesting -------------------------------------------------------------------------
def test_a_quote_request_answers_pending_with_its_check_url(api: Client) -> None:
    service = quoted_service()
    _, key = agent()
    response = request_quote(api, service, key)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["quote_id"].startswith("qt_")
    assert body["status"] == "pending"
    assert body["check_url"] == f"/v1/quotes/{body['quote_id']}"
    assert body["thread_id"].startswith("thr_")


def test_a_quote_request_costs_a_tenth_of_a_cent_from_the_balance(api: Client) -> None:
    buyer, key = agent()
    assert request_quote(api, quoted_service(), key).status_code == 201
    assert balance_of(agent_account(buyer)) == DEPOSIT - QUOTE_FEE
    assert balance_of(PLATFORM_FEES) == QUOTE_FEE
    assert ledger_problems() == []


def test_the_brief_is_stored_on_the_quotes_thread(api: Client) -> None:
    buyer, key = agent()
    body = request_quote(api, quoted_service(), key).json()
    thread = Thread.objects.get(public_id=body["thread_id"])
    assert (thread.quote_id, thread.brief, thread.buyer) == (body["quote_id"], BRIEF, buyer)
    assert thread.status == Thread.Status.INQUIRY


def test_the_provider_is_told_of_the_quote_request(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    service = quoted_service(provider=provider)
    _, key = agent()
    with django_capture_on_commit_callbacks(execute=True):
        body = request_quote(api, service, key).json()
    [request] = provider_server.received
    event = json.loads(request.body)
    assert (event["type"], event["quote_id"], event["thread_id"], event["brief"]) == (
        "thread_inquiry",
        body["quote_id"],
        body["thread_id"],
        BRIEF,
    )


def test_a_fixed_price_service_answers_fixed_price_uncharged(api: Client) -> None:
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE, price_micros=ONE_USD)
    buyer, key = agent()
    response = request_quote(api, service, key)
    assert (response.status_code, response.json()["code"]) == (400, "fixed_price")
    assert balance_of(agent_account(buyer)) == DEPOSIT
    assert not Thread.objects.exists()


def test_a_brief_that_does_not_match_the_input_schema_is_refused_uncharged(api: Client) -> None:
    buyer, key = agent()
    response = request_quote(api, quoted_service(), key, brief={"subject": "tides"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_brief")
    assert "topic" in response.json()["error"]
    assert balance_of(agent_account(buyer)) == DEPOSIT
    assert not Thread.objects.exists()


def test_a_quote_on_an_unknown_service_is_404(api: Client) -> None:
    _, key = agent()
    response = post(api, "/v1/services/svc_0000000000000000/quote", BRIEF, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (404, "service_not_found")


# --- checking ---------------------------------------------------------------------------
def test_a_pending_quote_has_no_price_yet(api: Client) -> None:
    _, key = agent()
    quote_id = request_quote(api, quoted_service(), key).json()["quote_id"]
    response = api.get(f"/v1/quotes/{quote_id}")  # free, no authentication
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["quote_id"], body["status"]) == (quote_id, "pending")
    assert (body["quoted_price_usd"], body["platform_fee_usd"], body["agent_total_usd"]) == (
        None,
        None,
        None,
    )
    assert body["job_id"] is None


def test_a_proposal_makes_the_quote_quoted_with_the_fee_on_top(api: Client) -> None:
    _, key = agent()
    quote_id = quoted(api, quoted_service(), key)["quote_id"]
    body = exact(api.get(f"/v1/quotes/{quote_id}"))
    assert body["status"] == "quoted"
    assert (body["quoted_price_usd"], body["platform_fee_usd"], body["agent_total_usd"]) == (
        Decimal("45.00"),
        Decimal("2.25"),
        Decimal("47.25"),
    )
    assert body["provider_notes"] == "Can complete in 12 hours"


def test_the_quote_expires_72_hours_after_the_proposal(api: Client) -> None:
    _, key = agent()
    body = request_quote(api, quoted_service(), key).json()
    before = timezone.now()
    propose(api, body["thread_id"], Service.objects.get().provider)
    expires_at = datetime.fromisoformat(api.get(body["check_url"]).json()["expires_at"])
    assert before + timedelta(hours=72) <= expires_at <= timezone.now() + timedelta(hours=72)


def test_the_fee_is_rounded_up_to_the_micro_usdc(api: Client) -> None:
    _, key = agent()
    body = request_quote(api, quoted_service(), key).json()
    response = propose(api, body["thread_id"], Service.objects.get().provider, "10.000001")
    assert response.status_code == 201, response.content
    quote = exact(api.get(body["check_url"]))
    # 5% of 10.000001 is 0.50000005: the agent pays 0.500001
    assert (quote["platform_fee_usd"], quote["agent_total_usd"]) == (
        Decimal("0.500001"),
        Decimal("10.500002"),
    )


def test_a_new_proposal_replaces_the_quoted_price(api: Client) -> None:
    _, key = agent()
    service = quoted_service()
    body = quoted(api, service, key)
    propose(api, body["thread_id"], service.provider, "30.00", "Cheaper if it can wait")
    quote = exact(api.get(body["check_url"]))
    assert (quote["quoted_price_usd"], quote["provider_notes"]) == (
        Decimal("30.00"),
        "Cheaper if it can wait",
    )


def test_a_declined_quote_reads_declined(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    response = post(
        api, f"/v1/threads/{body['thread_id']}/decline", {"reason": ""}, HTTP_X_API_KEY=key
    )
    assert response.status_code == 200, response.content
    assert api.get(body["check_url"]).json()["status"] == "declined"


@pytest.mark.parametrize("quote_id", ["qt_0000000000000000", "nonsense", "thr_0000000000000000"])
def test_an_unknown_quote_is_404_quote_not_found(api: Client, quote_id: str) -> None:
    response = api.get(f"/v1/quotes/{quote_id}")
    assert (response.status_code, response.json()["code"]) == (404, "quote_not_found")


def test_a_quote_past_its_72_hours_is_404_quote_expired(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1)):
        response = api.get(body["check_url"])
    assert (response.status_code, response.json()["code"]) == (404, "quote_expired")
    assert "Quote expired" in response.json()["error"]


def test_a_quote_is_still_valid_just_before_its_72_hours(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    with time_machine.travel(timezone.now() + timedelta(hours=71, minutes=59)):
        response = api.get(body["check_url"])
    assert (response.status_code, response.json()["status"]) == (200, "quoted")


def test_a_quote_whose_thread_was_expired_by_the_schedule_is_quote_expired(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    assert threads_expire_due(now=timezone.now() + timedelta(hours=73)) == 1
    response = api.get(body["check_url"])
    assert (response.status_code, response.json()["code"]) == (404, "quote_expired")


# --- accepting --------------------------------------------------------------------------
def accept(api: Client, quote_id: str, **headers: str) -> Any:
    """The caller reads the quote with its key (so the buyer has seen it), then accepts."""
    if "HTTP_X_BALANCE_AUTH" in headers:
        api.get(f"/v1/quotes/{quote_id}", HTTP_X_API_KEY=headers["HTTP_X_BALANCE_AUTH"])
    return post(api, f"/v1/quotes/{quote_id}/accept", **headers)


def test_accepting_a_quote_creates_a_dispatched_job(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    response = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201, response.content
    accepted = response.json()
    assert accepted["status"] == Job.Status.DISPATCHED
    assert accepted["status_url"] == f"/v1/jobs/{accepted['job_id']}"
    assert accepted["thread_id"] == body["thread_id"]
    job = Job.objects.get(public_id=accepted["job_id"])
    assert (job.status, job.brief, job.thread.public_id) == (
        Job.Status.DISPATCHED,
        BRIEF,
        body["thread_id"],
    )


def test_accepting_a_quote_holds_its_agent_total_in_escrow(api: Client) -> None:
    buyer, key = agent()
    service = quoted_service()
    body = quoted(api, service, key)
    job_id = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key).json()["job_id"]
    escrow = Job.objects.get(public_id=job_id).escrow
    assert escrow is not None
    assert (escrow.status, escrow.amount, escrow.fee) == (Escrow.Status.HELD, PRICE, FEE)
    assert (escrow.payer, escrow.payee) == (buyer, service.provider)
    assert balance_of(agent_account(buyer)) == DEPOSIT - QUOTE_FEE - TOTAL
    assert ledger_problems() == []


def test_an_accepted_quote_reads_accepted_with_its_job(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    job_id = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key).json()["job_id"]
    quote = exact(api.get(body["check_url"]))
    assert (quote["status"], quote["job_id"]) == ("accepted", job_id)
    assert quote["agent_total_usd"] == Decimal("47.25")
    assert quote["expires_at"] is None


def test_a_quote_is_accepted_once(api: Client) -> None:
    buyer, key = agent()
    body = quoted(api, quoted_service(), key)
    assert accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key).status_code == 201
    again = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_thread_transition")
    assert Job.objects.count() == 1
    assert balance_of(agent_account(buyer)) == DEPOSIT - QUOTE_FEE - TOTAL


def test_a_pending_quote_cannot_be_accepted(api: Client) -> None:
    buyer, key = agent()
    quote_id = request_quote(api, quoted_service(), key).json()["quote_id"]
    response = accept(api, quote_id, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (409, "invalid_thread_transition")
    assert balance_of(agent_account(buyer)) == DEPOSIT - QUOTE_FEE


def test_only_the_quotes_buyer_can_accept_it(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    stranger, stranger_key = agent()
    response = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=stranger_key)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert balance_of(agent_account(stranger)) == DEPOSIT
    assert not Job.objects.exists()


def test_a_short_balance_cannot_accept_a_quote(api: Client, chain: Any) -> None:
    buyer, key = agent(deposit=TOTAL - 1)
    body = quoted(api, quoted_service(), key)
    response = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (402, "insufficient_balance")
    assert balance_of(agent_account(buyer)) == TOTAL - 1 - QUOTE_FEE
    assert not Job.objects.exists()


def test_an_expired_quote_cannot_be_accepted(api: Client) -> None:
    buyer, key = agent()
    body = quoted(api, quoted_service(), key)
    Thread.objects.filter(public_id=body["thread_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (404, "quote_expired")
    assert "Quote expired" in response.json()["error"]
    assert balance_of(agent_account(buyer)) == DEPOSIT - QUOTE_FEE
    assert not Job.objects.exists()


def test_an_unknown_quote_cannot_be_accepted(api: Client) -> None:
    _, key = agent()
    response = accept(api, "qt_0000000000000000", HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (404, "quote_not_found")


def test_a_human_service_quote_cannot_be_accepted_from_a_balance(api: Client) -> None:
    buyer, key = agent()
    body = quoted(api, quoted_service(ServiceType.HUMAN_SERVICE), key)
    response = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "balance_not_accepted")
    assert balance_of(agent_account(buyer)) == DEPOSIT - QUOTE_FEE


def test_a_human_service_quote_is_requested_and_accepted_with_x402(
    api: Client,
    chain: Any,
    funded_payer: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = quoted_service(ServiceType.HUMAN_SERVICE)
    payer = funded_payer(50 * ONE_USD)
    path = f"/v1/services/{service.public_id}/quote"
    header, value = payment_header(post(api, path, BRIEF), payer, version=2)
    requested = post(api, path, BRIEF, **{header: value})
    assert requested.status_code == 201, requested.content
    body = requested.json()
    assert propose(api, body["thread_id"], service.provider).status_code == 201

    accept_path = f"/v1/quotes/{body['quote_id']}/accept"
    challenge = post(api, accept_path)
    assert challenge.json()["accepts"][0]["payTo"] == chain.escrow
    header, value = payment_header(challenge, payer, version=1)
    with django_capture_on_commit_callbacks(execute=True):  # the escrow is funded on-chain
        response = post(api, accept_path, **{header: value})
    assert response.status_code == 201, response.content

    escrow = Job.objects.get(public_id=response.json()["job_id"]).escrow
    assert escrow is not None
    assert (escrow.backing, escrow.status) == (Escrow.Backing.ON_CHAIN, Escrow.Status.HELD)
    assert escrow_record(escrow.chain_id)["amount"] == PRICE
    assert chain_balance(token=chain.usdc, address=payer.address) == (
        50 * ONE_USD - QUOTE_FEE - TOTAL
    )
    assert ledger_problems() == []
    assert reconcile() == []


# --- one mechanism: the quote is a thread -------------------------------------------------
def test_the_quotes_thread_shows_the_proposal_to_its_buyer(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    response = api.get(f"/v1/threads/{body['thread_id']}", HTTP_X_API_KEY=key)
    assert response.status_code == 200, response.content
    thread = exact(response)
    assert (thread["quote_id"], thread["status"]) == (body["quote_id"], "negotiating")
    assert thread["brief"] == BRIEF
    assert thread["proposal"]["agent_total_usd"] == Decimal("47.25")
    assert thread["proposal"]["message"] == "Can complete in 12 hours"


def test_a_quote_accepted_through_its_thread_reads_accepted(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    api.get(f"/v1/threads/{body['thread_id']}", HTTP_X_API_KEY=key)  # the buyer reads it
    response = post(api, f"/v1/threads/{body['thread_id']}/accept", HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201, response.content
    quote = api.get(body["check_url"]).json()
    assert (quote["status"], quote["job_id"]) == ("accepted", response.json()["job_id"])


def test_a_quote_accepted_through_the_quote_api_moves_its_thread(api: Client) -> None:
    _, key = agent()
    body = quoted(api, quoted_service(), key)
    job_id = accept(api, body["quote_id"], HTTP_X_BALANCE_AUTH=key).json()["job_id"]
    thread = api.get(f"/v1/threads/{body['thread_id']}", HTTP_X_API_KEY=key).json()
    assert (thread["status"], thread["job_id"]) == ("accepted", job_id)
    assert thread["proposal"]["status"] == "accepted"
