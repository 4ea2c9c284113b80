"""Plans and subscriptions: listing rules, subscribing, the subscription state machine,
renewals from the agent's balance, and covered purchases.

* **Money.** The first period is paid through the payment gate (x402 or balance: the
  provider's share to its balance, the fee to the platform). Renewals charge the agent's
  balance under the ledger key `subscription:<id>:period:<n>`, at the price the agent
  subscribed at; a new plan price applies to new subscribers only. No refund on cancel.
* **States** (`TRANSITIONS`, `cas_move`, a `SubscriptionTransition` per move): `active`
  renews at its period end; `paused` and `cancelled` keep their access to the period end,
  then expire; a short balance makes it `past_due`, retried every 24 hours up to 3 times
  (72 hours of grace), then `expired`. Access does **not** continue during the grace: a
  past-due subscription covers nothing until its renewal is paid, which starts a new
  period at that moment.
* **Exactly once.** A renewal locks the subscription's row, re-reads it, and records its
  money under the period's ledger key: two schedulers running at once renew once.
* **Covered purchases** take one request of the period's quota under the row lock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.catalog.models import Service, ServiceType
from marketplace.deals.purchases import PRICE_SETTLED_AFTER, PriceChanged
from marketplace.notify.outbox import webhook_enqueue
from marketplace.plans.models import (
    BillingPeriod,
    Plan,
    Subscription,
    SubscriptionPeriod,
    SubscriptionTransition,
)
from payments.charges import Paid, Price
from payments.ledger import (
    PLATFORM_FEES,
    provider_account,
)
from payments.models import ApiKey, Participant
from the402.lib import money
from the402.lib.api import iso
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.states import cas_move

logger = logging.getLogger(__name__)

MAX_SERVICES = 50
RETRY_EVERY = timedelta(hours=24)
MAX_RETRIES = 3  # after the first failure: 72 hours of grace

S = Subscription.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.ACTIVE: frozenset({S.PAUSED, S.CANCELLED, S.PAST_DUE, S.EXPIRED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED}),
    S.CANCELLED: frozenset({S.EXPIRED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED}),
    S.EXPIRED: frozenset(),
}


class InvalidSubscriptionTransition(Conflict):
    code = "invalid_subscription_transition"


# --- plans ------------------------------------------------------------------------------
def check_price(price_micros: int) -> int:
    """Above zero and at most `THE402_MAX_PRICE_USD`, as a listed service's price."""
    ceiling = settings.MAX_PRICE_USD * money.MICROS_PER_USD
    if price_micros <= 0 or price_micros > ceiling:
        raise ApplicationError(
            f"price must be above 0 and at most {money.format_usd(ceiling)} USD",
            code="invalid_price",
        )
    return price_micros


def _check_period(value: str) -> str:
    if value not in BillingPeriod.values:
        raise ApplicationError(
            f"billing_period must be one of {', '.join(BillingPeriod.values)}",
            code="invalid_billing_period",
        )
    return value


def _own_services(provider: Participant, service_ids: list[str]) -> list[Service]:
    """The provider's active, fixed-price data API and automated services named; a 400
    naming the first that is not."""
    ids = list(dict.fromkeys(service_ids))
    if not ids or len(ids) > MAX_SERVICES:
        raise ApplicationError(
            f"service_ids must name 1 to {MAX_SERVICES} of your services",
            code="invalid_plan_services",
        )
    found = {
        s.public_id: s
        for s in Service.objects.filter(public_id__in=ids, status=Service.Status.ACTIVE)
    }
    for service_id in ids:
        service = found.get(service_id)
        if service is None or service.provider_id != provider.pk:
            raise ApplicationError(
                f"{service_id} is not one of your active services", code="invalid_plan_services"
            )
        if service.is_quoted or service.service_type == ServiceType.HUMAN_SERVICE:
            raise ApplicationError(
                f"{service_id}: a plan bundles fixed-price data APIs and automated services",
                code="invalid_plan_services",
            )
    return [found[i] for i in ids]


@transaction.atomic
def plan_create(
    *,
    provider: Participant,
    name: str,
    description: str,
    price_micros: int,
    billing_period: str,
    service_ids: list[str],
    max_requests: int | None = None,
) -> Plan:
    services = _own_services(provider, service_ids)
    plan = Plan.objects.create(
        provider=provider,
        name=name,
        description=description,
        price_micros=check_price(price_micros),
        billing_period=_check_period(billing_period),
        max_requests=max_requests,
    )
    plan.services.set(services)
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, provider: Participant, **fields: Any) -> Plan:
    """Change a plan (its owner). A new price applies to new subscribers; existing
    subscriptions renew at the price they subscribed at."""
    _require_owner(plan, provider)
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    if "price_micros" in fields:
        price = check_price(fields.pop("price_micros"))
        if price != locked.price_micros:
            locked.price_micros, locked.price_changed_at = price, timezone.now()
    if "billing_period" in fields:
        locked.billing_period = _check_period(fields.pop("billing_period"))
    if "service_ids" in fields:
        locked.services.set(_own_services(provider, fields.pop("service_ids")))
    for name in ("name", "description", "max_requests"):
        if name in fields:
            setattr(locked, name, fields.pop(name))
    locked.save()
    return locked


@transaction.atomic
def plan_delete(*, plan: Plan, provider: Participant) -> Plan:
    """No new subscribers; existing subscriptions run to their period end, then expire."""
    _require_owner(plan, provider)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DELETED, updated_at=timezone.now())
    plan.status = Plan.Status.DELETED
    return plan


def _require_owner(plan: Plan, provider: Participant) -> None:
    if plan.provider_id != provider.pk:
        raise ApplicationError("Only the plan's provider can do this", code="forbidden", status=403)


# --- subscribing ------------------------------------------------------------------------
def plan_price(plan: Plan) -> Price:
    """The first period: the plan's agent price; the provider's share to its balance."""
    return Price(
        plan.agent_price_micros,
        f"Subscription to {plan.name} (first {plan.billing_period} period)",
        PLATFORM_FEES,
        shares=((provider_account(plan.provider), plan.price_micros),),
    )


def _price_changed(plan: Plan, why: str) -> PriceChanged:
    return PriceChanged(
        f"{why}; nothing was charged. Subscribe again with max_price (the agent price in USD) "
        "to agree to the current price.",
        extra={
            "plan_id": plan.public_id,
            "price": money.format_usd(plan.price_micros),
            "agent_price": money.format_usd(plan.agent_price_micros),
            "price_changed_at": iso(plan.price_changed_at),
        },
    )


def price_agreed(
    item: Any,
    *,
    max_price: int | None,
    by_balance: bool,
    changed: Any,
    now: datetime | None = None,
) -> None:
    """The agreed-amount rule of `deals.purchases.purchase_agreed`, for plans and products:
    above `max_price`, or paid by balance within 15 minutes of a price change without one,
    is a 409 `price_changed` (`changed` builds it) before any payment."""
    agent_price = item.agent_price_micros
    if max_price is not None:
        if agent_price > max_price:
            raise changed(
                item,
                f"The price is {money.format_usd(agent_price)} USDC, above your max_price "
                f"of {money.format_usd(max_price)}",
            )
        return
    since = (now or timezone.now()) - PRICE_SETTLED_AFTER
    if by_balance and item.price_changed_at is not None and item.price_changed_at > since:
        raise changed(
            item,
            f"The price changed to {money.format_usd(agent_price)} USDC less than 15 minutes ago",
        )


def _live(plan: Plan, agent: Participant) -> Subscription | None:
    return Subscription.objects.filter(plan=plan, agent=agent).exclude(status=S.EXPIRED).first()


def already_subscribed(sub: Subscription) -> Conflict:
    return Conflict(
        f"You already have a subscription to this plan ({sub.public_id}, {sub.status}, "
        f"paid until {iso(sub.period_end)})",
        code="already_subscribed",
        extra={"subscription_id": sub.public_id},
    )


def subscribe_validate(
    *, plan: Plan, payer: str | None, max_price: int | None, by_balance: bool
) -> Plan:
    """Before payment, nothing written: a registered agent with an API key (renewals come
    from its balance), not the provider, without a live subscription, at an agreed price."""
    if payer is not None:
        agent = Participant.objects.filter(wallet__iexact=payer).first()
        if (
            agent is None
            or not ApiKey.objects.filter(participant=agent, revoked_at__isnull=True).exists()
        ):
            raise ApplicationError(
                "Subscribing needs a registered participant with an API key (renewals are "
                "paid from its balance): POST /v1/register first",
                code="registration_required",
                status=403,
            )
        if agent.pk == plan.provider_id:
            raise ApplicationError("You cannot subscribe to your own plan", code="own_plan")
        live = _live(plan, agent)
        if live is not None:
            raise already_subscribed(live)
    price_agreed(plan, max_price=max_price, by_balance=by_balance, changed=_price_changed)
    return plan


@transaction.atomic
def subscribe_perform(*, plan: Plan, paid: Paid, now: datetime | None = None) -> Subscription:
    """Inside the gate's transaction, the first period paid: the subscription, its first
    period, the audit row and `subscription_created`."""
    if paid.amount != plan.agent_price_micros:
        raise _price_changed(plan, "The price changed during the subscription")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            sub = Subscription.objects.create(
                plan=plan,
                agent=paid.participant,
                price_micros=plan.price_micros,
                period_start=now,
                period_end=now + plan.period_length,
            )
    except IntegrityError:
        live = _live(plan, paid.participant)
        if live is None:
            raise
        raise already_subscribed(live) from None
    SubscriptionPeriod.objects.create(
        subscription=sub,
        number=1,
        starts_at=sub.period_start,
        ends_at=sub.period_end,
        price_micros=sub.price_micros,
        fee_micros=sub.fee_micros,
        method=paid.method,
    )
    SubscriptionTransition.objects.create(
        subscription=sub, from_status="", to_status=S.ACTIVE, actor=paid.participant
    )
    subscription_event(sub, "subscription_created")
    return sub


# --- moves ------------------------------------------------------------------------------
def subscription_locked(sub: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "plan__provider", "agent")
        .get(pk=sub.pk)
    )


def subscription_move(
    sub: Subscription,
    to: str,
    *,
    actor: Participant | None,
    note: str = "",
    fields: dict[str, Any] | None = None,
) -> Subscription:
    previous = cas_move(
        sub, to, transitions=TRANSITIONS, error=InvalidSubscriptionTransition, fields=fields
    )
    SubscriptionTransition.objects.create(
        subscription=sub, from_status=previous, to_status=to, actor=actor, note=note[:300]
    )
    return sub


def _require_agent(sub: Subscription, agent: Participant) -> None:
    if sub.agent_id != agent.pk:
        raise ApplicationError("Only the subscriber can do this", code="forbidden", status=403)


@transaction.atomic
def subscription_cancel(*, sub: Subscription, agent: Participant) -> Subscription:
    """Cancel: no renewal, access to the period end, no refund."""
    _require_agent(sub, agent)
    locked = subscription_locked(sub)
    subscription_move(locked, S.CANCELLED, actor=agent, fields={"cancelled_at": timezone.now()})
    subscription_event(locked, "subscription_cancelled")
    return locked


@transaction.atomic
def subscription_pause(*, sub: Subscription, agent: Participant) -> Subscription:
    """Pause: no renewal; access to the period end, then it expires unless resumed."""
    _require_agent(sub, agent)
    locked = subscription_locked(sub)
    if locked.status == S.ACTIVE and locked.period_end <= timezone.now():
        raise InvalidSubscriptionTransition(
            f"subscription {locked.public_id}'s period has ended: it is being renewed"
        )
    subscription_move(locked, S.PAUSED, actor=agent, fields={"paused_at": timezone.now()})
    return locked


@transaction.atomic
def subscription_resume(*, sub: Subscription, agent: Participant) -> Subscription:
    """Resume a paused subscription; refused once its period has expired."""
    _require_agent(sub, agent)
    locked = subscription_locked(sub)
    if locked.status == S.PAUSED and locked.period_end <= timezone.now():
        raise InvalidSubscriptionTransition(
            f"subscription {locked.public_id}'s period ended on {iso(locked.period_end)}: "
            "subscribe again",
            code="subscription_expired",
        )
    if locked.status != S.PAUSED:
        raise InvalidSubscriptionTransition(
            f"subscription {locked.public_id} is {locked.status}, not paused",
            code="subscription_expired" if locked.status == S.EXPIRED else None,
        )
    subscription_move(locked, S.ACTIVE, actor=agent, note="resumed", fields={"paused_at": None})
    return locked


# --- webhooks ---------------------------------------------------------------------------
def subscription_event(sub: Subscription, event_type: str) -> None:
    webhook_enqueue(
        participant=sub.plan.provider,
        event_type=event_type,
        payload={
            "subscription_id": sub.public_id,
            "plan_id": sub.plan.public_id,
            "agent_id": sub.agent.public_id,
            "agent_wallet": sub.agent.wallet,
            "status": sub.status,
            "period_number": sub.period_number,
            "period_start": iso(sub.period_start),
            "period_end": iso(sub.period_end),
            "price_usd": money.usd_decimal(sub.price_micros),
        },
    )
