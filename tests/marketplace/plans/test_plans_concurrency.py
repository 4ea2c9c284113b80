"""Renewals and covered purchases raced (on PostgreSQL, the row locks are what is tested;
SQLite serialises writers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client

from marketplace.models import RenewalAttempt, Subscription, SubscriptionPeriod
from marketplace.plans.renewals import subscription_renew, subscriptions_renew_due
from payments.ledger_check import ledger_problems
from tests.marketplace.plans.helpers import AGENT_PRICE, party, provider_with_plan, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_schedulers_renew_a_subscription_once() -> None:
    api = Client(HTTP_HOST="127.0.0.1")
    _, plan = provider_with_plan()
    agent = party(balance=5 * AGENT_PRICE)
    assert subscribe(api, plan, agent).status_code == 201
    sub = Subscription.objects.get()
    with time_machine.travel(sub.period_end + timedelta(minutes=1), tick=False):
        outcomes = race(
            lambda: subscription_renew(Subscription(pk=sub.pk)),
            lambda: subscription_renew(Subscription(pk=sub.pk)),
            lambda: subscriptions_renew_due().renewed,
        )
    assert outcomes[:2].count("renewed") + outcomes[2] == 1
    assert agent.balance == 3 * AGENT_PRICE
    assert SubscriptionPeriod.objects.filter(subscription=sub).count() == 2
    assert RenewalAttempt.objects.count() == 1
    assert ledger_problems() == []


def test_concurrent_covered_purchases_respect_max_requests(
    provider_server: Any, settings: Any, chain: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    api = Client(HTTP_HOST="127.0.0.1")
    _, plan = provider_with_plan(webhook_url=provider_server.url, max_requests=2)
    agent = party(balance=AGENT_PRICE)
    assert subscribe(api, plan, agent).status_code == 201
    path = f"/v1/services/{plan.services.get().public_id}/purchase"

    def buy() -> Any:
        return Client(HTTP_HOST="127.0.0.1").post(
            path, json.dumps({}), content_type="application/json", HTTP_X_BALANCE_AUTH=agent.key
        )

    responses = race(*[buy for _ in range(5)])
    covered = [
        r for r in responses if r.status_code == 201 and "covered_by_subscription" in r.json()
    ]
    assert len(covered) == 2
    assert all(r.status_code in (201, 402) for r in responses)
    assert Subscription.objects.get().requests_used == 2
    assert ledger_problems() == []
