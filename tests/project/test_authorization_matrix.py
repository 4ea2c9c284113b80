"""Who may act on what: every route that names another party's object, called by a
stranger (a funded agent that is also a provider) and by the wrong party of the deal.

Each call is refused with 403 or 404 and the JSON error, the caller pays nothing (even
with a prepaid balance offered), and the object is exactly as it was. The behaviour of the
right party is tested with each feature; this file is the one place that walks them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.models import Job, PricingModel, Proposal, Service, ServiceType, Thread
from payments.ledger import agent_account, balance_of
from payments.models import Participant
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, ServiceFactory, deposit

pytestmark = pytest.mark.django_db

FUNDS = 100_000_000


@dataclass
class Party:
    participant: Participant
    key: str

    @property
    def headers(self) -> dict[str, str]:
        # Both ways of authenticating: a free route takes the key, a paid one the balance.
        return {"HTTP_X_API_KEY": self.key, "HTTP_X_BALANCE_AUTH": self.key}

    @property
    def balance(self) -> int:
        return balance_of(agent_account(self.participant))


def party(kind: str) -> Party:
    participant = ParticipantFactory(type=kind)
    deposit(participant, FUNDS)
    return Party(participant, api_key_issue(participant=participant))


def send(api: Client, method: str, path: str, body: Any, who: Party) -> Any:
    if method == "get":
        return api.get(path, **who.headers)
    if method == "delete":
        return api.delete(path, **who.headers)
    return getattr(api, method)(
        path, json.dumps(body), content_type="application/json", **who.headers
    )


@dataclass
class World:
    buyer: Party
    seller: Party
    stranger: Party
    service: Service  # the seller's fixed-price service
    negotiating: Thread  # an open proposal from the seller
    busy: Thread  # accepted: its job is dispatched
    quote: Thread  # a legacy quote with a proposal
    attachment_id: str  # a message with a file, on `negotiating`

    @property
    def job(self) -> Job:
        return Job.objects.get(thread=self.busy)

    def state(self) -> dict[str, Any]:
        """Everything a refused call must leave as it was."""
        threads = Thread.objects.order_by("pk")
        return {
            "threads": list(threads.values_list("public_id", "status")),
            "messages": [t.messages.count() for t in threads],
            "proposals": list(Proposal.objects.order_by("pk").values_list("pk", "price_micros")),
            "jobs": list(Job.objects.order_by("pk").values_list("public_id", "status")),
            "services": list(
                Service.objects.order_by("pk").values_list("public_id", "name", "status")
            ),
            "participants": list(Participant.objects.order_by("pk").values_list("name", "type")),
            "balances": [p.balance for p in (self.buyer, self.seller, self.stranger)],
        }


def _post(api: Client, path: str, body: Any, who: Party) -> dict[str, Any]:
    response = send(api, "post", path, body, who)
    assert response.status_code in (200, 201), (path, response.content)
    return response.json()


@pytest.fixture
def world(api: Client, settings: Any) -> World:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    buyer, seller, stranger = party("agent"), party("provider"), party("both")
    ServiceFactory(provider=stranger.participant)  # the stranger is a provider too
    quoted = ServiceFactory(
        provider=seller.participant,
        service_type=ServiceType.AUTOMATED_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=1_000_000,
        price_max_micros=50_000_000,
    )
    fixed = ServiceFactory(provider=seller.participant)

    def proposed(opening: str) -> Thread:
        body = _post(api, f"/v1/services/{quoted.public_id}/{opening}", {"brief": "x"}, buyer)
        thread = Thread.objects.get(public_id=body["thread_id"])
        _post(api, f"/v1/threads/{thread.public_id}/propose", {"price": "5"}, seller)
        return thread

    negotiating, busy, quote = proposed("inquire"), proposed("inquire"), proposed("quote")
    agreed = {"proposal_id": busy.proposals.get().public_id}  # the proposal the buyer pays
    _post(api, f"/v1/threads/{busy.public_id}/accept", agreed, buyer)
    upload = api.post(
        f"/v1/threads/{negotiating.public_id}/messages",
        {"message": "the spec", "file": SimpleUploadedFile("spec.txt", b"pages: 3")},
        **seller.headers,
    )
    assert upload.status_code == 201, upload.content
    return World(
        buyer,
        seller,
        stranger,
        fixed,
        negotiating,
        busy,
        quote,
        upload.json()["message_id"],
    )


# (method, path, body) for one world; a path names the object the call is about.
Route = Callable[[World], tuple[str, str, Any]]

THREAD_READS: dict[str, Route] = {
    "read a thread": lambda w: ("get", f"/v1/threads/{w.negotiating.public_id}", None),
    "download an attachment": lambda w: (
        "get",
        f"/v1/threads/{w.negotiating.public_id}/messages/{w.attachment_id}/attachment",
        None,
    ),
    "read a job": lambda w: ("get", f"/v1/jobs/{w.job.public_id}", None),
}
PROVIDER_ACTS: dict[str, Route] = {
    "propose a price": lambda w: (
        "post",
        f"/v1/threads/{w.negotiating.public_id}/propose",
        {"price": "1"},
    ),
    "update a thread's job": lambda w: (
        "post",
        f"/v1/threads/{w.busy.public_id}/update",
        {"status": "in_progress"},
    ),
    "update a job": lambda w: (
        "post",
        f"/v1/jobs/{w.job.public_id}/update",
        {"status": "in_progress"},
    ),
    "edit a service": lambda w: ("put", f"/v1/services/{w.service.public_id}", {"name": "Mine"}),
    "delete a service": lambda w: ("delete", f"/v1/services/{w.service.public_id}", None),
    "test a service's webhook": lambda w: (
        "post",
        f"/v1/services/{w.service.public_id}/test",
        {},
    ),
    "edit the provider's profile": lambda w: (
        "put",
        f"/v1/participants/{w.seller.participant.public_id}",
        {"name": "Taken over"},
    ),
}
BUYER_ACTS: dict[str, Route] = {
    "accept a proposal": lambda w: ("post", f"/v1/threads/{w.negotiating.public_id}/accept", {}),
    "accept a legacy quote": lambda w: ("post", f"/v1/quotes/{w.quote.quote_id}/accept", {}),
    "verify a thread": lambda w: ("post", f"/v1/threads/{w.busy.public_id}/verify", {}),
    "dispute a thread": lambda w: (
        "post",
        f"/v1/threads/{w.busy.public_id}/dispute",
        {"reason": "Nothing was delivered at all."},
    ),
    "verify a job": lambda w: ("post", f"/v1/jobs/{w.job.public_id}/verify", {}),
    "dispute a job": lambda w: (
        "post",
        f"/v1/jobs/{w.job.public_id}/dispute",
        {"reason": "Nothing was delivered at all."},
    ),
    "edit the buyer's profile": lambda w: (
        "put",
        f"/v1/participants/{w.buyer.participant.public_id}",
        {"name": "Taken over"},
    ),
}
PARTY_ACTS: dict[str, Route] = {
    "send a message": lambda w: (
        "post",
        f"/v1/threads/{w.negotiating.public_id}/messages",
        {"message": "hello"},
    ),
    "decline a thread": lambda w: ("post", f"/v1/threads/{w.negotiating.public_id}/decline", {}),
}


def assert_refused(api: Client, world: World, route: Route, who: Party) -> None:
    method, path, body = route(world)
    before = world.state()
    response = send(api, method, path, body, who)
    assert response.status_code in (403, 404), (path, response.status_code, response.content)
    error = response.json()
    assert error["error"] and error["code"] in ("forbidden", "not_found"), error
    assert world.state() == before


ALL = {**THREAD_READS, **PROVIDER_ACTS, **BUYER_ACTS, **PARTY_ACTS}


@pytest.mark.parametrize("action", list(ALL))
def test_a_stranger_is_refused_and_charged_nothing(api: Client, world: World, action: str) -> None:
    assert_refused(api, world, ALL[action], world.stranger)


@pytest.mark.parametrize("action", list(PROVIDER_ACTS))
def test_the_buyer_cannot_act_as_the_provider(api: Client, world: World, action: str) -> None:
    assert_refused(api, world, PROVIDER_ACTS[action], world.buyer)


@pytest.mark.parametrize("action", list(BUYER_ACTS))
def test_the_provider_cannot_act_as_the_buyer(api: Client, world: World, action: str) -> None:
    assert_refused(api, world, BUYER_ACTS[action], world.seller)


@pytest.mark.parametrize("action", list(ALL))
def test_without_a_key_nothing_is_read_or_changed(
    api: Client, world: World, chain: Any, action: str
) -> None:
    method, path, body = ALL[action](world)
    before = world.state()
    if method in ("get", "delete"):
        response = getattr(api, method)(path)
    else:
        response = getattr(api, method)(path, json.dumps(body), content_type="application/json")
    # 401 asks for a key; 402 offers x402 (the read routes take either); never the object.
    assert response.status_code in (401, 402, 403), (path, response.status_code)
    assert world.state() == before
