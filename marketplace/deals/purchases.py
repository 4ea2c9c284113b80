"""Buying a fixed-price service: the price, the buyer's agreement to it, the brief, and
turning a paid request into a job.

The payment gate (`payments.gate`) takes the money; these services decide the price, check
the brief, and turn a paid request into a job:

* a **data API** answers at once: the platform calls the provider (`data_api_call`) after
  the payment is verified and before it is charged, so the buyer pays only for an answer;
  the provider's share goes straight to its balance, the fee to the platform;
* **automated and human services** are paid into escrow (The402Escrow for x402, a ledger
  escrow for a prepaid balance) and dispatched to the provider by webhook; human services
  are x402 only (the USDC is in the escrow contract before the work starts).

Accepting a proposal (the price of a negotiated job) is `marketplace.deals.agreements`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.db import transaction
from django.utils import timezone

from marketplace.catalog.models import Service, ServiceType
from marketplace.catalog.schemas import contains_nul, schema_error
from marketplace.deals import events, reputation_feed
from marketplace.deals.jobs import job_create, job_dispatch, job_record_instant
from marketplace.deals.models import Job, Thread
from marketplace.deals.threads import thread_for_purchase
from marketplace.notify.data_api import data_api_call
from payments.charges import Paid, Price
from payments.escrow import escrow_open_ledger, escrow_open_on_chain
from payments.ledger import PLATFORM_FEES, provider_account
from the402.lib import money
from the402.lib.errors import ApplicationError, Conflict, NotFound
from the402.lib.ids import new_public_id

# How long an escrow may hold a job's money. Reconciliation refunds an expired escrow
# automatically only when its job never started (`escrow_expired`).
ESCROW_TTL = timedelta(days=30)
BRIEF_MAX_BYTES = 64 * 1024
# A buyer is charged only an amount it agreed to. A balance payment signs no amount, so
# purchasing without a `max_price` is refused this long after the provider changed the
# price (accepting a proposal: `agreements.PROPOSAL_SETTLED_AFTER`).
PRICE_SETTLED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class PurchaseOrder:
    """A purchase checked before payment (`purchase_validate`): what is bought, with which
    brief. A data API's order also carries the provider's answer once `data_api_fetch` got
    it, with the ids its job and thread will have."""

    service: Service
    brief: Any
    answered: bool = False
    job_id: str | None = None
    thread_id: str | None = None
    result: Any = None  # the provider's JSON answer (data APIs)
    latency_ms: float | None = None


# --- the brief --------------------------------------------------------------------------
def _object_schema(schema: dict[str, Any]) -> bool:
    """Whether an input_schema describes a JSON object (what a string brief cannot be)."""
    return schema.get("type") == "object" or "properties" in schema or "required" in schema


def _string_brief(service: Service, text: str, *, free_text: bool) -> Any:
    """A string brief: the object it spells as JSON, validated as that object; free text
    only where free text is taken (an inquiry, or a service without an object schema)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    schema = service.input_schema or {}
    if free_text or not _object_schema(schema):
        return text.strip()
    required = [str(name) for name in schema.get("required") or []]
    needs = f" with {', '.join(required)}" if required else ""
    raise ApplicationError(
        f"the brief must be a JSON object{needs} (the service's input_schema); "
        "a text brief is taken by an inquiry",
        code="invalid_brief",
        extra={"required": required},
    )


def brief_from_body(service: Service, body: Any, *, free_text: bool = False) -> Any:
    """The buyer's brief from a request body, checked against the service's input_schema
    before any money moves.

    The body is the brief (a JSON object). `{"brief": ...}` alone (what MCP clients send) is
    unwrapped unless the schema itself has a `brief` field. A string brief that parses as
    a JSON object is that object; any other string is refused (400 `invalid_brief` naming
    the required fields) by a service whose input_schema is an object, unless `free_text`
    (inquiries and quote requests keep free text).
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
        body = _string_brief(service, body, free_text=free_text)
    if isinstance(body, str):
        brief: Any = body
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
        # The 402's bazaar discovery: an example brief and the deliverable's shape.
        input_schema=service.input_schema,
        output_schema=service.deliverable_schema,
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
    *,
    service: Service,
    body: Any,
    payer: str | None,
    max_price: int | None = None,
    by_balance: bool = False,
) -> PurchaseOrder:
    """Before payment, nothing written: the buyer is not the provider, agreed to the
    price (`purchase_agreed`), and sent a brief the service takes (`brief_from_body`)."""
    refuse_own(service, payer)
    purchase_agreed(service, max_price=max_price, by_balance=by_balance)
    return PurchaseOrder(service=service, brief=brief_from_body(service, body))


# --- data APIs --------------------------------------------------------------------------
def data_api_fetch(order: PurchaseOrder) -> PurchaseOrder:
    """Call the provider for a data API purchase (before the charge); the order comes back
    with its answer. Raises ApplicationError (502/504) when there is no usable answer: the
    buyer is not charged. Any other purchase is returned as it is."""
    service = order.service
    if _escrowed(service):
        return order
    job_id, thread_id = new_public_id("job"), new_public_id("thr")
    started = time.monotonic()
    answer = data_api_call(
        service=service,
        payload=events.dispatch_payload(
            job_id=job_id,
            service=service,
            thread_id=thread_id,
            brief=order.brief,
            callback_url=None,  # the answer is the delivery
            deadline=None,
        ),
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
    return replace(
        order,
        answered=True,
        job_id=job_id,
        thread_id=thread_id,
        result=answer.result,
        latency_ms=latency_ms,
    )


def _not_charged(error: str, code: str) -> NoReturn:
    raise ApplicationError(
        f"{error}. You were not charged.",
        code=code,
        status=504 if code == "provider_timeout" else 502,
    )


# --- paid: turning money into a job -----------------------------------------------------
def escrowed_job(*, paid: Paid, thread: Thread, amount: int, fee: int) -> Job:
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
def purchase_perform(*, order: PurchaseOrder, paid: Paid) -> Job:
    """Inside the gate's transaction, the money taken: record the data API job (answered
    by `data_api_fetch`), or hold the escrow, create the job with its thread and dispatch
    it."""
    service = order.service
    if not _escrowed(service):
        if not order.answered or order.job_id is None or order.thread_id is None:
            raise ValueError("a data API purchase is performed once its provider answered")
        job = job_record_instant(
            service=service,
            buyer=paid.participant,
            brief=order.brief,
            result=order.result,
            public_id=order.job_id,
            thread_id=order.thread_id,
        )
        reputation_feed.data_api_answered(job, latency_ms=order.latency_ms)
        # The sale's ledger movement (recorded by the gate) names the job and its thread.
        paid.reference.update(job=job.public_id, thread=order.thread_id)
        return job
    price = service.price_micros
    if paid.amount != money.agent_price(price):  # priced from another read of the service
        raise price_changed(service, "The price changed during the purchase")
    thread = thread_for_purchase(service=service, buyer=paid.participant, brief=order.brief)
    return job_dispatch(
        escrowed_job(paid=paid, thread=thread, amount=price, fee=money.platform_fee(price))
    )
