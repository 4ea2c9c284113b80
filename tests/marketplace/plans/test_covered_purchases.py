"""Covered access: a service bundled in an active plan, bought with the agent's key, costs
nothing, skips x402, makes its job and thread, and counts against max_requests; past the
quota the purchase is paid as usual, with a notice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from marketplace.models import CoveredUse, Job, ServiceType, Subscription
from marketplace.plans.renewals import subscriptions_renew_due
from payments.ledger_check import ledger_problems
from tests.factories import deposit
from tests.marketplace.plans.helpers import (
    AGENT_PRICE,
    party,
    post,
    provider_with_plan,
    subscribe,
)
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
SERVICE_AGENT_PRICE = 1_050_000


@pytest.fixture(autouse=True)
def _loopback(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.DATA_API_TIMEOUT = 2


def setup(api: Client, provider_server: Provider, **plan: Any) -> tuple[Any, Any, str]:
    seller, p = provider_with_plan(webhook_url=provider_server.url, **plan)
    agent = party(balance=AGENT_PRICE + 5 * SERVICE_AGENT_PRICE)
    assert subscribe(api, p, agent).status_code == 201
    service_id = p.services.get().public_id
    return seller, agent, f"/v1/services/{service_id}/purchase"


def test_a_covered_purchase_is_free_and_makes_its_job(
    api: Client, provider_server: Provider
) -> None:
    _, agent, path = setup(api, provider_server)
    before = agent.balance
    response = post(api, path, {"topic": "x"}, HTTP_X_API_KEY=agent.key)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["covered_by_subscription"] == Subscription.objects.get().public_id
    job = Job.objects.get(public_id=body["job_id"])
    assert job.escrow is None and job.thread is not None and job.status == "dispatched"
    assert agent.balance == before
    assert Subscription.objects.get().requests_used == 1
    assert ledger_problems() == []


def test_a_covered_data_api_call_answers_and_costs_nothing(
    api: Client, provider_server: Provider
) -> None:
    provider_server.reply = json.dumps({"answer": 42}).encode()
    _, agent, path = setup(api, provider_server, service_type=ServiceType.DATA_API)
    before = agent.balance
    response = post(api, path, {}, HTTP_X_BALANCE_AUTH=agent.key)
    assert response.status_code == 201, response.content
    assert response.json()["result"] == {"answer": 42}
    assert agent.balance == before
    assert CoveredUse.objects.count() == 1


def test_a_failed_covered_data_api_call_gives_its_request_back(
    api: Client, provider_server: Provider
) -> None:
    provider_server.answer(500)
    _, agent, path = setup(api, provider_server, service_type=ServiceType.DATA_API, max_requests=1)
    response = post(api, path, {}, HTTP_X_API_KEY=agent.key)
    assert response.status_code == 502
    assert Subscription.objects.get().requests_used == 0


def test_past_max_requests_the_purchase_is_paid_with_a_notice(
    api: Client, provider_server: Provider
) -> None:
    _, agent, path = setup(api, provider_server, max_requests=2)
    for _ in range(2):
        assert "covered_by_subscription" in post(api, path, {}, HTTP_X_API_KEY=agent.key).json()
    before = agent.balance
    paid = post(api, path, {}, HTTP_X_BALANCE_AUTH=agent.key)
    assert paid.status_code == 201, paid.content
    assert "covered_by_subscription" not in paid.json()
    assert "used its 2 covered requests" in paid.json()["subscription_notice"]
    assert paid["X-Subscription-Notice"]
    assert agent.balance == before - SERVICE_AGENT_PRICE
    assert Subscription.objects.get().requests_used == 2
    assert ledger_problems() == []


def test_a_quota_is_per_period(api: Client, provider_server: Provider) -> None:
    _, agent, path = setup(api, provider_server, max_requests=1)
    assert post(api, path, {}, HTTP_X_API_KEY=agent.key).status_code == 201
    sub = Subscription.objects.get()
    deposit(agent.participant, AGENT_PRICE)
    with time_machine.travel(sub.period_end + timedelta(minutes=1), tick=False):
        assert subscriptions_renew_due().renewed == 1
        again = post(api, path, {}, HTTP_X_API_KEY=agent.key)
    assert "covered_by_subscription" in again.json()


def test_a_cancelled_subscription_covers_until_its_period_end(
    api: Client, provider_server: Provider
) -> None:
    _, agent, path = setup(api, provider_server)
    sub = Subscription.objects.get()
    post(api, f"/v1/subscriptions/{sub.public_id}/cancel", HTTP_X_API_KEY=agent.key)
    assert "covered_by_subscription" in post(api, path, {}, HTTP_X_API_KEY=agent.key).json()
    with time_machine.travel(sub.period_end + timedelta(seconds=1), tick=False):
        after = post(api, path, {}, HTTP_X_BALANCE_AUTH=agent.key)
    assert after.status_code == 201
    assert "covered_by_subscription" not in after.json()


def test_another_agent_is_not_covered(api: Client, provider_server: Provider, chain: Any) -> None:
    _, _, path = setup(api, provider_server)
    stranger = party()
    response = post(api, path, {}, HTTP_X_API_KEY=stranger.key)
    assert response.status_code == 402
    assert CoveredUse.objects.count() == 0


def test_a_dispute_on_a_covered_job_moves_no_money(api: Client, provider_server: Provider) -> None:
    from marketplace.deals.jobs import job_dispute, job_resolve_dispute

    _, agent, path = setup(api, provider_server)
    job = Job.objects.get(public_id=post(api, path, {}, HTTP_X_API_KEY=agent.key).json()["job_id"])
    job_dispute(job=job, buyer=agent.participant, reason="Nothing was delivered at all.")
    resolved = job_resolve_dispute(job=job, resolution="refund", note="covered: nothing to move")
    assert resolved.status == "refunded"
    assert ledger_problems() == []
