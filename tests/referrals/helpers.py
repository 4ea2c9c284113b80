"""Participants who refer and are referred, and real purchases through the API."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from marketplace.models import Service
from payments.models import Participant
from payments.services import Registration, participant_register, participant_update
from referrals.program import code_for
from tests.factories import ServiceFactory, deposit, random_wallet
from tests.provider_server import Provider

ONE_USD = 1_000_000
PRICE, FEE = ONE_USD, 50_000  # a data API's price and its 5% platform fee


def signup(*, code: str = "", type: str = "agent", wallet: str | None = None) -> Registration:
    """A registration (`POST /v1/register`'s service), with a referral code."""
    return participant_register(
        wallet=wallet or random_wallet(), name="Someone", type=type, referral_code=code
    )


def referrer() -> tuple[Participant, str, str]:
    """A registered participant: (participant, API key, referral code)."""
    registration = signup()
    participant = registration.participant
    return participant, registration.api_key, code_for(participant.public_id)


def buyer(code: str = "", funds: int = 100 * ONE_USD) -> tuple[Participant, str]:
    """A registered agent with a prepaid balance: (participant, API key)."""
    registration = signup(code=code)
    deposit(registration.participant, funds)
    return registration.participant, registration.api_key


def data_api(provider_server: Provider, *, code: str = "", price: int = PRICE) -> Service:
    """A data API answered by `provider_server`, of a provider registered (with `code`)."""
    provider = signup(code=code, type="provider").participant
    participant_update(participant=provider, webhook_url=provider_server.url)
    return ServiceFactory(provider=provider, price_micros=price)


def buy(api: Client, service: Service, key: str, times: int = 1) -> list[Any]:
    """Real balance-paid purchases through the API; each answered 201."""
    answers = []
    for _ in range(times):
        response = api.post(
            f"/v1/services/{service.public_id}/purchase",
            json.dumps({}),
            content_type="application/json",
            HTTP_X_BALANCE_AUTH=key,
        )
        assert response.status_code == 201, response.content
        answers.append(response.json())
    return answers
