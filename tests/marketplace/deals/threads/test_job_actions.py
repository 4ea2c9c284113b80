"""The threads API: update, verify, dispute and decline through the thread."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace.models import (
    Proposal,
)
from payments.ledger import (
    balance_of,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow
from payments.services import participant_update
from tests.marketplace.deals.threads.helpers import (
    DISPUTE,
    JS,
    PRICE,
    READ,
    TOTAL,
    TS,
    accept,
    accepted,
    accepted_human,
    assert_error,
    events,
    negotiated,
    post,
    update,
)
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db


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
