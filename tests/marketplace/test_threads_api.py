"""The threads API: inquire, talk (text, encrypted credentials, files), propose, accept and
pay, follow the work, verify, dispute or decline; and who may do each of these."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace import commerce, threads
from marketplace.models import (
    Job,
    PricingModel,
    Proposal,
    Service,
    ServiceType,
    Thread,
    ThreadMessage,
    WebhookDelivery,
)
from payments.chain.escrow_state import unallocated
from payments.chain.usdc import balance_of as chain_balance
from payments.gate import Paid
from payments.ledger import (
    WORLD,
    Posting,
    agent_account,
    balance_of,
    ledger_record,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow, IdempotencyRecord, Participant, X402Payment
from payments.reconcile import reconcile
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider
from the402.lib.money import platform_fee

pytestmark = pytest.mark.django_db

ONE = 1_000_000
READ = 1_000  # $0.001: an inquiry, an x402 read, a paid verify
DISPUTE = 5_000  # $0.005
PRICE_TEXT = "25.50"
PRICE = 25_500_000
FEE = 1_275_000  # 5% of $25.50
TOTAL = PRICE + FEE
START = 100 * ONE  # what each buyer deposits
UNKNOWN_THREAD = "thr_0000000000000000"
TS = Thread.Status
JS = Job.Status


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1


# --- parties, services, threads ---------------------------------------------------------
@dataclass
class Party:
    participant: Participant
    key: str

    @property
    def by_key(self) -> dict[str, str]:
        return {"HTTP_X_API_KEY": self.key}

    @property
    def by_balance(self) -> dict[str, str]:
        return {"HTTP_X_BALANCE_AUTH": self.key}

    @property
    def balance(self) -> int:
        return balance_of(agent_account(self.participant))


def deposit(participant: Participant, amount: int) -> None:
    ledger_record(
        kind="deposit",
        idempotency_key=f"dep-{participant.public_id}-{amount}",
        postings=[Posting(WORLD, agent_account(participant), amount)],
    )


def agent(balance: int = START, **fields: Any) -> Party:
    participant = ParticipantFactory(type=Participant.Type.AGENT, **fields)
    if balance:
        deposit(participant, balance)
    return Party(participant, api_key_issue(participant=participant))


def provider(webhook_url: str = "") -> Party:
    participant = ParticipantFactory(type=Participant.Type.PROVIDER)
    if webhook_url:
        participant_update(participant=participant, webhook_url=webhook_url)
    return Party(participant, api_key_issue(participant=participant))


def quoted_service(seller: Party, service_type: str = ServiceType.AUTOMATED_SERVICE) -> Service:
    return ServiceFactory(
        provider=seller.participant,
        service_type=service_type,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=ONE,
        price_max_micros=100 * ONE,
        input_schema={"type": "object", "properties": {"pages": {"type": "integer"}}},
    )


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(
        path,
        json.dumps(body if body is not None else {}),
        content_type="application/json",
        **headers,
    )


def inquire(api: Client, service: Service, buyer: Party, body: Any = None) -> Any:
    body = body if body is not None else {"message": "Can you do 40 pages?", "brief": {"pages": 40}}
    return post(api, f"/v1/services/{service.public_id}/inquire", body, **buyer.by_balance)


@dataclass
class Deal:
    """A thread between `buyer` and `seller` about `service`."""

    buyer: Party
    seller: Party
    service: Service
    thread_id: str

    def path(self, suffix: str = "") -> str:
        return f"/v1/threads/{self.thread_id}{suffix}"

    @property
    def thread(self) -> Thread:
        return Thread.objects.get(public_id=self.thread_id)

    @property
    def job(self) -> Job:
        return Job.objects.select_related("escrow").get(thread__public_id=self.thread_id)


def open_deal(
    api: Client, service_type: str = ServiceType.AUTOMATED_SERVICE, webhook_url: str = ""
) -> Deal:
    seller = provider(webhook_url)
    service = quoted_service(seller, service_type)
    buyer = agent()
    response = inquire(api, service, buyer)
    assert response.status_code == 201, response.content
    return Deal(buyer, seller, service, response.json()["thread_id"])


def propose(api: Client, deal: Deal, price: Any = PRICE_TEXT, message: str = "") -> Any:
    return post(
        api, deal.path("/propose"), {"price": price, "message": message}, **deal.seller.by_key
    )


def negotiated(api: Client, **kwargs: Any) -> Deal:
    deal = open_deal(api, **kwargs)
    assert propose(api, deal).status_code == 201
    return deal


def accept(api: Client, deal: Deal) -> Any:
    """The buyer reads the thread (so it has seen the open proposal), then accepts it."""
    api.get(deal.path(), **deal.buyer.by_key)
    return post(api, deal.path("/accept"), **deal.buyer.by_balance)


def accepted(api: Client, **kwargs: Any) -> Deal:
    deal = negotiated(api, **kwargs)
    response = accept(api, deal)
    assert response.status_code == 201, response.content
    return deal


def accepted_human(api: Client) -> Deal:
    """A human service's proposal, accepted and paid into a ledger escrow.

    Through the API a human service is paid by x402 only (tested with the chain below);
    here the buyer's prepaid balance holds the escrow, through the same accept service the
    gate calls, so that verify and decline can be followed on the ledger."""
    deal = negotiated(api, service_type=ServiceType.HUMAN_SERVICE)
    thread = deal.thread
    proposal = threads.open_proposal(thread)
    assert proposal is not None
    with transaction.atomic():
        commerce.accept_perform(
            thread, proposal, Paid("balance", deal.buyer.participant, proposal.total_micros)
        )
    return deal


def update(api: Client, deal: Deal, status: str, **fields: Any) -> Any:
    return post(api, deal.path("/update"), {"status": status, **fields}, **deal.seller.by_key)


def detail(api: Client, deal: Deal, who: Party) -> dict[str, Any]:
    response = api.get(deal.path(), **who.by_key)
    assert response.status_code == 200, response.content
    return response.json()


def events(provider_server: Provider) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in provider_server.received]


def usd(value: Any) -> Decimal:
    return Decimal(str(value))


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def close_to(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(minutes=1)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_reconciled(unallocated_before: int) -> None:
    """`reconcile()` finds nothing wrong with this test's payments and escrows, and the flow
    left nothing unallocated in the escrow contract.

    The devnet is shared by the session: money another test left unallocated in the
    contract (its escrow's `fund` never ran, its database rolled back) would show up here as
    `escrow_unallocated_funds`, so that one check compares this test's before and after."""
    issues = reconcile()
    assert [
        (i.kind, i.subject, i.detail) for i in issues if i.kind != "escrow_unallocated_funds"
    ] == []
    assert unallocated() == unallocated_before


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


# --- credentials ------------------------------------------------------------------------
def send_credential(api: Client, deal: Deal, text: str = "user=ops pass=s3cret!") -> Any:
    return post(
        api, deal.path("/messages"), {"type": "credential", "message": text}, **deal.buyer.by_key
    )


def test_a_credential_is_stored_encrypted_only(api: Client) -> None:
    deal = open_deal(api)
    response = send_credential(api, deal)
    assert response.status_code == 201, response.content
    assert (response.json()["credential"], response.json()["redacted"]) == (
        "user=ops pass=s3cret!",
        False,
    )
    row = ThreadMessage.objects.get(public_id=response.json()["message_id"])
    assert row.kind == ThreadMessage.Kind.CREDENTIAL
    assert row.body == ""
    assert row.secret is not None
    stored = bytes(row.secret)
    assert b"s3cret" not in stored and stored != b"user=ops pass=s3cret!"
    assert threads.credential_text(row) == "user=ops pass=s3cret!"


def test_both_parties_see_the_credential_in_clear(api: Client) -> None:
    deal = open_deal(api)
    message_id = send_credential(api, deal).json()["message_id"]
    for who in (deal.buyer, deal.seller):
        [message] = [m for m in detail(api, deal, who)["messages"] if m["message_id"] == message_id]
        assert (message["credential"], message["redacted"], message["message"]) == (
            "user=ops pass=s3cret!",
            False,
            "",
        )


def test_credentials_are_erased_once_the_thread_completes(api: Client) -> None:
    deal = accepted_human(api)
    message_id = send_credential(api, deal).json()["message_id"]
    response = update(api, deal, "completed", deliverables={"report": "done"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == TS.COMPLETED
    row = ThreadMessage.objects.get(public_id=message_id)
    assert (row.secret, row.redacted_at is not None) == (None, True)
    for who in (deal.buyer, deal.seller):
        [message] = [m for m in detail(api, deal, who)["messages"] if m["message_id"] == message_id]
        assert (message["credential"], message["redacted"]) == (None, True)


def test_credentials_are_erased_when_an_automated_job_is_verified(api: Client) -> None:
    deal = accepted(api)
    message_id = send_credential(api, deal).json()["message_id"]
    assert update(api, deal, "completed", deliverables={"ok": True}).json()["status"] == (
        TS.VERIFIED
    )
    assert ThreadMessage.objects.get(public_id=message_id).secret is None


def test_a_credential_is_refused_on_a_completed_thread(api: Client) -> None:
    deal = accepted_human(api)
    assert update(api, deal, "completed", deliverables={"a": 1}).status_code == 200
    assert_error(send_credential(api, deal), 409, "invalid_thread_transition")
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.CREDENTIAL).exists()
    # a plain message is still fine until the thread is closed
    assert (
        post(api, deal.path("/messages"), {"message": "Thanks"}, **deal.buyer.by_key).status_code
        == 201
    )


def test_messages_are_refused_on_a_closed_thread(api: Client) -> None:
    deal = open_deal(api)
    assert post(api, deal.path("/decline"), {}, **deal.buyer.by_key).status_code == 200
    response = post(api, deal.path("/messages"), {"message": "wait"}, **deal.seller.by_key)
    assert_error(response, 409, "invalid_thread_transition")


def test_a_credential_never_rests_in_clear_in_an_idempotency_record(api: Client) -> None:
    deal = open_deal(api)
    deposit(deal.seller.participant, ONE)
    sent = post(
        api,
        deal.path("/messages"),
        {"type": "credential", "message": "root:TOPSECRET"},
        HTTP_IDEMPOTENCY_KEY="send-1",
        **deal.buyer.by_balance,
    )
    assert sent.status_code == 201, sent.content
    read = api.get(deal.path(), HTTP_IDEMPOTENCY_KEY="read-1", **deal.seller.by_balance)
    assert read.status_code == 200, read.content
    stored = [bytes(r.response_body or b"") for r in IdempotencyRecord.objects.all()]
    assert stored  # the requests were recorded
    assert not any(b"TOPSECRET" in body for body in stored)


# --- attachments ------------------------------------------------------------------------
def upload(api: Client, deal: Deal, who: Party, content: bytes, name: str = "spec.pdf") -> Any:
    return api.post(
        deal.path("/messages"),
        {
            "file": SimpleUploadedFile(name, content, content_type="application/pdf"),
            "type": "attachment",
            "message": "the spec",
        },
        **who.by_key,
    )


def test_an_attachment_is_uploaded_and_the_other_party_downloads_it(api: Client) -> None:
    deal = open_deal(api)
    content = b"%PDF-1.4 " + bytes(range(256)) * 40
    response = upload(api, deal, deal.buyer, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "attachment"
    assert body["message"] == "the spec"
    assert body["attachment"]["name"] == "spec.pdf"
    assert body["attachment"]["size"] == len(content)
    assert body["attachment"]["content_type"] == "application/pdf"
    download = api.get(body["attachment"]["url"], **deal.seller.by_key)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "application/pdf"
    assert "spec.pdf" in download["Content-Disposition"]


def test_a_paid_download_with_an_idempotency_key_is_served_and_not_stored(
    api: Client,
) -> None:
    deal = open_deal(api)
    assert upload(api, deal, deal.buyer, b"%PDF-1.4 spec").status_code == 201
    url = detail(api, deal, deal.buyer)["messages"][-1]["attachment"]["url"]
    deposit(deal.seller.participant, ONE)
    download = api.get(url, HTTP_IDEMPOTENCY_KEY="dl-1", **deal.seller.by_balance)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 spec"
    assert not IdempotencyRecord.objects.filter(key="dl-1").exists()


def test_a_file_over_the_limit_is_refused_with_a_json_400(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "ATTACHMENT_MAX_BYTES", 1024)
    deal = open_deal(api)
    assert_error(upload(api, deal, deal.buyer, b"x" * 1025), 400, "file_too_large")
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.ATTACHMENT).exists()
    assert upload(api, deal, deal.buyer, b"x" * 1024).status_code == 201  # exactly the limit


def test_the_attachment_limit_is_25_megabytes() -> None:
    assert threads.ATTACHMENT_MAX_BYTES == 25 * 1024 * 1024


def test_a_real_file_one_byte_over_25_megabytes_is_refused(api: Client) -> None:
    deal = open_deal(api)
    response = upload(api, deal, deal.buyer, b"\0" * (25 * 1024 * 1024 + 1), "big.bin")
    assert_error(response, 400, "file_too_large")
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.ATTACHMENT).exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "attachment"},  # no file
        {"type": "text", "file": b"abc"},  # a file needs type attachment
        {"type": "credential", "file": b"abc", "message": "x"},
        {"type": "attachment", "file": b""},  # an empty file
    ],
)
def test_a_malformed_attachment_message_is_a_400(api: Client, fields: dict[str, Any]) -> None:
    deal = open_deal(api)
    data = dict(fields)
    if "file" in data:
        data["file"] = SimpleUploadedFile("a.txt", data["file"], content_type="text/plain")
    assert_error(api.post(deal.path("/messages"), data, **deal.buyer.by_key), 400)
    assert deal.thread.messages.count() == 1  # the inquiry's


def test_the_attachment_of_a_text_message_or_an_unknown_message_is_404(api: Client) -> None:
    deal = open_deal(api)
    text_id = deal.thread.messages.get().public_id
    assert_error(
        api.get(deal.path(f"/messages/{text_id}/attachment"), **deal.buyer.by_key),
        404,
        "attachment_not_found",
    )
    assert_error(
        api.get(deal.path("/messages/msg_0000000000000000/attachment"), **deal.buyer.by_key),
        404,
        "message_not_found",
    )


def test_a_message_id_of_another_thread_is_404(api: Client) -> None:
    deal, other = open_deal(api), open_deal(api)
    message_id = upload(api, other, other.buyer, b"file").json()["message_id"]
    assert_error(
        api.get(deal.path(f"/messages/{message_id}/attachment"), **deal.buyer.by_key),
        404,
        "message_not_found",
    )


# --- proposals --------------------------------------------------------------------------
def test_a_proposal_shows_the_agent_its_price_fee_and_total(api: Client) -> None:
    deal = open_deal(api)
    response = propose(api, deal, "$25.50", "Two weeks")
    assert response.status_code == 201, response.content
    body = response.json()
    assert usd(body["quoted_price_usd"]) == Decimal("25.5")
    assert usd(body["platform_fee_usd"]) == Decimal("1.275")
    assert usd(body["agent_total_usd"]) == Decimal("26.775")
    assert (body["status"], body["message"]) == (Proposal.Status.OPEN, "Two weeks")
    seen = detail(api, deal, deal.buyer)["proposal"]
    assert seen["proposal_id"] == body["proposal_id"]
    assert usd(seen["agent_total_usd"]) == Decimal("26.775")


def test_the_proposal_fee_is_rounded_up_to_the_micro_usdc(api: Client) -> None:
    deal = open_deal(api)
    body = propose(api, deal, "10.000001").json()
    assert platform_fee(10_000_001) == 500_001  # 500_000.05 rounded up
    assert usd(body["platform_fee_usd"]) == Decimal("0.500001")
    assert usd(body["agent_total_usd"]) == Decimal("10.500002")
    proposal = Proposal.objects.get(public_id=body["proposal_id"])
    assert (proposal.price_micros, proposal.fee_micros) == (10_000_001, 500_001)


def test_a_proposal_moves_the_thread_to_negotiating_for_72_hours(api: Client) -> None:
    deal = open_deal(api)
    body = propose(api, deal).json()
    thread = deal.thread
    proposal = Proposal.objects.get(public_id=body["proposal_id"])
    assert thread.status == TS.NEGOTIATING
    assert close_to(proposal.expires_at, timezone.now() + timedelta(hours=72))
    assert thread.expires_at == proposal.expires_at
    assert when(body["expires_at"]) == proposal.expires_at
    assert thread.messages.filter(kind=ThreadMessage.Kind.PROPOSAL, proposal=proposal).exists()


def test_a_second_proposal_supersedes_the_first(api: Client) -> None:
    deal = open_deal(api)
    first = propose(api, deal, "30").json()["proposal_id"]
    second = propose(api, deal, "25.50").json()["proposal_id"]
    assert Proposal.objects.get(public_id=first).status == Proposal.Status.SUPERSEDED
    assert Proposal.objects.get(public_id=second).status == Proposal.Status.OPEN
    body = detail(api, deal, deal.buyer)
    assert body["proposal"]["proposal_id"] == second
    assert [(p["proposal_id"], p["status"]) for p in body["proposals"]] == [
        (first, Proposal.Status.SUPERSEDED),
        (second, Proposal.Status.OPEN),
    ]
    assert deal.thread.status == TS.NEGOTIATING


@pytest.mark.parametrize(
    "price",
    ["abc", "0", "-1", "1.0000001", 25.5, True, None, ["1"], {"min": "1", "max": "2"}, ""],
)
def test_a_bad_proposal_price_is_a_json_400(api: Client, price: Any) -> None:
    deal = open_deal(api)
    assert_error(propose(api, deal, price), 400)
    assert not Proposal.objects.exists()
    assert deal.thread.status == TS.INQUIRY


def test_no_proposal_once_the_thread_is_accepted(api: Client) -> None:
    deal = accepted(api)
    assert_error(propose(api, deal, "40"), 409, "invalid_thread_transition")
    assert Proposal.objects.filter(thread=deal.thread).count() == 1


# --- accepting --------------------------------------------------------------------------
def test_accepting_from_the_balance_holds_price_and_fee_in_escrow(api: Client) -> None:
    deal = negotiated(api)
    before = deal.buyer.balance
    response = accept(api, deal)
    assert response.status_code == 201, response.content
    body = response.json()
    job = deal.job
    assert (body["job_id"], body["thread_id"], body["status"]) == (
        job.public_id,
        deal.thread_id,
        JS.DISPATCHED,
    )
    assert job.escrow is not None
    assert (job.escrow.status, job.escrow.amount, job.escrow.fee) == (
        Escrow.Status.HELD,
        PRICE,
        FEE,
    )
    assert (job.escrow.payer, job.escrow.payee) == (deal.buyer.participant, deal.seller.participant)
    assert deal.buyer.balance == before - TOTAL
    assert deal.thread.status == TS.ACCEPTED
    assert deal.thread.expires_at is None
    assert Proposal.objects.get(thread=deal.thread).status == Proposal.Status.ACCEPTED
    assert (job.brief, job.service, job.buyer) == (
        {"pages": 40},
        deal.service,
        deal.buyer.participant,
    )
    summary = detail(api, deal, deal.buyer)
    assert (summary["job_id"], summary["job_status"]) == (job.public_id, JS.DISPATCHED)
    assert ledger_problems() == []


def test_accepting_sends_proposal_accepted_and_job_dispatch(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = negotiated(api, webhook_url=provider_server.url)
    provider_server.received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = accept(api, deal)
    assert response.status_code == 201
    by_type = {e["type"]: e for e in events(provider_server)}
    assert set(by_type) == {"proposal_accepted", "job_dispatch"}
    job_id = response.json()["job_id"]
    accepted_event = by_type["proposal_accepted"]
    assert (accepted_event["thread_id"], accepted_event["job_id"]) == (deal.thread_id, job_id)
    assert usd(accepted_event["price_usd"]) == Decimal("25.5")
    dispatch = by_type["job_dispatch"]
    assert (dispatch["job_id"], dispatch["thread_id"], dispatch["brief"]) == (
        job_id,
        deal.thread_id,
        {"pages": 40},
    )


def test_a_human_service_proposal_cannot_be_accepted_from_a_balance(api: Client) -> None:
    deal = negotiated(api, service_type=ServiceType.HUMAN_SERVICE)
    before = deal.buyer.balance
    assert_error(accept(api, deal), 400, "balance_not_accepted")
    assert deal.buyer.balance == before
    assert deal.thread.status == TS.NEGOTIATING
    assert not Job.objects.exists()


def test_an_expired_proposal_is_410_thread_expired(api: Client) -> None:
    deal = negotiated(api)
    before = deal.buyer.balance
    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1), tick=False):
        assert_error(accept(api, deal), 410, "thread_expired")
    assert deal.buyer.balance == before
    assert not Job.objects.exists()


def test_a_proposal_is_still_accepted_just_before_72_hours(api: Client) -> None:
    deal = negotiated(api)
    with time_machine.travel(timezone.now() + timedelta(hours=71, minutes=59), tick=False):
        assert accept(api, deal).status_code == 201


def test_an_expired_thread_cannot_be_accepted(api: Client) -> None:
    deal = negotiated(api)
    assert threads.threads_expire_due(timezone.now() + timedelta(hours=73)) == 1
    assert_error(accept(api, deal), 410, "thread_expired")


def test_a_second_accept_is_refused_and_charges_nothing(api: Client) -> None:
    deal = accepted(api)
    after_first = deal.buyer.balance
    assert_error(accept(api, deal), 409, "invalid_thread_transition")
    assert deal.buyer.balance == after_first
    assert Job.objects.count() == 1
    assert ledger_problems() == []


def test_an_inquiry_without_a_proposal_cannot_be_accepted(api: Client) -> None:
    deal = open_deal(api)
    assert_error(accept(api, deal), 409, "invalid_thread_transition")
    assert deal.buyer.balance == START - READ


def test_a_short_balance_is_asked_to_pay_by_x402(api: Client, chain: Any) -> None:
    deal = negotiated(api)
    ledger_record(
        kind="withdrawal",
        idempotency_key="drain",
        postings=[Posting(agent_account(deal.buyer.participant), WORLD, deal.buyer.balance - ONE)],
    )
    body = assert_error(accept(api, deal), 402, "insufficient_balance")
    assert body["accepts"][0]["maxAmountRequired"] == str(TOTAL)
    assert body["accepts"][0]["payTo"] == chain.escrow
    assert deal.thread.status == TS.NEGOTIATING
    assert deal.buyer.balance == ONE
    assert not Job.objects.exists()
    assert ledger_problems() == []


def test_a_human_service_is_accepted_by_x402_and_verified_on_chain(
    api: Client,
    chain: Any,
    funded_payer: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    loose = unallocated()
    payer = funded_payer(50 * ONE)
    buyer = agent(0, wallet=payer.address)
    seller = provider()
    service = quoted_service(seller, ServiceType.HUMAN_SERVICE)
    deposit(buyer.participant, READ)
    thread_id = inquire(api, service, buyer).json()["thread_id"]
    deal = Deal(buyer, seller, service, thread_id)
    assert propose(api, deal).status_code == 201
    challenge = post(api, deal.path("/accept"))
    assert challenge.json()["accepts"][0]["payTo"] == chain.escrow
    header, value = payment_header(challenge, payer, version=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, deal.path("/accept"), **{header: value})
    assert response.status_code == 201, response.content
    escrow = deal.job.escrow
    assert escrow is not None
    assert (escrow.backing, escrow.status) == (Escrow.Backing.ON_CHAIN, Escrow.Status.HELD)
    assert chain_balance(token=chain.usdc, address=payer.address) == 50 * ONE - TOTAL

    assert update(api, deal, "completed", deliverables={"a": 1}).json()["status"] == TS.COMPLETED
    with django_capture_on_commit_callbacks(execute=True):
        verified = post(api, deal.path("/verify"), **buyer.by_key)
    assert verified.status_code == 200, verified.content
    assert (verified.json()["status"], verified.json()["job_status"]) == (TS.VERIFIED, JS.RELEASED)
    escrow.refresh_from_db()
    assert escrow.status == Escrow.Status.RELEASED
    assert chain_balance(token=chain.usdc, address=seller.participant.wallet) == PRICE
    assert ledger_problems() == []
    assert_reconciled(loose)


# --- expiry -----------------------------------------------------------------------------
def test_an_inquiry_expires_after_seven_days(api: Client) -> None:
    deal = open_deal(api)
    opened = deal.thread.created_at
    assert threads.threads_expire_due(opened + timedelta(days=6, hours=23)) == 0
    assert deal.thread.status == TS.INQUIRY
    assert threads.threads_expire_due(opened + timedelta(days=7, minutes=1)) == 1
    thread = deal.thread
    assert (thread.status, thread.expires_at) == (TS.EXPIRED, None)
    assert thread.transitions.last().to_status == TS.EXPIRED  # type: ignore[union-attr]


def test_a_negotiation_expires_72_hours_after_the_proposal(api: Client) -> None:
    deal = negotiated(api)
    proposed = Proposal.objects.get(thread=deal.thread).created_at
    assert threads.threads_expire_due(proposed + timedelta(hours=71)) == 0
    assert deal.thread.status == TS.NEGOTIATING
    assert threads.threads_expire_due(proposed + timedelta(hours=72, minutes=1)) == 1
    assert deal.thread.status == TS.EXPIRED
    assert Proposal.objects.get(thread=deal.thread).status == Proposal.Status.EXPIRED


def test_a_proposal_extends_an_old_inquiry_to_72_hours(api: Client) -> None:
    deal = open_deal(api)
    later = timezone.now() + timedelta(days=6)
    with time_machine.travel(later, tick=False):
        assert propose(api, deal).status_code == 201
    assert threads.threads_expire_due(later + timedelta(days=2)) == 0  # past the 7 days
    assert threads.threads_expire_due(later + timedelta(hours=73)) == 1


def test_accepted_threads_never_expire(api: Client) -> None:
    deal = accepted(api)
    assert threads.threads_expire_due(timezone.now() + timedelta(days=365)) == 0
    assert deal.thread.status == TS.ACCEPTED


def test_a_proposal_cannot_revive_an_inquiry_past_its_seven_days(api: Client) -> None:
    """Expiry is a deadline, not a sweep: an inquiry past its 7 days is over even while the
    sweeper (every 10 minutes) has not yet marked it, as accept already holds."""
    deal = open_deal(api)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1), tick=False):
        assert_error(propose(api, deal), 410, "thread_expired")
    assert not Proposal.objects.exists()
    assert deal.thread.status == TS.INQUIRY
    assert threads.threads_expire_due(timezone.now() + timedelta(days=7, minutes=1)) == 1


def test_a_new_proposal_cannot_revive_a_lapsed_one(api: Client) -> None:
    deal = negotiated(api)
    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1), tick=False):
        assert_error(propose(api, deal, "20"), 410, "thread_expired")
    assert Proposal.objects.get(thread=deal.thread).status == Proposal.Status.OPEN


# --- update, verify, dispute, decline through the thread --------------------------------
def test_the_provider_reports_progress_through_the_thread(api: Client) -> None:
    deal = accepted(api)
    response = update(api, deal, "in_progress", notes="started")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["job_status"]) == (
        TS.IN_PROGRESS,
        JS.IN_PROGRESS,
    )
    job = deal.job
    assert (job.status, job.notes) == (JS.IN_PROGRESS, "started")


def test_an_automated_completion_releases_the_escrow_to_the_provider(api: Client) -> None:
    deal = accepted(api)
    response = update(api, deal, "completed", deliverables={"pdf": "https://x/y.pdf"})
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["job_status"]) == (TS.VERIFIED, JS.RELEASED)
    job = deal.job
    assert job.escrow is not None and job.escrow.status == Escrow.Status.RELEASED
    assert job.deliverables == {"pdf": "https://x/y.pdf"}
    assert balance_of(provider_account(deal.seller.participant)) == PRICE
    assert ledger_problems() == []


def test_a_failed_job_refunds_the_buyer_and_cancels_the_thread(api: Client) -> None:
    deal = accepted(api)
    before = deal.buyer.balance
    response = update(api, deal, "failed", notes="cannot do it")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["job_status"]) == (TS.CANCELLED, JS.REFUNDED)
    assert deal.buyer.balance == before + TOTAL
    assert ledger_problems() == []


def test_the_buyer_verifies_and_the_escrow_is_released_to_the_provider(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = accepted_human(api)
    participant_update(participant=deal.seller.participant, webhook_url=provider_server.url)
    assert update(api, deal, "completed", deliverables={"a": 1}).status_code == 200
    assert balance_of(provider_account(deal.seller.participant)) == 0
    before = deal.buyer.balance
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, deal.path("/verify"), **deal.buyer.by_key)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["job_status"]) == (TS.VERIFIED, JS.RELEASED)
    assert balance_of(provider_account(deal.seller.participant)) == PRICE
    assert deal.buyer.balance == before  # free with an API key
    job = deal.job
    assert job.escrow is not None and job.escrow.status == Escrow.Status.RELEASED
    assert job.verified_at is not None
    assert [e["type"] for e in events(provider_server)] == ["job_verified"]
    assert ledger_problems() == []


def test_verifying_from_the_balance_costs_a_thousandth(api: Client) -> None:
    deal = accepted_human(api)
    update(api, deal, "completed", deliverables={"a": 1})
    before = deal.buyer.balance
    response = post(api, deal.path("/verify"), **deal.buyer.by_balance)
    assert response.status_code == 200, response.content
    assert deal.buyer.balance == before - READ
    assert balance_of(provider_account(deal.seller.participant)) == PRICE
    assert ledger_problems() == []


def test_a_second_verify_is_409_and_releases_nothing_more(api: Client) -> None:
    deal = accepted_human(api)
    update(api, deal, "completed", deliverables={"a": 1})
    assert post(api, deal.path("/verify"), **deal.buyer.by_key).status_code == 200
    assert_error(post(api, deal.path("/verify"), **deal.buyer.by_key), 409)
    assert balance_of(provider_account(deal.seller.participant)) == PRICE
    assert ledger_problems() == []


def test_a_dispute_posts_its_reason_to_the_thread_and_keeps_the_escrow(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = accepted_human(api)
    participant_update(participant=deal.seller.participant, webhook_url=provider_server.url)
    update(api, deal, "completed", deliverables={"a": 1})
    before = deal.buyer.balance
    reason = "The report covers the wrong city entirely."
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, deal.path("/dispute"), {"reason": reason}, **deal.buyer.by_balance)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["job_status"]) == (TS.DISPUTED, JS.DISPUTED)
    assert [(m["kind"], m["sender"], m["message"]) for m in body["messages"]][-1] == (
        "dispute",
        "buyer",
        reason,
    )
    job = deal.job
    assert (job.dispute_reason, job.escrow.status) == (reason, Escrow.Status.HELD)  # type: ignore[union-attr]
    assert deal.buyer.balance == before - DISPUTE
    [event] = events(provider_server)
    assert (event["type"], event["reason"], event["thread_id"]) == (
        "job_disputed",
        reason,
        deal.thread_id,
    )
    assert ledger_problems() == []


@pytest.mark.parametrize("reason", ["too short", "x" * 2001, "          "])
def test_a_dispute_reason_of_bad_length_is_400_and_free(api: Client, reason: str) -> None:
    deal = accepted(api)
    before = deal.buyer.balance
    response = post(api, deal.path("/dispute"), {"reason": reason}, **deal.buyer.by_balance)
    assert_error(response, 400)
    assert deal.buyer.balance == before
    assert deal.job.status == JS.DISPATCHED


def test_a_dispute_costs_five_thousandths_by_x402_without_a_key(api: Client, chain: Any) -> None:
    deal = accepted(api)
    challenge = post(api, deal.path("/dispute"), {"reason": "Nothing was delivered."})
    assert challenge.status_code == 402
    assert challenge.json()["accepts"][0]["maxAmountRequired"] == str(DISPUTE)


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_a_decline_before_the_work_refunds_and_cancels(api: Client, who: str) -> None:
    deal = negotiated(api)
    before_accept = deal.buyer.balance
    assert accept(api, deal).status_code == 201
    party = deal.buyer if who == "buyer" else deal.seller
    response = post(api, deal.path("/decline"), {"reason": "changed plans"}, **party.by_key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["job_status"]) == (TS.CANCELLED, JS.CANCELLED)
    assert deal.buyer.balance == before_accept
    job = deal.job
    assert job.escrow is not None and job.escrow.status == Escrow.Status.REFUNDED
    role = "buyer" if who == "buyer" else "provider"
    assert body["messages"][-1]["kind"] == "status"
    assert body["messages"][-1]["message"] == f"declined by the {role}: changed plans"
    assert ledger_problems() == []


def test_the_provider_hears_when_the_buyer_declines_a_paid_thread(
    api: Client, provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    deal = negotiated(api, webhook_url=provider_server.url)
    assert accept(api, deal).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, deal.path("/decline"), {"reason": "found it"}, **deal.buyer.by_key)
    assert response.status_code == 200
    declined = [e for e in events(provider_server) if e["type"] == "thread_declined"]
    assert [(e["thread_id"], e["job_id"], e["reason"]) for e in declined] == [
        (deal.thread_id, deal.job.public_id, "found it")
    ]


def test_a_decline_during_negotiation_cancels_and_withdraws_the_proposal(api: Client) -> None:
    deal = negotiated(api)
    response = post(api, deal.path("/decline"), {}, **deal.seller.by_key)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["job_id"]) == (TS.CANCELLED, None)
    assert Proposal.objects.get(thread=deal.thread).status == Proposal.Status.WITHDRAWN
    assert deal.thread.expires_at is None
    assert_error(accept(api, deal), 409)


def test_a_decline_after_the_work_started_is_409_and_keeps_the_escrow(api: Client) -> None:
    deal = accepted(api)
    assert update(api, deal, "in_progress").status_code == 200
    before = deal.buyer.balance
    for party in (deal.buyer, deal.seller):
        assert_error(post(api, deal.path("/decline"), {}, **party.by_key), 409)
    job = deal.job
    assert (job.status, deal.thread.status) == (JS.IN_PROGRESS, TS.IN_PROGRESS)
    assert job.escrow is not None and job.escrow.status == Escrow.Status.HELD
    assert deal.buyer.balance == before
    assert ledger_problems() == []


def test_a_declined_thread_cannot_be_declined_again(api: Client) -> None:
    deal = accepted(api)
    assert post(api, deal.path("/decline"), {}, **deal.buyer.by_key).status_code == 200
    after = deal.buyer.balance
    assert_error(post(api, deal.path("/decline"), {}, **deal.seller.by_key), 409)
    assert deal.buyer.balance == after
    assert ledger_problems() == []


def test_an_update_before_acceptance_is_409_no_job(api: Client) -> None:
    deal = negotiated(api)
    assert_error(update(api, deal, "in_progress"), 409, "no_job")
    assert_error(post(api, deal.path("/verify"), **deal.buyer.by_key), 409, "no_job")


# --- who may do what --------------------------------------------------------------------
@pytest.fixture
def busy_deal(api: Client) -> Deal:
    """An accepted human-service deal with a credential and a file on it."""
    deal = accepted_human(api)
    send_credential(api, deal, "root:TOPSECRET")
    upload(api, deal, deal.seller, b"the deliverable")
    return deal


def attachment_id(deal: Deal) -> str:
    return ThreadMessage.objects.get(
        thread__public_id=deal.thread_id, kind=ThreadMessage.Kind.ATTACHMENT
    ).public_id


STRANGER_ACTIONS = [
    ("read", "get", "", None, "key"),
    ("message", "post", "/messages", {"message": "let me in"}, "key"),
    ("credential", "post", "/messages", {"type": "credential", "message": "x"}, "key"),
    ("verify", "post", "/verify", None, "key"),
    ("verify_paid", "post", "/verify", None, "balance"),
    ("dispute", "post", "/dispute", {"reason": "I do not like this at all."}, "balance"),
    ("decline", "post", "/decline", {"reason": "no"}, "key"),
    ("attachment", "get", "/messages/{attachment}/attachment", None, "key"),
    ("update", "post", "/update", {"status": "in_progress"}, "key"),
    ("propose", "post", "/propose", {"price": "1"}, "key"),
]


@pytest.mark.parametrize(
    ("method", "suffix", "body", "auth"),
    [action[1:] for action in STRANGER_ACTIONS],
    ids=[action[0] for action in STRANGER_ACTIONS],
)
def test_another_agent_can_do_nothing_on_a_thread(
    api: Client, busy_deal: Deal, method: str, suffix: str, body: Any, auth: str
) -> None:
    stranger = agent()
    headers = stranger.by_key if auth == "key" else stranger.by_balance
    path = busy_deal.path(suffix.format(attachment=attachment_id(busy_deal)))
    messages = ThreadMessage.objects.count()
    if method == "get":
        response = api.get(path, **headers)
    else:
        response = post(api, path, body, **headers)
    assert_error(response, 403, "forbidden")
    assert b"TOPSECRET" not in response.content and b"the deliverable" not in response.content
    assert stranger.balance == START
    assert ThreadMessage.objects.count() == messages
    assert (busy_deal.thread.status, busy_deal.job.status) == (TS.ACCEPTED, JS.DISPATCHED)


def test_another_agent_cannot_accept_and_is_not_charged(api: Client) -> None:
    deal = negotiated(api)
    stranger = agent()
    assert_error(post(api, deal.path("/accept"), **stranger.by_balance), 403, "forbidden")
    assert stranger.balance == START
    assert deal.thread.status == TS.NEGOTIATING
    assert not Job.objects.exists()


def test_the_provider_cannot_accept_its_own_proposal(api: Client) -> None:
    deal = negotiated(api)
    deposit(deal.seller.participant, 100 * ONE)
    assert_error(post(api, deal.path("/accept"), **deal.seller.by_balance), 403, "forbidden")
    assert not Job.objects.exists()


def test_another_agent_cannot_read_the_threads_job(api: Client, busy_deal: Deal) -> None:
    stranger = agent()
    path = f"/v1/jobs/{busy_deal.job.public_id}"
    assert_error(api.get(path, **stranger.by_key), 403, "forbidden")
    assert api.get(path, **busy_deal.buyer.by_key).status_code == 200


def test_another_provider_cannot_update_the_job_or_the_thread(api: Client, busy_deal: Deal) -> None:
    rival = provider()
    quoted_service(rival)
    body = {"status": "in_progress"}
    assert_error(post(api, busy_deal.path("/update"), body, **rival.by_key), 403, "forbidden")
    assert_error(
        post(api, f"/v1/jobs/{busy_deal.job.public_id}/update", body, **rival.by_key),
        403,
        "forbidden",
    )
    assert_error(post(api, busy_deal.path("/propose"), {"price": "1"}, **rival.by_key), 403)
    assert busy_deal.job.status == JS.DISPATCHED


def test_the_buyer_cannot_propose_or_update(api: Client) -> None:
    deal = open_deal(api)
    assert_error(
        post(api, deal.path("/propose"), {"price": "1"}, **deal.buyer.by_key), 403, "forbidden"
    )
    assert not Proposal.objects.exists()
    accepted_deal = accepted(api)
    response = post(
        api, accepted_deal.path("/update"), {"status": "in_progress"}, **accepted_deal.buyer.by_key
    )
    assert_error(response, 403, "forbidden")
    assert accepted_deal.job.status == JS.DISPATCHED


def test_the_provider_cannot_verify_or_dispute(api: Client) -> None:
    deal = accepted_human(api)
    update(api, deal, "completed", deliverables={"a": 1})
    deposit(deal.seller.participant, ONE)
    assert_error(post(api, deal.path("/verify"), **deal.seller.by_key), 403, "forbidden")
    response = post(
        api, deal.path("/dispute"), {"reason": "I dispute my own work."}, **deal.seller.by_balance
    )
    assert_error(response, 403, "forbidden")
    assert balance_of(agent_account(deal.seller.participant)) == ONE
    assert deal.job.status == JS.COMPLETED


@pytest.mark.parametrize("thread_id", [UNKNOWN_THREAD, "nonsense", "job_0000000000000000"])
@pytest.mark.parametrize(
    ("method", "suffix", "body", "auth"),
    [
        ("get", "", None, "key"),
        ("post", "/messages", {"message": "hi"}, "key"),
        ("get", "/messages/msg_0000000000000000/attachment", None, "key"),
        ("post", "/propose", {"price": "1"}, "key"),
        ("post", "/accept", None, "balance"),
        ("post", "/update", {"status": "in_progress"}, "key"),
        ("post", "/verify", None, "key"),
        ("post", "/dispute", {"reason": "Nothing arrived at all."}, "balance"),
        ("post", "/decline", {}, "key"),
    ],
)
def test_an_unknown_thread_is_404(
    api: Client, thread_id: str, method: str, suffix: str, body: Any, auth: str
) -> None:
    caller = agent()
    headers = caller.by_key if auth == "key" else caller.by_balance
    path = f"/v1/threads/{thread_id}{suffix}"
    response = api.get(path, **headers) if method == "get" else post(api, path, body, **headers)
    assert_error(response, 404, "thread_not_found")
    assert caller.balance == START


@pytest.mark.parametrize(
    ("suffix", "who", "body"),
    [
        ("/messages", "buyer", {}),
        ("/messages", "buyer", {"message": ""}),
        ("/messages", "buyer", {"message": ["a", "b"]}),
        ("/messages", "buyer", {"message": "x" * 10_001}),
        ("/messages", "buyer", {"message": "x", "type": "telegram"}),
        ("/messages", "buyer", {"type": "credential"}),
        ("/messages", "buyer", []),
        ("/messages", "buyer", "just a string"),
        ("/propose", "seller", {}),
        ("/propose", "seller", {"price": "1", "message": "x" * 5001}),
        ("/propose", "seller", {"price": {"fixed": "abc"}}),
        ("/propose", "seller", {"price": {"nope": "1"}}),
        ("/decline", "buyer", {"reason": "x" * 2001}),
    ],
)
def test_bad_input_is_a_json_400(api: Client, suffix: str, who: str, body: Any) -> None:
    deal = open_deal(api)
    party = deal.buyer if who == "buyer" else deal.seller
    assert_error(post(api, deal.path(suffix), body, **party.by_key), 400)
    assert deal.thread.status == TS.INQUIRY
    assert deal.thread.messages.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "verified"},
        {"status": "completed"},
        {"status": "completed", "deliverables": [1, 2]},
        {"status": "in_progress", "notes": "x" * 5001},
    ],
)
def test_a_bad_update_through_the_thread_is_a_json_400(api: Client, body: Any) -> None:
    deal = accepted(api)
    assert_error(post(api, deal.path("/update"), body, **deal.seller.by_key), 400)
    assert deal.job.status == JS.DISPATCHED


@pytest.mark.parametrize(
    ("suffix", "auth"),
    [
        ("/messages", "key"),
        ("/propose", "key"),
        ("/update", "key"),
        ("/decline", "key"),
        ("/dispute", "balance"),
    ],
)
def test_malformed_json_is_a_json_400(api: Client, suffix: str, auth: str) -> None:
    deal = accepted(api)
    party = deal.seller if suffix in ("/propose", "/update") else deal.buyer
    headers = party.by_key if auth == "key" else party.by_balance
    before = deal.buyer.balance
    response = api.post(deal.path(suffix), "{not json", content_type="application/json", **headers)
    assert_error(response, 400)
    assert deal.buyer.balance == before


@pytest.mark.parametrize(
    "body", [{}, {"brief": [1, 2]}, {"message": "x" * 10_001}, {"message": ["a"]}, "text"]
)
def test_a_bad_inquiry_is_a_json_400_and_free(api: Client, body: Any) -> None:
    service = quoted_service(provider())
    buyer = agent()
    assert_error(inquire(api, service, buyer, body), 400)
    assert buyer.balance == START
    assert not Thread.objects.exists()
