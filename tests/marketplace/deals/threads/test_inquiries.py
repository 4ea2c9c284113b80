"""The threads API: inquiries and messages; listing and reading threads."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.models import (
    Proposal,
    Service,
    Thread,
    WebhookDelivery,
)
from payments.chain.escrow_state import unallocated
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import (
    agent_account,
    balance_of,
)
from payments.ledger_check import ledger_problems
from payments.models import X402Payment
from tests.factories import ServiceFactory, deposit
from tests.marketplace.deals.threads.helpers import (
    ONE,
    READ,
    START,
    TS,
    agent,
    assert_error,
    assert_reconciled,
    close_to,
    detail,
    events,
    inquire,
    negotiated,
    open_deal,
    post,
    propose,
    provider,
    quoted_service,
    when,
)
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db


# --- inquiries and messages -------------------------------------------------------------
def test_an_inquiry_opens_a_thread_for_seven_days_for_a_thousandth(api: Client) -> None:
    seller = provider()
    service = quoted_service(seller)
    buyer = agent()
    response = inquire(api, service, buyer)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["service_id"]) == (TS.INQUIRY, service.public_id)
    thread = Thread.objects.get(public_id=body["thread_id"])
    assert (thread.buyer, thread.provider, thread.brief) == (
        buyer.participant,
        seller.participant,
        {"pages": 40},
    )
    assert thread.expires_at is not None
    assert close_to(thread.expires_at, timezone.now() + timedelta(days=7))
    assert when(body["expires_at"]) == thread.expires_at
    assert [m.body for m in thread.messages.all()] == ["Can you do 40 pages?"]
    assert buyer.balance == START - READ
    assert ledger_problems() == []


def test_the_provider_hears_of_an_inquiry_by_a_signed_webhook(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    seller = provider(provider_server.url)
    service = quoted_service(seller)
    buyer = agent()
    with django_capture_on_commit_callbacks(execute=True):
        response = inquire(api, service, buyer)
    assert response.status_code == 201
    [event] = events(provider_server)
    assert event["type"] == "thread_inquiry"
    assert (event["thread_id"], event["service_id"], event["buyer_id"]) == (
        response.json()["thread_id"],
        service.public_id,
        buyer.participant.public_id,
    )
    assert (event["brief"], event["message"]) == ({"pages": 40}, "Can you do 40 pages?")
    assert event["expires_at"] is not None
    assert provider_server.received[0].headers["X-Webhook-Signature"].startswith("sha256=")


def test_a_buyer_message_reaches_the_provider_as_new_message(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = open_deal(api, webhook_url=provider_server.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api, deal.path("/messages"), {"message": "Also in French?"}, **deal.buyer.by_key
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["sender"], body["message"]) == ("text", "buyer", "Also in French?")
    [event] = [e for e in events(provider_server) if e["type"] == "new_message"]
    assert (event["thread_id"], event["message_id"], event["message"], event["kind"]) == (
        deal.thread_id,
        body["message_id"],
        "Also in French?",
        "text",
    )


def test_a_credential_text_never_leaves_in_a_webhook(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = open_deal(api, webhook_url=provider_server.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api,
            deal.path("/messages"),
            {"type": "credential", "message": "hunter2-SECRET-token"},
            **deal.buyer.by_key,
        )
    assert response.status_code == 201, response.content
    [received] = [r for r in provider_server.received if b'"new_message"' in r.body]
    assert b"hunter2-SECRET-token" not in received.body
    event = json.loads(received.body)
    assert (event["kind"], event["message"]) == ("credential", "")
    stored = WebhookDelivery.objects.get(event_type="new_message")
    assert "hunter2-SECRET-token" not in stored.payload


def test_the_providers_own_messages_send_it_no_webhook(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = open_deal(api, webhook_url=provider_server.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, deal.path("/messages"), {"message": "Yes."}, **deal.seller.by_key)
    assert response.status_code == 201
    assert response.json()["sender"] == "provider"
    assert [e["type"] for e in events(provider_server)] == []


def test_an_inquiry_needs_a_message_or_a_brief_and_is_then_not_charged(api: Client) -> None:
    service = quoted_service(provider())
    buyer = agent()
    assert_error(inquire(api, service, buyer, {"message": "", "brief": {}}), 400)
    assert buyer.balance == START
    assert not Thread.objects.exists()


def test_an_inquiry_brief_is_checked_against_the_input_schema(api: Client) -> None:
    service = quoted_service(provider())
    buyer = agent()
    response = inquire(api, service, buyer, {"brief": {"pages": "forty"}})
    assert_error(response, 400, "invalid_brief")
    assert buyer.balance == START


def test_a_provider_cannot_inquire_about_its_own_service(api: Client) -> None:
    seller = provider()
    deposit(seller.participant, ONE)
    response = inquire(api, quoted_service(seller), seller)
    assert_error(response, 400, "own_service")
    assert not Thread.objects.exists()
    assert balance_of(agent_account(seller.participant)) == ONE
    assert ledger_problems() == []


def test_an_inquiry_about_an_unknown_or_inactive_service_is_404(api: Client) -> None:
    buyer = agent()
    assert_error(
        post(
            api, "/v1/services/svc_0000000000000000/inquire", {"message": "hi"}, **buyer.by_balance
        ),
        404,
        "service_not_found",
    )
    service = ServiceFactory(status=Service.Status.INACTIVE)
    assert_error(inquire(api, service, buyer), 404)
    assert buyer.balance == START


def test_an_inquiry_without_payment_is_a_402_challenge(api: Client, chain: Any) -> None:
    service = quoted_service(provider())
    response = post(api, f"/v1/services/{service.public_id}/inquire", {"message": "hi"})
    assert response.status_code == 402
    assert response.json()["accepts"][0]["maxAmountRequired"] == str(READ)
    assert "PAYMENT-REQUIRED" in response


# --- list and detail --------------------------------------------------------------------
def test_both_parties_list_the_thread_and_a_stranger_does_not(api: Client) -> None:
    deal = open_deal(api)
    open_deal(api)  # someone else's
    for who in (deal.buyer, deal.seller):
        body = api.get("/v1/threads", **who.by_key).json()
        assert [t["thread_id"] for t in body["threads"]] == [deal.thread_id]
        assert body["total"] == 1
        assert body["threads"][0]["message_count"] == 1
    stranger = agent()
    assert api.get("/v1/threads", **stranger.by_key).json() == {
        "threads": [],
        "total": 0,
        "limit": 20,
        "offset": 0,
    }


def test_the_list_filters_by_status_and_refuses_an_unknown_one(api: Client) -> None:
    deal = open_deal(api)
    buyer = deal.buyer
    second = inquire(api, deal.service, buyer).json()["thread_id"]
    assert propose(api, deal).status_code == 201

    def listed(query: str) -> list[str]:
        response = api.get(f"/v1/threads{query}", **buyer.by_key)
        assert response.status_code == 200, response.content
        return [t["thread_id"] for t in response.json()["threads"]]

    assert listed("?status=negotiating") == [deal.thread_id]
    assert listed("?status=inquiry") == [second]
    assert listed("?status=accepted") == []
    assert sorted(listed("")) == sorted([deal.thread_id, second])
    assert_error(api.get("/v1/threads?status=nonsense", **buyer.by_key), 400, "invalid_request")


def test_listing_threads_costs_the_same_queries_for_many_threads(api: Client) -> None:
    buyer = agent()

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/v1/threads", **buyer.by_key).status_code == 200
        return len(ctx.captured_queries)

    seller = provider()
    assert inquire(api, quoted_service(seller), buyer).status_code == 201
    few = queries_for_list()
    for _ in range(4):
        deal_service = quoted_service(seller)
        thread_id = inquire(api, deal_service, buyer).json()["thread_id"]
        post(api, f"/v1/threads/{thread_id}/propose", {"price": "3"}, **seller.by_key)
    assert queries_for_list() == few


def test_the_list_pages_with_limit_and_offset(api: Client) -> None:
    deal = open_deal(api)
    ids = {deal.thread_id}
    for _ in range(2):
        ids.add(inquire(api, deal.service, deal.buyer).json()["thread_id"])
    first = api.get("/v1/threads?limit=2", **deal.buyer.by_key).json()
    rest = api.get("/v1/threads?limit=2&offset=2", **deal.buyer.by_key).json()
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert (rest["total"], rest["limit"], rest["offset"]) == (3, 2, 2)
    assert len(first["threads"]) == 2 and len(rest["threads"]) == 1
    assert {t["thread_id"] for t in first["threads"] + rest["threads"]} == ids


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "offset=-1", "limit=many", f"offset={2**63}"]
)
def test_bad_paging_is_a_400(api: Client, query: str) -> None:
    assert_error(api.get(f"/v1/threads?{query}", **agent().by_key), 400, "invalid_request")


def test_both_parties_read_the_thread_with_its_history(api: Client) -> None:
    deal = negotiated(api)
    post(api, deal.path("/messages"), {"message": "Deal?"}, **deal.buyer.by_key)
    for who in (deal.buyer, deal.seller):
        body = detail(api, deal, who)
        assert (body["thread_id"], body["status"]) == (deal.thread_id, TS.NEGOTIATING)
        assert (body["buyer_id"], body["provider_id"]) == (
            deal.buyer.participant.public_id,
            deal.seller.participant.public_id,
        )
        assert [(m["kind"], m["sender"]) for m in body["messages"]] == [
            ("text", "buyer"),
            ("proposal", "provider"),
            ("text", "buyer"),
        ]
        assert [(h["from"], h["to"]) for h in body["status_history"]] == [
            (None, TS.INQUIRY),
            (TS.INQUIRY, TS.NEGOTIATING),
        ]
        assert body["proposal"]["status"] == Proposal.Status.OPEN
        assert (body["job_id"], body["brief"]) == (None, {"pages": 40})


def test_an_invalid_api_key_is_a_401(api: Client) -> None:
    deal = open_deal(api)
    assert_error(api.get(deal.path(), HTTP_X_API_KEY="sk_nope"), 401, "invalid_api_key")
    assert_error(api.get("/v1/threads", HTTP_X_API_KEY="sk_nope"), 401, "invalid_api_key")


def test_a_buyers_wallet_inquires_reads_and_lists_by_x402(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    loose = unallocated()
    payer = funded_payer(ONE)
    service = quoted_service(provider())
    path = f"/v1/services/{service.public_id}/inquire"
    body = json.dumps({"message": "Hello from a wallet"})
    challenge = api.post(path, body, content_type="application/json")
    header, value = payment_header(challenge, payer, version=2)
    response = api.post(path, body, content_type="application/json", **{header: value})
    assert response.status_code == 201, response.content
    thread_id = response.json()["thread_id"]
    assert Thread.objects.get(public_id=thread_id).buyer.wallet.lower() == payer.address.lower()

    read_path = f"/v1/threads/{thread_id}"
    header, value = payment_header(api.get(read_path), payer, version=2)
    read = api.get(read_path, **{header: value})
    assert read.status_code == 200, read.content
    assert read.json()["messages"][0]["message"] == "Hello from a wallet"
    assert "PAYMENT-RESPONSE" in read

    header, value = payment_header(api.get("/v1/threads"), payer, version=1)
    listed = api.get("/v1/threads", **{header: value})
    assert listed.status_code == 200, listed.content
    assert [t["thread_id"] for t in listed.json()["threads"]] == [thread_id]

    assert chain_balance(token=chain.usdc, address=payer.address) == ONE - 3 * READ
    assert X402Payment.objects.filter(payer=payer.address.lower()).count() == 3
    assert ledger_problems() == []
    assert_reconciled(loose)


def test_another_wallet_cannot_read_a_thread_and_is_not_charged(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    deal = open_deal(api)
    payer = funded_payer(ONE)
    header, value = payment_header(api.get(deal.path()), payer, version=2)
    assert_error(api.get(deal.path(), **{header: value}), 403, "forbidden")
    assert chain_balance(token=chain.usdc, address=payer.address) == ONE
    assert not X402Payment.objects.filter(payer=payer.address.lower()).exists()
