"""Agreeing and declining: the buyer accepts (and pays) a provider's proposal, or either
party ends the thread.

A buyer is charged only a proposal it agreed to: with a `proposal_id`, that one; without,
a balance accept pays the open proposal only if its buyer read it, or it has stood
unchanged for 10 minutes (`proposal_agreed`). An x402 buyer signs the total itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from marketplace.catalog.models import ServiceType
from marketplace.deals import events, threads
from marketplace.deals.jobs import job_cancel, job_dispatch
from marketplace.deals.models import Job, Proposal, Thread, ThreadMessage
from marketplace.deals.purchases import escrowed_job
from payments.charges import Paid, Price
from payments.models import Participant
from the402.lib import money
from the402.lib.errors import Conflict

PROPOSAL_SETTLED_AFTER = timedelta(minutes=10)
# What an accept's body holds (the brief went with the inquiry).
ACCEPT_SCHEMA = {
    "type": "object",
    "properties": {"proposal_id": {"type": "string", "description": "The proposal you pay"}},
}


def proposal_price(thread: Thread, proposal: Proposal) -> Price:
    """Accepting a proposal: its agent total, always into escrow; human services by x402."""
    return Price(
        proposal.total_micros,
        f"Accepted proposal on {thread.service.name}",
        None,
        allow_balance=thread.service.service_type != ServiceType.HUMAN_SERVICE,
        escrow=True,
        # The 402's bazaar discovery: the accept's own body, and the deliverable's shape.
        input_schema=ACCEPT_SCHEMA,
        output_schema=thread.service.deliverable_schema,
    )


class ProposalChanged(Conflict):
    code = "proposal_changed"


def proposal_changed(current: Proposal, why: str) -> ProposalChanged:
    """409 `proposal_changed`, with the open proposal's terms, so the buyer can decide."""
    return ProposalChanged(
        f"{why}; nothing was charged. Accept again with this proposal_id to pay its total.",
        extra={
            "proposal_id": current.public_id,
            "quoted_price_usd": money.usd_decimal(current.price_micros),
            "platform_fee_usd": money.usd_decimal(current.fee_micros),
            "agent_total_usd": money.usd_decimal(current.total_micros),
        },
    )


def proposal_agreed(
    current: Proposal,
    *,
    proposal_id: str | None,
    by_balance: bool,
    now: datetime | None = None,
) -> None:
    """Refuse (409 `proposal_changed`) to charge a proposal the buyer has not agreed to.

    With a `proposal_id`, only that proposal, still open, is paid. Without one, a balance
    accept pays the open proposal only if its buyer read it (`GET /v1/threads/:id` or the
    quote, `threads.proposal_seen`) or it is older than 10 minutes. An x402 buyer signs
    the proposal's total itself, which binds it.
    """
    if proposal_id is not None:
        if proposal_id != current.public_id:
            raise proposal_changed(current, f"Proposal {proposal_id} is not the open proposal")
        return
    if not by_balance or current.seen_by_buyer_at is not None:
        return
    if current.created_at > (now or timezone.now()) - PROPOSAL_SETTLED_AFTER:
        raise proposal_changed(
            current,
            "The open proposal is one you have not read (the provider proposed it less than "
            "10 minutes ago)",
        )


def accept_validate(
    *,
    thread: Thread,
    payer: str | None,
    proposal_id: str | None = None,
    by_balance: bool = False,
) -> Proposal:
    """Before payment: the caller is the buyer, there is an open proposal to accept, and
    the buyer agreed to it (`proposal_agreed`)."""
    if payer is None or payer.lower() != thread.buyer.wallet.lower():
        raise threads.forbidden("Only the thread's buyer can accept a proposal")
    current = threads.proposal_to_accept(thread)
    proposal_agreed(current, proposal_id=proposal_id, by_balance=by_balance)
    return current


@transaction.atomic
def accept_perform(*, thread: Thread, proposal: Proposal, paid: Paid) -> Job:
    """The buyer paid the proposal: accept it (once: a second accept is a 409 and its
    money goes back), hold the escrow, create the job and dispatch it.

    `proposal` is the one `accept_validate` found agreed to. Under the thread's lock (which
    `proposal_make` takes too) it must still be the open one and the payment its total: a
    proposal made since, or a price read from another proposal, is a 409 and nothing is
    charged (the gate rolls a balance back and returns an x402 payment)."""
    thread = threads.lock_thread(thread)
    current = threads.proposal_to_accept(thread)
    if current.pk != proposal.pk:
        raise proposal_changed(current, "The provider made a new proposal meanwhile")
    if paid.amount != current.total_micros:
        raise proposal_changed(current, "The payment does not match the proposal")
    Proposal.objects.filter(pk=proposal.pk).update(
        status=Proposal.Status.ACCEPTED, updated_at=timezone.now()
    )
    threads.move(thread, Thread.Status.ACCEPTED, actor=paid.participant, note="proposal accepted")
    job = escrowed_job(
        paid=paid, thread=thread, amount=proposal.price_micros, fee=proposal.fee_micros
    )
    events.proposal_accepted(thread, proposal, job)
    return job_dispatch(job)


@transaction.atomic
def thread_decline(*, thread: Thread, participant: Participant, reason: str = "") -> Thread:
    """Either party ends the thread. Before any payment it is simply cancelled; once paid,
    only while the work has not started, and the escrow goes back to the buyer."""
    role = thread.party(participant.pk)
    if role is None:
        raise threads.forbidden("Only the thread's buyer and provider can decline it")
    note = f"declined by the {role}" + (f": {reason}" if reason else "")
    job = Job.objects.filter(thread=thread).first()
    if job is not None:
        job_cancel(job=job, actor=participant, reason=note)
    else:
        locked = threads.lock_thread(thread)
        if Job.objects.filter(thread=locked).exists():  # accepted meanwhile
            raise Conflict(f"thread {thread.public_id} was accepted meanwhile", code="conflict")
        threads.move(locked, Thread.Status.CANCELLED, actor=participant, note=note)
    if reason:
        threads.message_note(thread, kind=ThreadMessage.Kind.STATUS, body=note, sender=participant)
    if role == "buyer":
        events.thread_declined(thread, job=job, reason=reason)
    return Thread.objects.select_related("service", "buyer", "provider").get(pk=thread.pk)
