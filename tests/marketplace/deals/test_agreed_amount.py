"""A buyer is charged only an amount it agreed to (issue 14, item 1).

A balance payment signs no amount, so the platform binds it: an accept pays the proposal the
buyer names (`proposal_id`), or, without one, the open proposal only if the buyer read it
(`GET /v1/threads/:id`, or the quote, with its key) or it has stood for 10 minutes; a
purchase pays at most its `max_price` (query or `X-Max-Price`), and without one a price
changed in the last 15 minutes is refused. Proposals stay within the service's advertised
range. Refusals are 409s with the current terms, and nothing is charged (the ledger says
so). An x402 buyer signs the amount itself; `max_price` applies to it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from marketplace.models import Job, PricingModel, Proposal, Service, ServiceType, Thread
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import agent_account, balance_of, provider_account
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant, X402Payment
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db

ONE = 1_000_000
START = 1_000 * ONE  # each buyer's deposit
READ = 1_000  # what an inquiry costs
SEEN_PRICE, SEEN_TOTAL = "2.10", 2_205_000  # $2.10 + 5%
SWAP_PRICE, SWAP_TOTAL = "450", 472_500_000  # $450 + 5%


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1


# --- parties and requests ---------------------------------------------------------------
@dataclass
class Party:
    participant: Participant
    key: str

    @property
    def balance(self) -> int:
        return balance_of(agent_account(self.participant))


def party(kind: str = Participant.Type.AGENT, balance: int = START, **fields: Any) -> Party:
    participant = ParticipantFactory(type=kind, **fields)
    if balance:
        deposit(participant, balance)
    return Party(participant, api_key_issue(participant=participant))


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def assert_refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def nothing_charged(buyer: Party, start: int = START) -> None:
    assert buyer.balance == start
    assert not Job.objects.filter(buyer=buyer.participant).exists()
    assert not Escrow.objects.filter(payer=buyer.participant).exists()
    assert ledger_problems() == []


# --- threads and proposals --------------------------------------------------------------
@dataclass
class Deal:
    buyer: Party
    seller: Party
    thread_id: str
    quote_id: str | None = None

    def path(self, suffix: str = "") -> str:
        return f"/v1/threads/{self.thread_id}{suffix}"

    def propose(self, api: Client, price: str) -> str:
        response = post(
            api, self.path("/propose"), {"price": price}, HTTP_X_API_KEY=self.seller.key
        )
        assert response.status_code == 201, response.content
        proposal_id: str = response.json()["proposal_id"]
        return proposal_id

    def read(self, api: Client, who: Party | None = None) -> dict[str, Any]:
        response = api.get(self.path(), HTTP_X_API_KEY=(who or self.buyer).key)
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        return body

    def accept(self, api: Client, body: Any = None) -> Any:
        return post(api, self.path("/accept"), body, HTTP_X_BALANCE_AUTH=self.buyer.key)


def quoted_service(seller: Party, service_type: str = ServiceType.AUTOMATED_SERVICE) -> Service:
    return ServiceFactory(
        provider=seller.participant,
        service_type=service_type,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=ONE,
        price_max_micros=500 * ONE,
    )


def open_deal(api: Client, *, quote: bool = False, buyer: Party | None = None) -> Deal:
    seller = party(Participant.Type.PROVIDER, balance=0)
    buyer = buyer or party()
    service = quoted_service(seller)
    path = f"/v1/services/{service.public_id}/{'quote' if quote else 'inquire'}"
    body = {"pages": 3} if quote else {"message": "Can you do 3 pages?"}
    response = post(api, path, body, HTTP_X_BALANCE_AUTH=buyer.key)
    assert response.status_code == 201, response.content
    deposit(buyer.participant, READ)  # the inquiry's cost back: START again
    return Deal(buyer, seller, response.json()["thread_id"], response.json().get("quote_id"))


def test_a_re_proposal_after_the_buyers_read_is_refused_and_charges_nothing(api: Client) -> None:
    deal = open_deal(api)
    deal.propose(api, SEEN_PRICE)
    assert deal.read(api)["proposal"]["agent_total_usd"] == 2.205
    swapped = deal.propose(api, SWAP_PRICE)  # after the buyer read $2.10
    body = assert_refused(deal.accept(api), 409, "proposal_changed")
    assert body["proposal_id"] == swapped
    assert (body["quoted_price_usd"], body["platform_fee_usd"], body["agent_total_usd"]) == (
        450,
        22.5,
        472.5,
    )
    nothing_charged(deal.buyer)
    assert Thread.objects.get(public_id=deal.thread_id).status == Thread.Status.NEGOTIATING


def test_a_re_proposal_after_the_buyer_read_the_quote_is_refused_on_the_quote_api(
    api: Client,
) -> None:
    deal = open_deal(api, quote=True)
    deal.propose(api, SEEN_PRICE)
    read = api.get(f"/v1/quotes/{deal.quote_id}", HTTP_X_API_KEY=deal.buyer.key)
    assert read.json()["agent_total_usd"] == 2.205
    swapped = deal.propose(api, SWAP_PRICE)
    response = post(api, f"/v1/quotes/{deal.quote_id}/accept", HTTP_X_BALANCE_AUTH=deal.buyer.key)
    assert assert_refused(response, 409, "proposal_changed")["proposal_id"] == swapped
    nothing_charged(deal.buyer)


def test_reading_the_quote_with_the_buyers_key_lets_it_accept_without_proposal_id(
    api: Client,
) -> None:
    deal = open_deal(api, quote=True)
    deal.propose(api, SEEN_PRICE)
    accept_path = f"/v1/quotes/{deal.quote_id}/accept"
    api.get(f"/v1/quotes/{deal.quote_id}")  # anonymous: records nothing
    unread = post(api, accept_path, HTTP_X_BALANCE_AUTH=deal.buyer.key)
    assert_refused(unread, 409, "proposal_changed")
    api.get(f"/v1/quotes/{deal.quote_id}", HTTP_X_API_KEY=deal.buyer.key)
    response = post(api, accept_path, HTTP_X_BALANCE_AUTH=deal.buyer.key)
    assert response.status_code == 201, response.content
    assert deal.buyer.balance == START - SEEN_TOTAL


def test_accept_with_proposal_id_pays_that_proposal_unread(api: Client) -> None:
    deal = open_deal(api)
    proposal_id = deal.propose(api, SEEN_PRICE)
    assert_refused(deal.accept(api), 409, "proposal_changed")  # unread, no proposal_id
    response = deal.accept(api, {"proposal_id": proposal_id})
    assert response.status_code == 201, response.content
    job = Job.objects.select_related("escrow").get(public_id=response.json()["job_id"])
    assert job.escrow is not None and job.escrow.total == SEEN_TOTAL
    assert deal.buyer.balance == START - SEEN_TOTAL
    assert Proposal.objects.get(public_id=proposal_id).status == Proposal.Status.ACCEPTED
    assert ledger_problems() == []


def test_a_proposal_id_that_is_not_the_open_one_is_refused_with_the_open_terms(
    api: Client,
) -> None:
    deal = open_deal(api)
    seen = deal.propose(api, SEEN_PRICE)
    deal.read(api)
    swapped = deal.propose(api, SWAP_PRICE)
    body = assert_refused(deal.accept(api, {"proposal_id": seen}), 409, "proposal_changed")
    assert (body["proposal_id"], body["agent_total_usd"]) == (swapped, 472.5)
    nothing_charged(deal.buyer)


def test_accept_without_proposal_id_after_reading_pays_the_proposal_read(api: Client) -> None:
    deal = open_deal(api)
    deal.propose(api, SEEN_PRICE)
    assert_refused(deal.accept(api), 409, "proposal_changed")  # not read yet
    deal.read(api)
    response = deal.accept(api)
    assert response.status_code == 201, response.content
    assert deal.buyer.balance == START - SEEN_TOTAL
    assert ledger_problems() == []


def test_the_providers_read_does_not_count_as_the_buyers(api: Client) -> None:
    deal = open_deal(api)
    deal.propose(api, SEEN_PRICE)
    deal.read(api, who=deal.seller)
    assert_refused(deal.accept(api), 409, "proposal_changed")
    nothing_charged(deal.buyer)


def test_an_unread_proposal_is_paid_once_it_is_ten_minutes_old(api: Client) -> None:
    deal = open_deal(api)
    deal.propose(api, SEEN_PRICE)
    proposed = timezone.now()
    with time_machine.travel(proposed + timedelta(minutes=9)):
        assert_refused(deal.accept(api), 409, "proposal_changed")
    assert deal.buyer.balance == START
    with time_machine.travel(proposed + timedelta(minutes=11)):
        response = deal.accept(api)
    assert response.status_code == 201, response.content
    assert deal.buyer.balance == START - SEEN_TOTAL
    assert ledger_problems() == []


def test_a_malformed_proposal_id_is_a_400_and_charges_nothing(api: Client) -> None:
    deal = open_deal(api)
    deal.propose(api, SEEN_PRICE)
    deal.read(api)
    assert_refused(deal.accept(api, {"proposal_id": ["prp_x"]}), 400, "invalid_request")
    nothing_charged(deal.buyer)


@pytest.mark.parametrize(("outside", "end"), [("0.99", "1"), ("500.01", "500"), ("10000", "500")])
def test_a_proposal_outside_the_advertised_range_is_a_400_naming_it(
    api: Client, outside: str, end: str
) -> None:
    deal = open_deal(api)
    response = post(api, deal.path("/propose"), {"price": outside}, HTTP_X_API_KEY=deal.seller.key)
    body = assert_refused(response, 400, "price_out_of_range")
    assert "1.00 to 500.00" in body["error"]
    assert not Proposal.objects.filter(thread__public_id=deal.thread_id).exists()
    deal.propose(api, end)  # the range's own ends are within it


def test_an_x402_accept_naming_a_superseded_proposal_moves_no_usdc(
    api: Client, chain: Any, funded_payer: Callable[..., Any], snapshot: None
) -> None:
    payer = funded_payer(600 * ONE)
    deal = open_deal(api, buyer=party(wallet=payer.address))
    seen = deal.propose(api, SEEN_PRICE)
    deal.propose(api, SWAP_PRICE)
    challenge = post(api, deal.path("/accept"))
    header, value = payment_header(challenge, payer, version=2)  # signs $472.50
    response = post(api, deal.path("/accept"), {"proposal_id": seen}, **{header: value})
    assert_refused(response, 409, "proposal_changed")
    assert chain_balance(token=chain.usdc, address=payer.address) == 600 * ONE
    assert not X402Payment.objects.exists()
    assert not Job.objects.exists()


# --- purchases --------------------------------------------------------------------------
PRICE, AGENT_PRICE = ONE, 1_050_000  # $1.00, $1.05 to the agent
RAISED, RAISED_AGENT = "40", 42_000_000  # $40.00, $42.00 to the agent


@dataclass
class Listing:
    service: Service
    seller: Party

    @property
    def path(self) -> str:
        return f"/v1/services/{self.service.public_id}/purchase"

    def change(self, api: Client, **fields: Any) -> None:
        response = api.put(
            f"/v1/services/{self.service.public_id}",
            json.dumps(fields),
            content_type="application/json",
            HTTP_X_API_KEY=self.seller.key,
        )
        assert response.status_code == 200, response.content


def listing(provider_server: Provider, service_type: str) -> Listing:
    seller = party(Participant.Type.PROVIDER, balance=0)
    participant_update(participant=seller.participant, webhook_url=provider_server.url)
    service = ServiceFactory(
        provider=seller.participant, service_type=service_type, price_micros=PRICE
    )
    return Listing(service, seller)


def buy(api: Client, path: str, buyer: Party, **headers: str) -> Any:
    return post(api, path, {"city": "Faro"}, HTTP_X_BALANCE_AUTH=buyer.key, **headers)


BOTH_KINDS = pytest.mark.parametrize(
    "service_type", [ServiceType.DATA_API, ServiceType.AUTOMATED_SERVICE]
)


@BOTH_KINDS
def test_a_price_raised_just_before_a_balance_purchase_is_refused_and_charges_nothing(
    api: Client, provider_server: Provider, service_type: str
) -> None:
    shop, buyer = listing(provider_server, service_type), party()
    shop.change(api, price=RAISED)  # $1 -> $40 just before the purchase
    body = assert_refused(buy(api, shop.path, buyer), 409, "price_changed")
    assert (body["price"], body["agent_price"]) == ("40.00", "42.00")
    assert body["price_changed_at"] is not None
    nothing_charged(buyer)
    assert balance_of(provider_account(shop.seller.participant)) == 0
    assert provider_server.received == []  # a data API is not even called


def test_a_changed_price_is_bought_without_max_price_after_fifteen_minutes(
    api: Client, provider_server: Provider
) -> None:
    shop, buyer = listing(provider_server, ServiceType.AUTOMATED_SERVICE), party()
    shop.change(api, price=RAISED)
    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        assert_refused(buy(api, shop.path, buyer), 409, "price_changed")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = buy(api, shop.path, buyer)
    assert response.status_code == 201, response.content
    assert buyer.balance == START - RAISED_AGENT


@pytest.mark.parametrize("how", ["query", "header"])
def test_a_max_price_at_the_new_price_buys_right_after_a_change(
    api: Client, provider_server: Provider, how: str
) -> None:
    shop, buyer = listing(provider_server, ServiceType.AUTOMATED_SERVICE), party()
    shop.change(api, price=RAISED)
    assert_refused(buy(api, shop.path, buyer), 409, "price_changed")  # no max_price
    if how == "query":
        response = buy(api, f"{shop.path}?max_price=42", buyer)
    else:
        response = buy(api, shop.path, buyer, HTTP_X_MAX_PRICE="$42.00")
    assert response.status_code == 201, response.content
    assert buyer.balance == START - RAISED_AGENT
    assert ledger_problems() == []


@pytest.mark.parametrize("how", ["query", "header"])
def test_a_price_above_max_price_is_refused_with_the_current_price(
    api: Client, provider_server: Provider, how: str
) -> None:
    shop, buyer = listing(provider_server, ServiceType.DATA_API), party()  # never changed
    if how == "query":
        response = buy(api, f"{shop.path}?max_price=1.04", buyer)
    else:
        response = buy(api, shop.path, buyer, HTTP_X_MAX_PRICE="1.04")
    body = assert_refused(response, 409, "price_changed")
    assert (body["agent_price"], body["price_changed_at"]) == ("1.05", None)
    nothing_charged(buyer)
    assert provider_server.received == []


def test_the_lower_of_two_max_prices_applies(api: Client, provider_server: Provider) -> None:
    shop, buyer = listing(provider_server, ServiceType.AUTOMATED_SERVICE), party()
    response = buy(api, f"{shop.path}?max_price=5", buyer, HTTP_X_MAX_PRICE="1")
    assert_refused(response, 409, "price_changed")
    nothing_charged(buyer)


@pytest.mark.parametrize("value", ["abc", "-1", "1.0000001", ""])
def test_a_bad_max_price_is_a_400_and_charges_nothing(
    api: Client, provider_server: Provider, value: str
) -> None:
    shop, buyer = listing(provider_server, ServiceType.AUTOMATED_SERVICE), party()
    response = buy(api, shop.path, buyer, HTTP_X_MAX_PRICE=value)
    assert_refused(response, 400, "invalid_max_price")
    nothing_charged(buyer)


def test_a_change_other_than_the_price_does_not_hold_purchases(
    api: Client, provider_server: Provider
) -> None:
    shop, buyer = listing(provider_server, ServiceType.AUTOMATED_SERVICE), party()
    shop.change(api, name="A new name", description="Another description")
    shop.change(api, price="1.00")  # the same price again: not a change
    shop.service.refresh_from_db()
    assert shop.service.price_changed_at is None
    response = buy(api, shop.path, buyer)
    assert response.status_code == 201, response.content
    assert buyer.balance == START - AGENT_PRICE


def test_an_x402_purchase_is_bound_by_its_max_price_and_then_by_what_it_signed(
    api: Client,
    chain: Any,
    funded_payer: Callable[..., Any],
    provider_server: Provider,
    django_capture_on_commit_callbacks: Any,
    snapshot: None,
) -> None:
    """max_price applies to x402 too; the 15-minute rule does not: the buyer signed the
    new price itself."""
    shop = listing(provider_server, ServiceType.AUTOMATED_SERVICE)
    shop.change(api, price=RAISED)
    payer = funded_payer(50 * ONE)
    challenge = post(api, shop.path, {})
    assert challenge.json()["accepts"][0]["maxAmountRequired"] == str(RAISED_AGENT)
    header, value = payment_header(challenge, payer, version=1)  # signs $42
    capped = post(api, f"{shop.path}?max_price=1.05", {}, **{header: value})
    assert assert_refused(capped, 409, "price_changed")["agent_price"] == "42.00"
    assert chain_balance(token=chain.usdc, address=payer.address) == 50 * ONE
    assert not X402Payment.objects.exists() and not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the escrow's funding call
        response = post(api, shop.path, {}, **{header: value})  # the same authorization
    assert response.status_code == 201, response.content
    assert chain_balance(token=chain.usdc, address=payer.address) == 50 * ONE - RAISED_AGENT
    assert ledger_problems() == []
