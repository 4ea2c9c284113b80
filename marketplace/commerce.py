"""Buying: fixed-price purchases, accepting a proposal, declining a thread.

The payment gate (`payments.gate`) takes the money; these services decide the price, check
the brief, and turn a paid request into a job:

* a **data API** answers at once: the platform calls the provider (`data_api_call`) after
  the payment is verified and before it is charged, so the buyer pays only for an answer;
  the provider's share goes straight to its balance, the fee to the platform;
* **automated and human services** are paid into escrow (The402Escrow for x402, a ledger
  escrow for a prepaid balance) and dispatched to the provider by webhook; human services
  are x402 only (the USDC is in the escrow contract before the work starts).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.db import transaction
from django.utils import timezone

from marketplace import reputation_feed, threads
from marketplace.jobs import (
    job_cancel,
    job_create,
    job_dispatch,
    job_escrow_expired,
    job_escrow_failed,
    job_record_instant,
)
from marketplace.models import Job, Proposal, Service, ServiceType, Thread, ThreadMessage
from marketplace.schemas import contains_nul, schema_error
from marketplace.webhooks import data_api_call, webhook_enqueue
from payments.escrow import (
    escrow_open_ledger,
    escrow_open_on_chain,
    escrow_refund,
    provider_account,
)
from payments.gate import Paid, Price
from payments.ledger import PLATFORM_FEES
from payments.models import Escrow, Participant
from the402.lib import money
from the402.lib.errors import ApplicationError, Conflict, NotFound
from the402.lib.ids import new_public_id

# How long an escrow may hold a job's money. Reconciliation refunds an expired escrow
# automatically only when its job never started (`escrow_expired`).
ESCROW_TTL = timedelta(days=30)
BRIEF_MAX_BYTES = 64 * 1024
# A buyer is charged only an amount it agreed to. A balance payment signs no amount, so:
# accepting without naming the proposal pays it only if the buyer read it, or if it has
# stood unchanged this long; purchasing without a `max_price` is refused this long after
# the provider changed the price.
PROPOSAL_SETTLED_AFTER = timedelta(minutes=10)
PRICE_SETTLED_AFTER = timedelta(minutes=15)


# --- the brief --------------------------------------------------------------------------
def brief_from_body(service: Service, body: Any) -> Any:
    """The buyer's brief from a request body, checked against the service's input_schema.

    The body is the brief (a JSON object). `{"brief": ...}` alone (what MCP clients send) is
    unwrapped unless the schema itself has a `brief` field. A plain string brief is taken
    as it is: there is nothing to check it against.
    """
    schema = service.input_schema or {}
    if (
        isinstance(body, dict)
        and set(body) == {"brief"}
        and "brief" not in (schema.get("properties") or {})
    ):
        body = body["brief"]
    if body is None or body == "":
        body = {}
    if isinstance(body, str):
        brief: Any = body.strip()
    elif isinstance(body, dict):
        brief = body
    else:
        raise ApplicationError(
            "the brief must be a JSON object (or a string)", code="invalid_brief"
        )
    if contains_nul(brief) or len(json.dumps(brief)) > BRIEF_MAX_BYTES:
        raise ApplicationError(
            "the brief must be under 64 KB, without NUL characters", code="invalid_brief"
        )
    if isinstance(brief, dict):
        problem = schema_error(service.input_schema, brief)
        if problem is not None:
            raise ApplicationError(
                f"the brief does not match the service's input_schema: {problem}",
                code="invalid_brief",
            )
    return brief


def active_service(service: Service | None, service_id: str) -> Service:
    if service is None or service.status != Service.Status.ACTIVE:
        raise NotFound(f"Service {service_id} not found", code="service_not_found")
    return service


# --- prices -----------------------------------------------------------------------------
def _escrowed(service: Service) -> bool:
    return service.service_type != ServiceType.DATA_API


def purchase_price(service: Service) -> Price:
    """A fixed-price purchase: the agent price (the provider's plus the fee). A quoted
    service has no price to pay: 400 quote_required, before anything else."""
    purchase_check(service)
    fee = money.platform_fee(service.price_micros)
    return Price(
        service.price_micros + fee,
        f"Purchase of {service.name}",
        PLATFORM_FEES,
        allow_balance=service.service_type != ServiceType.HUMAN_SERVICE,
        escrow=_escrowed(service),
        shares=()
        if _escrowed(service)
        else ((provider_account(service.provider), service.price_micros),),
    )


def proposal_price(thread: Thread, proposal: Proposal) -> Price:
    """Accepting a proposal: its agent total, always into escrow; human services by x402."""
    return Price(
        proposal.total_micros,
        f"Accepted proposal on {thread.service.name}",
        None,
        allow_balance=thread.service.service_type != ServiceType.HUMAN_SERVICE,
        escrow=True,
    )


def purchase_check(service: Service) -> None:
    if service.is_quoted:
        raise ApplicationError(
            "Quote required: this service is priced per job. Open a thread "
            f"(POST /v1/services/{service.public_id}/inquire) or request a quote.",
            code="quote_required",
        )


def refuse_own(service: Service, payer: str | None) -> None:
    """A provider cannot buy from, or open threads on, its own service (checked before
    payment, so the attempt costs nothing)."""
    if payer is not None and payer.lower() == service.provider.wallet.lower():
        raise ApplicationError("You cannot buy your own service", code="own_service")


def parse_max_price(*values: str | None) -> int | None:
    """The most a buyer will pay (agent price, USD) from the `max_price` query parameter
    and the `X-Max-Price` header; the lower of the two when both are given. A bad amount
    is a 400."""
    limits = []
    for value in values:
        if value is None:
            continue
        try:
            limits.append(money.parse_usd(value))
        except money.MoneyError as exc:
            raise ApplicationError(f"max_price: {exc}", code="invalid_max_price") from None
    return min(limits) if limits else None


class PriceChanged(Conflict):
    code = "price_changed"


def price_changed(service: Service, why: str) -> PriceChanged:
    """409 `price_changed`, with the service's current price, so the buyer can decide."""
    return PriceChanged(
        f"{why}; nothing was charged. Purchase again with max_price (the agent price in USD) "
        "to agree to the current price.",
        extra={
            "service_id": service.public_id,
            "price": money.format_usd(service.price_micros),
            "agent_price": money.format_usd(service.agent_price_micros),
            "price_changed_at": service.price_changed_at.isoformat().replace("+00:00", "Z")
            if service.price_changed_at
            else None,
        },
    )


def purchase_agreed(
    service: Service, *, max_price: int | None, by_balance: bool, now: datetime | None = None
) -> None:
    """Refuse (409 `price_changed`, before any payment) a purchase at a price the buyer has
    not agreed to: above its `max_price`, or, without one, paid from a balance within 15
    minutes of a price change. An x402 buyer signs the amount itself, which binds it."""
    agent_price = service.agent_price_micros
    if max_price is not None:
        if agent_price > max_price:
            raise price_changed(
                service,
                f"The price is {money.format_usd(agent_price)} USDC, above your max_price "
                f"of {money.format_usd(max_price)}",
            )
        return
    changed, since = service.price_changed_at, (now or timezone.now()) - PRICE_SETTLED_AFTER
    if by_balance and changed is not None and changed > since:
        raise price_changed(
            service,
            f"The price changed to {money.format_usd(agent_price)} USDC less than 15 minutes ago",
        )


def purchase_validate(
    service: Service,
    body: Any,
    payer: str | None,
    *,
    max_price: int | None = None,
    by_balance: bool = False,
) -> dict[str, Any]:
    refuse_own(service, payer)
    purchase_agreed(service, max_price=max_price, by_balance=by_balance)
    return {"service": service, "brief": brief_from_body(service, body)}


# --- data APIs --------------------------------------------------------------------------
def data_api_fetch(order: dict[str, Any]) -> dict[str, Any]:
    """Call the provider for a data API purchase (before the charge). Raises
    ApplicationError (502/504) when there is no usable answer: the buyer is not charged."""
    service: Service = order["service"]
    if _escrowed(service):
        return order
    job_id, thread_id = new_public_id("job"), new_public_id("thr")
    started = time.monotonic()
    answer = data_api_call(
        service=service,
        payload={
            "job_id": job_id,
            "service_id": service.public_id,
            "service_name": service.name,
            "thread_id": thread_id,
            "brief": order["brief"],
            "callback_url": None,  # the answer is the delivery
            "deadline": None,
        },
    )
    latency_ms = (time.monotonic() - started) * 1000
    if not answer.ok:
        reputation_feed.data_api_unanswered(service, reference=job_id, rejected=False)
        _not_charged(answer.error, answer.code)
    problem = schema_error(service.deliverable_schema, answer.result)
    if problem is not None:
        reputation_feed.data_api_unanswered(service, reference=job_id, rejected=True)
        _not_charged(
            f"The provider's answer does not match its schema: {problem}", "provider_error"
        )
    return {
        **order,
        "job_id": job_id,
        "thread_id": thread_id,
        "result": answer.result,
        "latency_ms": latency_ms,
    }


def _not_charged(error: str, code: str) -> NoReturn:
    raise ApplicationError(
        f"{error}. You were not charged.",
        code=code,
        status=504 if code == "provider_timeout" else 502,
    )


# --- paid: turning money into a job -----------------------------------------------------
def _escrowed_job(paid: Paid, *, thread: Thread, amount: int, fee: int) -> Job:
    """The paid job of a thread, its money held in escrow: The402Escrow when paid by x402,
    the ledger when paid from a balance (which raises InsufficientFunds: the gate answers
    402). Not dispatched yet."""
    job_id = new_public_id("job")
    terms: dict[str, Any] = {
        "payer": paid.participant,
        "payee": thread.provider,
        "amount": amount,
        "fee": fee,
        "expires_at": timezone.now() + ESCROW_TTL,
        "reference": job_id,
    }
    if paid.payment is not None:
        escrow = escrow_open_on_chain(payment=paid.payment, **terms)
    else:
        escrow = escrow_open_ledger(**terms)
    return job_create(
        service=thread.service,
        buyer=thread.buyer,
        brief=thread.brief,
        escrow=escrow,
        thread=thread,
        public_id=job_id,
    )


@transaction.atomic
def purchase_perform(order: dict[str, Any], paid: Paid) -> Job:
    """Inside the gate's transaction, the money taken: record the data API job, or hold
    the escrow, create the job with its thread and dispatch it."""
    service: Service = order["service"]
    if not _escrowed(service):
        job = job_record_instant(
            service=service,
            buyer=paid.participant,
            brief=order["brief"],
            result=order["result"],
            public_id=order["job_id"],
            thread_id=order["thread_id"],
        )
        reputation_feed.data_api_answered(job, latency_ms=order.get("latency_ms"))
        return job
    price = service.price_micros
    if paid.amount != money.agent_price(price):  # priced from another read of the service
        raise price_changed(service, "The price changed during the purchase")
    thread = threads.thread_for_purchase(
        service=service, buyer=paid.participant, brief=order["brief"]
    )
    return job_dispatch(
        _escrowed_job(paid, thread=thread, amount=price, fee=money.platform_fee(price))
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
    thread: Thread,
    payer: str | None,
    *,
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
def accept_perform(thread: Thread, proposal: Proposal, paid: Paid) -> Job:
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
    job = _escrowed_job(paid, thread=thread, amount=proposal.price_micros, fee=proposal.fee_micros)
    webhook_enqueue(
        participant=thread.provider,
        event_type="proposal_accepted",
        service=thread.service,
        payload={
            "thread_id": thread.public_id,
            "proposal_id": proposal.public_id,
            "job_id": job.public_id,
            "service_id": thread.service.public_id,
            "price_usd": money.usd_decimal(proposal.price_micros),
        },
    )
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
        webhook_enqueue(
            participant=thread.provider,
            event_type="thread_declined",
            service=thread.service,
            payload={
                "thread_id": thread.public_id,
                "service_id": thread.service.public_id,
                "job_id": job.public_id if job is not None else None,
                "reason": reason,
            },
        )
    return Thread.objects.select_related("service", "buyer", "provider").get(pk=thread.pk)


# --- escrows that expire or fail -------------------------------------------------------
def escrow_expired(escrow: Escrow) -> None:
    """What reconciliation does with an expired, still-held escrow: its job decides
    (`job_escrow_expired`); an escrow without a job is refunded."""
    job = Job.objects.filter(escrow=escrow).first()
    if job is None:
        escrow_refund(escrow, reason="expired without a job")
    else:
        job_escrow_expired(job)


def escrow_failed(escrow: Escrow) -> None:
    """What happens when the contract refused to fund an escrow: its job decides
    (`job_escrow_failed`); an escrow without a job goes back to its payer."""
    job = Job.objects.filter(escrow=escrow).first()
    if job is None:
        escrow_refund(escrow, reason="its funding failed")
    else:
        job_escrow_failed(job)
