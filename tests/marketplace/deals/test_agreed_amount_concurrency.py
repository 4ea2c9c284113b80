"""The swap attacks of issue 14 raced: a provider re-proposing, or raising its price, while
the buyer pays from its balance. Whichever lands first, the buyer is charged at most the
amount it saw, or nothing.

Each test runs its race in rounds, the buyer's request released a little later each round
(0 to 80 ms after the provider's), so both orders happen: the provider's change landing
first, and the two overlapping. On PostgreSQL (CI) the thread's row lock is what is tested; SQLite
serialises the writers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from marketplace.deals.threads import proposal_make, thread_open
from marketplace.models import Job, PricingModel, Proposal, ServiceType, Thread
from payments.ledger import agent_account, balance_of
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, ServiceFactory, deposit

pytestmark = pytest.mark.django_db(transaction=True)

ONE = 1_000_000
START = 1_000 * ONE
DELAYS = (0.0, 0.0, 0.005, 0.01, 0.02, 0.04, 0.08)  # the buyer's head start given away


def request(method: str, path: str, body: Any = None, **headers: str) -> Any:
    """One request on its own client and database connection (as a server thread would)."""
    client = Client(HTTP_HOST="127.0.0.1")
    try:
        send = getattr(client, method)
        if method == "get":
            return send(path, **headers)
        return send(path, json.dumps(body or {}), content_type="application/json", **headers)
    finally:
        connection.close()


def race(provider: Callable[[], Any], buyer: Callable[[], Any], delay: float) -> tuple[Any, Any]:
    """The provider's and the buyer's requests released together, the buyer's `delay`
    seconds later; their responses."""
    barrier = threading.Barrier(2)

    def run(call: Callable[[], Any], wait: float) -> Any:
        barrier.wait(timeout=30)
        time.sleep(wait)
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(run, provider, 0.0)
        second = pool.submit(run, buyer, delay)
        return first.result(), second.result()


def agent() -> tuple[Participant, str]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, START)
    return buyer, api_key_issue(participant=buyer)


def test_a_re_proposal_racing_an_accept_never_charges_more_than_the_buyer_saw() -> None:
    for delay in DELAYS:
        re_proposal_round(delay)


def re_proposal_round(delay: float) -> None:
    buyer, key = agent()
    service = ServiceFactory(
        service_type=ServiceType.AUTOMATED_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=ONE,
        price_max_micros=500 * ONE,
    )
    thread = thread_open(service=service, buyer=buyer, brief=None, message="3 pages?")
    seen = proposal_make(thread=thread, provider=service.provider, price_micros=2 * ONE)
    base = f"/v1/threads/{thread.public_id}"
    read = request("get", base, HTTP_X_API_KEY=key)
    assert read.json()["proposal"]["proposal_id"] == seen.public_id
    seller_key = api_key_issue(participant=service.provider)

    repropose, accept = race(
        lambda: request("post", f"{base}/propose", {"price": "450"}, HTTP_X_API_KEY=seller_key),
        lambda: request("post", f"{base}/accept", HTTP_X_BALANCE_AUTH=key),
        delay,
    )
    charged = START - balance_of(agent_account(buyer))
    job = Job.objects.select_related("escrow").filter(thread=thread).first()
    if accept.status_code == 201:  # the proposal it saw, accepted before the new one
        assert repropose.status_code == 409, repropose.content
        assert charged == seen.total_micros
        assert job is not None and job.escrow is not None
        assert job.escrow.total == seen.total_micros
        assert Proposal.objects.get(pk=seen.pk).status == Proposal.Status.ACCEPTED
    else:  # the new proposal landed first: refused, with its terms, nothing charged
        assert (accept.status_code, accept.json()["code"]) == (409, "proposal_changed")
        assert repropose.status_code == 201, repropose.content
        assert accept.json()["agent_total_usd"] == 472.5
        assert charged == 0
        assert job is None and not Escrow.objects.filter(payer=buyer).exists()
        assert Thread.objects.get(pk=thread.pk).status == Thread.Status.NEGOTIATING
    assert ledger_problems() == []


def test_a_price_raise_racing_a_balance_purchase_never_charges_the_new_price() -> None:
    for delay in DELAYS:
        price_raise_round(delay)


def price_raise_round(delay: float) -> None:
    buyer, key = agent()
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE, price_micros=ONE)
    seller_key = api_key_issue(participant=service.provider)
    path = f"/v1/services/{service.public_id}"

    raise_, purchase = race(
        lambda: request("put", path, {"price": "40"}, HTTP_X_API_KEY=seller_key),
        lambda: request("post", f"{path}/purchase", {"q": 1}, HTTP_X_BALANCE_AUTH=key),
        delay,
    )
    assert raise_.status_code == 200, raise_.content
    charged = START - balance_of(agent_account(buyer))
    job = Job.objects.select_related("escrow").filter(buyer=buyer).first()
    if purchase.status_code == 201:  # bought at the price read before the raise
        assert charged == 1_050_000
        assert job is not None and job.escrow is not None and job.escrow.amount == ONE
    else:
        assert (purchase.status_code, purchase.json()["code"]) == (409, "price_changed")
        assert purchase.json()["agent_price"] == "42.00"
        assert charged == 0 and job is None
    assert ledger_problems() == []
