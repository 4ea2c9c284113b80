"""The threads API: proposals, accepting and paying them, and expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from marketplace.deals import threads
from marketplace.models import (
    Job,
    Proposal,
    ServiceType,
    ThreadMessage,
)
from payments.chain.escrow_state import unallocated
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import (
    WORLD,
    Posting,
    agent_account,
    ledger_record,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow
from tests.factories import deposit
from tests.marketplace.deals.threads.helpers import (
    FEE,
    JS,
    ONE,
    PRICE,
    READ,
    START,
    TOTAL,
    TS,
    Deal,
    accept,
    accepted,
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
    update,
    usd,
    when,
)
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider
from the402.lib.money import platform_fee

pytestmark = pytest.mark.django_db


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
