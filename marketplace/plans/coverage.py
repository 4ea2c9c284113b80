"""Covered purchases: a purchase of a service bundled in the agent's subscription, sent
with its API key (`X-API-Key` or `X-BALANCE-AUTH`), costs nothing and skips x402.

It takes one request of the period's quota under the subscription's row lock, then makes
its job and thread as a paid purchase would, without escrow (the period is paid): a data
API's provider is called and the job recorded answered; an automated service's job is
dispatched. A dispute on it is resolved without moving money and counts for reputation. A
refused purchase (the provider failed) gives its request back. Past the quota, the purchase
falls through to normal payment with a notice saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from marketplace.catalog.models import Service
from marketplace.deals import purchases, reputation_feed
from marketplace.deals.jobs import job_create, job_dispatch, job_record_instant
from marketplace.deals.models import Job
from marketplace.deals.purchases import PurchaseOrder
from marketplace.deals.threads import thread_for_purchase
from marketplace.plans.models import CoveredUse, Subscription
from marketplace.plans.selectors import covering_subscriptions
from marketplace.plans.services import S, subscription_locked
from payments.models import Participant
from payments.services import participant_for_api_key


@dataclass(frozen=True)
class Coverage:
    """One request of a subscription's period, taken for a covered purchase."""

    subscription: Subscription
    period_number: int


class QuotaExhausted(Exception):
    """The agent's covering subscriptions have no request left this period."""

    def __init__(self, subscription: Subscription) -> None:
        super().__init__(subscription.public_id)
        self.subscription = subscription


@transaction.atomic
def coverage_take(
    agent: Participant, service: Service, now: datetime | None = None
) -> Coverage | None:
    """Take one request from a subscription covering `service` now, under its row lock.
    None when no subscription covers it; QuotaExhausted when they cover it but every one
    used its `max_requests` this period."""
    now = now or timezone.now()
    exhausted: Subscription | None = None
    for candidate in covering_subscriptions(agent, service.pk, now):
        sub = subscription_locked(candidate)
        if sub.status not in (S.ACTIVE, S.PAUSED, S.CANCELLED) or sub.period_end <= now:
            continue
        limit = sub.plan.max_requests
        if limit is not None and sub.requests_used >= limit:
            exhausted = sub
            continue
        Subscription.objects.filter(pk=sub.pk).update(requests_used=sub.requests_used + 1)
        sub.requests_used += 1
        return Coverage(sub, sub.period_number)
    if exhausted is not None:
        raise QuotaExhausted(exhausted)
    return None


@transaction.atomic
def coverage_give_back(coverage: Coverage) -> None:
    """The covered purchase was refused (the provider failed): its request is not used."""
    sub = subscription_locked(coverage.subscription)
    if sub.period_number == coverage.period_number and sub.requests_used > 0:
        Subscription.objects.filter(pk=sub.pk).update(requests_used=sub.requests_used - 1)


@dataclass(frozen=True)
class Covered:
    """What coverage made of a purchase: its job (covered), or a notice (not covered, and
    why, when the agent has a subscription for the service)."""

    job: Job | None = None
    result: Any = None
    subscription: Subscription | None = None
    notice: str | None = None


NOT_COVERED = Covered()


def covered_purchase(*, api_key: str | None, service: Service, body: Any) -> Covered:
    """Serve the purchase from the caller's subscription if one covers it."""
    if not api_key:
        return NOT_COVERED
    agent = participant_for_api_key(api_key)
    if agent is None or service.is_quoted:
        return NOT_COVERED  # the gate answers (401, quote_required)
    if not service.plans.exists():
        return NOT_COVERED
    purchases.refuse_own(service, agent.wallet)
    brief = purchases.brief_from_body(service, body)
    try:
        coverage = coverage_take(agent, service)
    except QuotaExhausted as exhausted:
        sub = exhausted.subscription
        return Covered(
            subscription=sub,
            notice=f"Your subscription {sub.public_id} used its {sub.plan.max_requests} "
            "covered requests this period: this purchase is paid as usual",
        )
    if coverage is None:
        return NOT_COVERED
    try:
        order = purchases.data_api_fetch(PurchaseOrder(service=service, brief=brief))
        with transaction.atomic():
            if order.answered:
                assert order.job_id is not None and order.thread_id is not None
                job = job_record_instant(
                    service=service,
                    buyer=agent,
                    brief=brief,
                    result=order.result,
                    public_id=order.job_id,
                    thread_id=order.thread_id,
                )
                reputation_feed.data_api_answered(job, latency_ms=order.latency_ms)
            else:
                thread = thread_for_purchase(service=service, buyer=agent, brief=brief)
                job = job_dispatch(
                    job_create(
                        service=service, buyer=agent, brief=brief, escrow=None, thread=thread
                    )
                )
            CoveredUse.objects.create(
                subscription=coverage.subscription, job=job, period_number=coverage.period_number
            )
    except BaseException:
        coverage_give_back(coverage)
        raise
    return Covered(job=job, result=order.result, subscription=coverage.subscription)
