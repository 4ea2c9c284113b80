"""Plans: providers list them, agents browse and subscribe (balance or x402), one live
subscription per plan, and the agreed-amount rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.models import Plan, ServiceType, Subscription, WebhookDelivery
from payments.ledger import PLATFORM_FEES, balance_of, provider_account
from payments.ledger_check import ledger_problems
from payments.models import Participant
from tests.factories import ServiceFactory
from tests.marketplace.plans.helpers import (
    AGENT_PRICE,
    PRICE,
    party,
    post,
    provider_with_plan,
    subscribe,
)
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db


def plan_body(service_ids: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "name": "Starter",
        "description": "Two services",
        "price": "5.00",
        "billing_period": "monthly",
        "service_ids": service_ids,
        **fields,
    }


def test_a_provider_creates_a_plan_of_its_own_services(api: Client) -> None:
    seller = party(Participant.Type.PROVIDER)
    service = ServiceFactory(provider=seller.participant)
    response = post(
        api,
        "/v1/plans",
        plan_body([service.public_id], max_requests=100),
        HTTP_X_API_KEY=seller.key,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["price"] == "5.00" and body["agent_price"] == "5.25"
    assert body["interval"] == "monthly" and body["service_ids"] == [service.public_id]
    assert body["max_requests"] == 100


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"price": "0"}, "invalid_price"),
        ({"price": "-1"}, "invalid_price"),
        ({"price": "100000000"}, "invalid_price"),
        ({"billing_period": "weekly"}, "invalid_billing_period"),
        ({"service_ids": ["svc_0000000000000000"]}, "invalid_plan_services"),
        ({"service_ids": []}, "invalid_plan_services"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_written(
    api: Client, change: dict[str, Any], code: str
) -> None:
    seller = party(Participant.Type.PROVIDER)
    service = ServiceFactory(provider=seller.participant)
    body = {**plan_body([service.public_id]), **change}
    response = post(api, "/v1/plans", body, HTTP_X_API_KEY=seller.key)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Plan.objects.exists()


def test_a_plan_cannot_bundle_another_providers_service(api: Client) -> None:
    seller = party(Participant.Type.PROVIDER)
    other = ServiceFactory()
    response = post(api, "/v1/plans", plan_body([other.public_id]), HTTP_X_API_KEY=seller.key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_plan_services"


def test_a_human_service_cannot_be_bundled(api: Client) -> None:
    seller = party(Participant.Type.PROVIDER)
    human = ServiceFactory(provider=seller.participant, service_type=ServiceType.HUMAN_SERVICE)
    response = post(api, "/v1/plans", plan_body([human.public_id]), HTTP_X_API_KEY=seller.key)
    assert response.json()["code"] == "invalid_plan_services"


def test_plans_are_listed_free_and_filtered_by_provider(api: Client) -> None:
    seller, plan = provider_with_plan()
    provider_with_plan()
    everyone = api.get("/v1/plans").json()
    assert everyone["total"] == 2
    mine = api.get("/v1/plans", {"provider": seller.participant.wallet.upper()}).json()
    assert [p["plan_id"] for p in mine["plans"]] == [plan.public_id]
    assert api.get(f"/v1/plans/{plan.public_id}").json()["agent_price"] == "10.50"


def test_only_the_owner_updates_or_deletes_a_plan(api: Client) -> None:
    _, plan = provider_with_plan()
    stranger = party(Participant.Type.PROVIDER)
    response = api.put(
        f"/v1/plans/{plan.public_id}",
        '{"name": "Mine now"}',
        content_type="application/json",
        HTTP_X_API_KEY=stranger.key,
    )
    assert response.status_code == 403
    assert api.delete(f"/v1/plans/{plan.public_id}", HTTP_X_API_KEY=stranger.key).status_code == 403
    plan.refresh_from_db()
    assert plan.name == "Pro" and plan.status == Plan.Status.ACTIVE


def test_a_deleted_plan_takes_no_new_subscribers(api: Client) -> None:
    seller, plan = provider_with_plan()
    deleted = api.delete(f"/v1/plans/{plan.public_id}", HTTP_X_API_KEY=seller.key)
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    agent = party(balance=20_000_000)
    assert subscribe(api, plan, agent).status_code == 404
    assert agent.balance == 20_000_000


# --- subscribing ------------------------------------------------------------------------
def test_subscribing_by_balance_pays_the_first_period_and_tells_the_provider(
    api: Client, django_capture_on_commit_callbacks: Any
) -> None:
    seller, plan = provider_with_plan(webhook_url="http://127.0.0.1:9/hook")
    agent = party(balance=20_000_000)
    with django_capture_on_commit_callbacks(execute=False):
        response = subscribe(api, plan, agent)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "active" and body["agent_price"] == "10.50"
    assert agent.balance == 20_000_000 - AGENT_PRICE
    assert balance_of(provider_account(seller.participant)) == PRICE
    assert balance_of(PLATFORM_FEES) == AGENT_PRICE - PRICE
    event = WebhookDelivery.objects.get(participant=seller.participant)
    assert event.event_type == "subscription_created"
    assert ledger_problems() == []


def test_a_second_subscription_to_the_same_plan_is_a_409_and_charges_nothing(api: Client) -> None:
    _, plan = provider_with_plan()
    agent = party(balance=30_000_000)
    assert subscribe(api, plan, agent).status_code == 201
    again = subscribe(api, plan, agent)
    assert again.status_code == 409 and again.json()["code"] == "already_subscribed"
    assert agent.balance == 30_000_000 - AGENT_PRICE


def test_a_short_balance_gets_the_402_and_no_subscription(api: Client, chain: Any) -> None:
    _, plan = provider_with_plan()
    agent = party(balance=1_000_000)
    response = subscribe(api, plan, agent)
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_balance"
    assert not Subscription.objects.exists()


def test_the_provider_cannot_subscribe_to_its_own_plan(api: Client) -> None:
    seller, plan = provider_with_plan()
    from tests.factories import deposit

    deposit(seller.participant, 20_000_000)
    response = subscribe(api, plan, seller)
    assert response.status_code == 400 and response.json()["code"] == "own_plan"


def test_a_price_raised_just_before_a_balance_subscription_is_refused(api: Client) -> None:
    seller, plan = provider_with_plan()
    changed = api.put(
        f"/v1/plans/{plan.public_id}",
        '{"price": "20.00"}',
        content_type="application/json",
        HTTP_X_API_KEY=seller.key,
    )
    assert changed.status_code == 200
    agent = party(balance=50_000_000)
    refused = subscribe(api, plan, agent)
    assert refused.status_code == 409 and refused.json()["code"] == "price_changed"
    assert refused.json()["agent_price"] == "21.00"
    assert agent.balance == 50_000_000
    agreed = subscribe(api, plan, agent, HTTP_X_MAX_PRICE="21.00")
    assert agreed.status_code == 201


def test_a_price_above_max_price_is_refused(api: Client) -> None:
    _, plan = provider_with_plan()
    agent = party(balance=50_000_000)
    response = post(
        api,
        f"/v1/plans/{plan.public_id}/subscribe?max_price=10.00",
        HTTP_X_BALANCE_AUTH=agent.key,
    )
    assert response.status_code == 409 and response.json()["code"] == "price_changed"
    assert agent.balance == 50_000_000


def test_subscribing_by_x402_pays_on_chain(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    from payments.services import api_key_issue, participant_create

    seller, plan = provider_with_plan()
    payer = funded_payer(20_000_000)
    agent = participant_create(wallet=payer.address, type=Participant.Type.AGENT)
    api_key_issue(participant=agent)
    path = f"/v1/plans/{plan.public_id}/subscribe"
    challenge = post(api, path)
    assert challenge.status_code == 402
    header, value = payment_header(challenge, payer, version=2)
    response = post(api, path, **{header: value})
    assert response.status_code == 201, response.content
    assert Subscription.objects.get().agent == agent
    assert balance_of(provider_account(seller.participant)) == PRICE
    assert ledger_problems() == []


def test_an_x402_payer_without_an_api_key_must_register_first(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    _, plan = provider_with_plan()
    payer = funded_payer(20_000_000)
    path = f"/v1/plans/{plan.public_id}/subscribe"
    header, value = payment_header(post(api, path), payer, version=2)
    response = post(api, path, **{header: value})
    assert response.status_code == 403
    assert response.json()["code"] == "registration_required"
    assert not Subscription.objects.exists()


# --- managing ---------------------------------------------------------------------------
def test_subscriptions_are_listed_by_status_for_their_agent_only(api: Client) -> None:
    _, plan = provider_with_plan()
    _, other_plan = provider_with_plan()
    agent = party(balance=50_000_000)
    first = subscribe(api, plan, agent).json()["subscription_id"]
    subscribe(api, other_plan, agent)
    post(api, f"/v1/subscriptions/{first}/cancel", HTTP_X_API_KEY=agent.key)
    listed = api.get("/v1/subscriptions", {"status": "cancelled"}, HTTP_X_API_KEY=agent.key).json()
    assert [s["subscription_id"] for s in listed["subscriptions"]] == [first]
    stranger = party()
    assert api.get(f"/v1/subscriptions/{first}", HTTP_X_API_KEY=stranger.key).status_code == 404
    bad = api.get("/v1/subscriptions", {"status": "gone"}, HTTP_X_API_KEY=agent.key)
    assert bad.status_code == 400


def test_cancel_keeps_access_to_the_period_end_without_refund(api: Client) -> None:
    _, plan = provider_with_plan()
    agent = party(balance=20_000_000)
    sub_id = subscribe(api, plan, agent).json()["subscription_id"]
    response = post(api, f"/v1/subscriptions/{sub_id}/cancel", HTTP_X_API_KEY=agent.key)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["covers_now"] is True
    assert body["auto_renew"] is False
    assert agent.balance == 20_000_000 - AGENT_PRICE


def test_pause_then_resume(api: Client) -> None:
    _, plan = provider_with_plan()
    agent = party(balance=20_000_000)
    sub_id = subscribe(api, plan, agent).json()["subscription_id"]
    paused = post(api, f"/v1/subscriptions/{sub_id}/pause", HTTP_X_API_KEY=agent.key)
    assert paused.json()["status"] == "paused"
    resumed = post(api, f"/v1/subscriptions/{sub_id}/resume", HTTP_X_API_KEY=agent.key)
    assert resumed.json()["status"] == "active"
    again = post(api, f"/v1/subscriptions/{sub_id}/resume", HTTP_X_API_KEY=agent.key)
    assert again.status_code == 409


def test_another_agent_cannot_cancel(api: Client) -> None:
    _, plan = provider_with_plan()
    agent = party(balance=20_000_000)
    sub_id = subscribe(api, plan, agent).json()["subscription_id"]
    stranger = party()
    response = post(api, f"/v1/subscriptions/{sub_id}/cancel", HTTP_X_API_KEY=stranger.key)
    assert response.status_code == 404
    assert Subscription.objects.get().status == "active"


def test_the_plan_s_provider_cannot_move_a_subscription(api: Client) -> None:
    seller, plan = provider_with_plan()
    agent = party(balance=20_000_000)
    sub_id = subscribe(api, plan, agent).json()["subscription_id"]
    response = post(api, f"/v1/subscriptions/{sub_id}/cancel", HTTP_X_API_KEY=seller.key)
    assert response.status_code == 403
    assert Subscription.objects.get().status == "active"


def test_a_new_plan_price_applies_to_new_subscribers_only(api: Client) -> None:
    seller, plan = provider_with_plan()
    agent = party(balance=20_000_000)
    subscribe(api, plan, agent)
    plan.price_changed_at = timezone.now() - timedelta(hours=1)
    api.put(
        f"/v1/plans/{plan.public_id}",
        '{"price": "30.00"}',
        content_type="application/json",
        HTTP_X_API_KEY=seller.key,
    )
    assert Subscription.objects.get().price_micros == PRICE
