"""Renewals, driven by moving the clock: on time from the balance at the subscribed price;
past_due on a short balance, three retries over 72 hours, then expired; paused and
cancelled subscriptions expire at their period end; resume refused after expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from marketplace.models import Plan, RenewalAttempt, Subscription, WebhookDelivery
from marketplace.plans.renewals import subscriptions_renew_due
from payments.ledger import PLATFORM_FEES, balance_of, provider_account
from payments.ledger_check import ledger_problems
from tests.factories import deposit
from tests.marketplace.plans.helpers import (
    AGENT_PRICE,
    PRICE,
    party,
    post,
    provider_with_plan,
    subscribe,
)

pytestmark = pytest.mark.django_db
MONTH = timedelta(days=30)
DAY = timedelta(hours=24)


def subscribed(api: Client, balance: int, **plan: Any) -> tuple[Any, Any, Subscription]:
    seller, p = provider_with_plan(webhook_url="http://127.0.0.1:9/hook", **plan)
    agent = party(balance=balance)
    assert subscribe(api, p, agent).status_code == 201
    return seller, agent, Subscription.objects.get()


def at(moment: datetime) -> Any:
    return time_machine.travel(moment, tick=False)


def events(seller: Any) -> list[str]:
    return list(
        WebhookDelivery.objects.filter(participant=seller.participant)
        .order_by("id")
        .values_list("event_type", flat=True)
    )


def test_a_subscription_renews_from_the_balance_at_its_period_end(api: Client) -> None:
    seller, agent, sub = subscribed(api, 2 * AGENT_PRICE)
    with at(sub.period_end + timedelta(minutes=1)):
        run = subscriptions_renew_due()
    assert run.renewed == 1
    sub.refresh_from_db()
    assert sub.status == "active" and sub.period_number == 2
    assert sub.period_start == sub.period_end - MONTH
    assert agent.balance == 0
    assert balance_of(provider_account(seller.participant)) == 2 * PRICE
    assert balance_of(PLATFORM_FEES) == 2 * (AGENT_PRICE - PRICE)
    assert events(seller)[-1] == "subscription_renewed"
    assert ledger_problems() == []


def test_nothing_renews_before_the_period_end(api: Client) -> None:
    _, agent, sub = subscribed(api, 2 * AGENT_PRICE)
    with at(sub.period_end - timedelta(minutes=1)):
        assert subscriptions_renew_due().renewed == 0
    assert agent.balance == AGENT_PRICE


def test_a_renewal_charges_the_price_subscribed_at(api: Client) -> None:
    _, agent, sub = subscribed(api, 3 * AGENT_PRICE)
    Plan.objects.update(price_micros=3 * PRICE)
    with at(sub.period_end):
        subscriptions_renew_due()
    assert agent.balance == AGENT_PRICE


def test_the_renewal_runs_once_per_period_whatever_runs_it(api: Client) -> None:
    _, agent, sub = subscribed(api, 3 * AGENT_PRICE)
    with at(sub.period_end + timedelta(minutes=5)):
        subscriptions_renew_due()
        call_command("subscriptions_renew")
        subscriptions_renew_due()
    assert agent.balance == AGENT_PRICE
    assert RenewalAttempt.objects.count() == 1


def test_a_short_balance_makes_it_past_due_with_no_access(api: Client) -> None:
    seller, agent, sub = subscribed(api, AGENT_PRICE)
    with at(sub.period_end + timedelta(minutes=1)):
        run = subscriptions_renew_due()
        assert run.past_due == 1
        sub.refresh_from_db()
        assert sub.status == "past_due" and sub.renewal_failures == 1
        detail = api.get(f"/v1/subscriptions/{sub.public_id}", HTTP_X_API_KEY=agent.key).json()
        assert detail["covers_now"] is False
    assert events(seller)[-1] == "subscription_past_due"
    assert ledger_problems() == []


def test_three_failed_retries_over_72_hours_expire_it(api: Client) -> None:
    seller, _, sub = subscribed(api, AGENT_PRICE)
    start = sub.period_end + timedelta(minutes=1)
    with at(start):
        subscriptions_renew_due()
    for retry in (1, 2, 3):
        with at(start + retry * DAY + timedelta(minutes=1)):
            subscriptions_renew_due()
        sub.refresh_from_db()
        assert sub.status == ("expired" if retry == 3 else "past_due"), retry
    assert sub.renewal_failures == 3
    outcomes = list(RenewalAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == ["short", "short", "short", "short", "expired"]
    assert events(seller)[-1] == "subscription_expired"


def test_a_retry_is_not_attempted_before_its_24_hours(api: Client) -> None:
    _, _, sub = subscribed(api, AGENT_PRICE)
    with at(sub.period_end):
        subscriptions_renew_due()
    with at(sub.period_end + DAY - timedelta(minutes=1)):
        subscriptions_renew_due()
    assert RenewalAttempt.objects.count() == 1


def test_a_retry_after_a_deposit_renews_and_starts_the_period_then(api: Client) -> None:
    _, agent, sub = subscribed(api, AGENT_PRICE)
    with at(sub.period_end):
        subscriptions_renew_due()
    deposit(agent.participant, AGENT_PRICE)
    paid_at = sub.period_end + DAY
    with at(paid_at):
        run = subscriptions_renew_due()
    assert run.renewed == 1
    sub.refresh_from_db()
    assert sub.status == "active" and sub.period_start == paid_at
    assert sub.period_end == paid_at + MONTH and sub.renewal_failures == 0
    assert agent.balance == 0
    assert ledger_problems() == []


def test_a_cancelled_subscription_expires_at_its_period_end_without_charge(api: Client) -> None:
    seller, agent, sub = subscribed(api, 2 * AGENT_PRICE)
    post(api, f"/v1/subscriptions/{sub.public_id}/cancel", HTTP_X_API_KEY=agent.key)
    with at(sub.period_end):
        assert subscriptions_renew_due().expired == 1
    sub.refresh_from_db()
    assert sub.status == "expired"
    assert agent.balance == AGENT_PRICE
    assert events(seller)[-2:] == ["subscription_cancelled", "subscription_expired"]


def test_resume_is_refused_once_the_paused_period_has_expired(api: Client) -> None:
    _, agent, sub = subscribed(api, 2 * AGENT_PRICE)
    post(api, f"/v1/subscriptions/{sub.public_id}/pause", HTTP_X_API_KEY=agent.key)
    with at(sub.period_end + timedelta(minutes=1)):
        late = post(api, f"/v1/subscriptions/{sub.public_id}/resume", HTTP_X_API_KEY=agent.key)
        assert late.status_code == 409 and late.json()["code"] == "subscription_expired"
        subscriptions_renew_due()
        after = post(api, f"/v1/subscriptions/{sub.public_id}/resume", HTTP_X_API_KEY=agent.key)
        assert after.status_code == 409 and after.json()["code"] == "subscription_expired"
    sub.refresh_from_db()
    assert sub.status == "expired" and agent.balance == AGENT_PRICE


def test_a_deleted_plan_does_not_renew(api: Client) -> None:
    seller, agent, sub = subscribed(api, 2 * AGENT_PRICE)
    api.delete(f"/v1/plans/{sub.plan.public_id}", HTTP_X_API_KEY=seller.key)
    with at(sub.period_end):
        assert subscriptions_renew_due().expired == 1
    assert agent.balance == AGENT_PRICE


def test_an_expired_subscription_lets_the_agent_subscribe_again(api: Client) -> None:
    _, agent, sub = subscribed(api, 2 * AGENT_PRICE)
    post(api, f"/v1/subscriptions/{sub.public_id}/cancel", HTTP_X_API_KEY=agent.key)
    later = sub.period_end + timedelta(minutes=1)
    with at(later):
        subscriptions_renew_due()
        assert subscribe(api, sub.plan, agent).status_code == 201
    assert timezone.now() < later
