"""The threads API: who may do what on a thread; bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace.models import (
    Job,
    Proposal,
    Thread,
    ThreadMessage,
)
from payments.ledger import (
    agent_account,
    balance_of,
)
from tests.factories import deposit
from tests.marketplace.deals.threads.helpers import (
    JS,
    ONE,
    START,
    TS,
    UNKNOWN_THREAD,
    Deal,
    accepted,
    accepted_human,
    agent,
    assert_error,
    inquire,
    negotiated,
    open_deal,
    post,
    provider,
    quoted_service,
    update,
)

pytestmark = pytest.mark.django_db


# --- who may do what --------------------------------------------------------------------
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
