"""Helpers of the threads API tests: parties, services, a deal at each stage, checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from marketplace.deals import agreements, selectors
from marketplace.models import (
    Job,
    PricingModel,
    Service,
    ServiceType,
    Thread,
)
from payments.chain.escrow_state import unallocated
from payments.charges import Paid
from payments.ledger import (
    agent_account,
    balance_of,
)
from payments.models import Participant
from payments.reconcile import reconcile
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.provider_server import Provider

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
    proposal = selectors.open_proposal(thread)
    assert proposal is not None
    with transaction.atomic():
        agreements.accept_perform(
            thread=thread,
            proposal=proposal,
            paid=Paid("balance", deal.buyer.participant, proposal.total_micros),
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


def send_credential(api: Client, deal: Deal, text: str = "user=ops pass=s3cret!") -> Any:
    return post(
        api, deal.path("/messages"), {"type": "credential", "message": text}, **deal.buyer.by_key
    )


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
