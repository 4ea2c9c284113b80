"""Renewals: every 30 minutes (`subscriptions_renew_due`, django-q2, and `manage.py
subscriptions_renew`) subscriptions at their period end renew from the agent's balance, at
the price the agent subscribed at, under the ledger key `subscription:<id>:period:<n>` and
the subscription's row lock: two schedulers renew once. A short balance makes it
`past_due`, retried every 24 hours up to 3 times, then `expired` (marketplace/plans/services.py
has the states).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from marketplace.plans.models import (
    Plan,
    RenewalAttempt,
    Subscription,
    SubscriptionPeriod,
    SubscriptionTransition,
)
from marketplace.plans.services import (
    MAX_RETRIES,
    RETRY_EVERY,
    InvalidSubscriptionTransition,
    S,
    subscription_event,
    subscription_locked,
    subscription_move,
)
from payments.ledger import (
    PLATFORM_FEES,
    InsufficientFunds,
    Posting,
    agent_account,
    ledger_record,
    provider_account,
)

logger = logging.getLogger(__name__)


def renewal_key(sub: Subscription, number: int) -> str:
    return f"subscription:{sub.public_id}:period:{number}"


def _charge_period(sub: Subscription, number: int) -> None:
    """The agent's balance pays period `number` (provider share and fee); raises
    InsufficientFunds (nothing written) when short. Once per period, whoever calls."""
    account = agent_account(sub.agent)
    ledger_record(
        kind="subscription_renewal",
        idempotency_key=renewal_key(sub, number),
        postings=[
            Posting(account, provider_account(sub.plan.provider), sub.price_micros),
            Posting(account, PLATFORM_FEES, sub.fee_micros),
        ],
        description=f"Subscription {sub.public_id}: period {number} of {sub.plan.name}",
        reference={"subscription": sub.public_id, "period": number},
    )


def _expire(sub: Subscription, now: datetime, note: str) -> None:
    subscription_move(
        sub, S.EXPIRED, actor=None, note=note, fields={"expired_at": now, "next_retry_at": None}
    )
    subscription_event(sub, "subscription_expired")


def _renew(sub: Subscription, now: datetime) -> str:
    """Try to pay the next period of `sub` (locked). Returns what happened."""
    number = sub.period_number + 1
    try:
        _charge_period(sub, number)
    except InsufficientFunds:
        failures = sub.renewal_failures + 1
        RenewalAttempt.objects.create(
            subscription=sub,
            period_number=number,
            outcome=RenewalAttempt.Outcome.SHORT,
            amount_micros=sub.agent_price_micros,
            note=f"attempt {failures}: balance short",
        )
        if failures > MAX_RETRIES:
            RenewalAttempt.objects.create(
                subscription=sub,
                period_number=number,
                outcome=RenewalAttempt.Outcome.EXPIRED,
                amount_micros=0,
                note=f"{MAX_RETRIES} retries over the grace period failed",
            )
            _expire(sub, now, f"renewal failed {failures} times")
            return "expired"
        fields = {"renewal_failures": failures, "next_retry_at": now + RETRY_EVERY}
        if sub.status == S.PAST_DUE:
            Subscription.objects.filter(pk=sub.pk).update(**fields, updated_at=now)
            for name, value in fields.items():
                setattr(sub, name, value)
        else:
            subscription_move(
                sub, S.PAST_DUE, actor=None, note="renewal: balance short", fields=fields
            )
            subscription_event(sub, "subscription_past_due")
        return "past_due"
    # Paid. On time the new period follows the old one; after a grace, it starts now.
    start = sub.period_end if sub.status == S.ACTIVE else now
    fields = {
        "period_number": number,
        "period_start": start,
        "period_end": start + sub.plan.period_length,
        "requests_used": 0,
        "renewal_failures": 0,
        "next_retry_at": None,
    }
    if sub.status == S.PAST_DUE:
        subscription_move(
            sub, S.ACTIVE, actor=None, note=f"renewed: period {number}", fields=fields
        )
    else:
        Subscription.objects.filter(pk=sub.pk, period_number=number - 1).update(
            **fields, updated_at=now
        )
        for name, value in fields.items():
            setattr(sub, name, value)
        SubscriptionTransition.objects.create(
            subscription=sub,
            from_status=S.ACTIVE,
            to_status=S.ACTIVE,
            note=f"renewed: period {number}",
        )
    SubscriptionPeriod.objects.create(
        subscription=sub,
        number=number,
        starts_at=sub.period_start,
        ends_at=sub.period_end,
        price_micros=sub.price_micros,
        fee_micros=sub.fee_micros,
        method="renewal",
    )
    RenewalAttempt.objects.create(
        subscription=sub,
        period_number=number,
        outcome=RenewalAttempt.Outcome.RENEWED,
        amount_micros=sub.agent_price_micros,
    )
    subscription_event(sub, "subscription_renewed")
    return "renewed"


def _due(sub: Subscription, now: datetime) -> bool:
    if sub.status == S.PAST_DUE:
        return sub.next_retry_at is not None and sub.next_retry_at <= now
    return sub.status in (S.ACTIVE, S.PAUSED, S.CANCELLED) and sub.period_end <= now


@transaction.atomic
def subscription_renew(sub: Subscription, now: datetime | None = None) -> str:
    """Handle one subscription at (or past) its period end, under its row lock; returns
    `renewed`, `past_due`, `expired` or `skipped` (not due any more: another run did it)."""
    now = now or timezone.now()
    locked = subscription_locked(sub)
    if not _due(locked, now):
        return "skipped"
    if locked.status in (S.PAUSED, S.CANCELLED):
        _expire(locked, now, f"{locked.status}: its period ended")
        return "expired"
    if locked.plan.status == Plan.Status.DELETED:
        _expire(locked, now, "the plan was deleted: no renewal")
        return "expired"
    return _renew(locked, now)


@dataclass
class RenewalRun:
    renewed: int = 0
    past_due: int = 0
    expired: int = 0
    skipped: int = 0


def subscriptions_renew_due(now: datetime | None = None) -> RenewalRun:
    """Every 30 minutes: renew, retry or expire every subscription that is due, each in its
    own transaction."""
    now = now or timezone.now()
    due = Subscription.objects.filter(
        Q(status__in=(S.ACTIVE, S.PAUSED, S.CANCELLED), period_end__lte=now)
        | Q(status=S.PAST_DUE, next_retry_at__lte=now)
    ).values_list("pk", flat=True)
    run = RenewalRun()
    for pk in sorted(due):
        try:
            outcome = subscription_renew(Subscription(pk=pk), now)
        except InvalidSubscriptionTransition:
            outcome = "skipped"
        setattr(run, outcome, getattr(run, outcome) + 1)
    return run
