"""Reads of plans and subscriptions."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from marketplace.plans.models import Plan, Subscription
from payments.models import Participant
from the402.lib.errors import NotFound


def plan_get(plan_id: str, *, include_deleted: bool = False) -> Plan:
    plans = Plan.objects.select_related("provider").prefetch_related("services")
    if not include_deleted:
        plans = plans.filter(status=Plan.Status.ACTIVE)
    plan = plans.filter(public_id=plan_id).first()
    if plan is None:
        raise NotFound(f"Plan {plan_id} not found", code="plan_not_found")
    return plan


def plans_list(*, provider: str | None = None) -> QuerySet[Plan]:
    """Active plans, newest first; `provider` by participant id or wallet (any case)."""
    plans = (
        Plan.objects.filter(status=Plan.Status.ACTIVE)
        .select_related("provider")
        .prefetch_related("services")
    )
    if provider:
        plans = plans.filter(Q(provider__public_id=provider) | Q(provider__wallet__iexact=provider))
    return plans.order_by("-created_at", "-id")


def subscription_get(subscription_id: str, *, agent: Participant) -> Subscription:
    """The agent's own subscription (another's is a 404, as if it did not exist)."""
    sub = (
        Subscription.objects.select_related("plan", "plan__provider", "agent")
        .filter(public_id=subscription_id)
        .first()
    )
    if sub is None or (sub.agent_id != agent.pk and sub.plan.provider_id != agent.pk):
        raise NotFound(f"Subscription {subscription_id} not found", code="subscription_not_found")
    return sub


def subscriptions_of(agent: Participant, *, status: str | None = None) -> QuerySet[Subscription]:
    subs = Subscription.objects.filter(agent=agent).select_related("plan", "plan__provider")
    if status:
        subs = subs.filter(status=status)
    return subs.order_by("-created_at", "-id")


COVERING = (
    Subscription.Status.ACTIVE,
    Subscription.Status.PAUSED,
    Subscription.Status.CANCELLED,
)


def covering_subscriptions(
    agent: Participant, service_id: int, now: datetime | None = None
) -> QuerySet[Subscription]:
    """The agent's subscriptions covering the service now: active, paused or cancelled,
    within their paid period (past_due ones do not cover: access stops at period end
    until the renewal is paid)."""
    return Subscription.objects.filter(
        agent=agent,
        status__in=COVERING,
        period_end__gt=now or timezone.now(),
        plan__services=service_id,
    ).order_by("period_end", "id")
