"""Shared set-up of the plans tests: a provider with services and a plan, agents with an
API key and a balance, and requests as the API sees them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.test import Client

from marketplace.models import Plan, ServiceType
from marketplace.plans.services import plan_create
from payments.ledger import agent_account, balance_of
from payments.models import Participant
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit

PRICE = 10_000_000  # $10 a month
AGENT_PRICE = 10_500_000
SERVICE_PRICE = 1_000_000


@dataclass
class Party:
    participant: Participant
    key: str

    @property
    def balance(self) -> int:
        return balance_of(agent_account(self.participant))


def party(kind: str = Participant.Type.AGENT, balance: int = 0) -> Party:
    participant = ParticipantFactory(type=kind)
    if balance:
        deposit(participant, balance)
    return Party(participant, api_key_issue(participant=participant))


def provider_with_plan(
    *,
    webhook_url: str = "",
    max_requests: int | None = None,
    service_type: str = ServiceType.AUTOMATED_SERVICE,
) -> tuple[Party, Plan]:
    seller = party(Participant.Type.PROVIDER)
    if webhook_url:
        participant_update(participant=seller.participant, webhook_url=webhook_url)
    service = ServiceFactory(
        provider=seller.participant, price_micros=SERVICE_PRICE, service_type=service_type
    )
    plan = plan_create(
        provider=seller.participant,
        name="Pro",
        description="Everything, monthly",
        price_micros=PRICE,
        billing_period="monthly",
        service_ids=[service.public_id],
        max_requests=max_requests,
    )
    return seller, plan


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def subscribe(api: Client, plan: Plan, agent: Party, **headers: str) -> Any:
    return post(
        api, f"/v1/plans/{plan.public_id}/subscribe", HTTP_X_BALANCE_AUTH=agent.key, **headers
    )
