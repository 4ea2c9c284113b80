"""POST /v1/provider/onboard: a wallet pays $0.01 over x402 and becomes a provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from payments.chain.usdc import balance_of
from payments.models import Participant, X402Payment
from payments.services import participant_register, participant_update, webhook_secret
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db

ONBOARD = {
    "name": "Acme Research",
    "description": "Desk research by people",
    "webhook_url": "https://acme.example/the402",
    "capabilities": ["research", "writing"],
}


def post(api: Client, path: str, body: Any, **headers: str) -> Any:
    return api.post(path, json.dumps(body), content_type="application/json", **headers)


def onboard(api: Client, payer: Any, body: Any = ONBOARD) -> Any:
    challenge = post(api, "/v1/provider/onboard", body)
    header, value = payment_header(challenge, payer, version=1)
    return post(api, "/v1/provider/onboard", body, **{header: value})


def test_an_unpaid_request_is_asked_for_one_cent(api: Client, chain: Any) -> None:
    response = post(api, "/v1/provider/onboard", ONBOARD)
    assert response.status_code == 402
    option = response.json()["accepts"][0]
    assert (option["maxAmountRequired"], option["payTo"]) == ("10000", chain.treasury)


def test_onboarding_pays_on_chain_and_returns_a_key_and_webhook_secret(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    treasury_before = balance_of(token=chain.usdc, address=chain.treasury)
    response = onboard(api, payer)
    assert response.status_code == 201, response.content
    body = response.json()
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000
    assert balance_of(token=chain.usdc, address=chain.treasury) == treasury_before + 10_000
    participant = Participant.objects.get(wallet=payer.address)
    assert (body["participant_id"], body["type"], body["wallet"]) == (
        participant.public_id,
        "provider",
        payer.address,
    )
    assert (body["name"], body["capabilities"]) == ("Acme Research", ["research", "writing"])
    assert body["api_key"].startswith("sk_")
    assert body["webhook_url"] == "https://acme.example/the402"
    assert body["webhook_secret"] == webhook_secret(participant)
    assert response["X-PAYMENT-RESPONSE"]


def test_the_new_key_lists_services_at_once(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    key = onboard(api, funded_payer(1_000_000)).json()["api_key"]
    listing = {"name": "Desk research", "description": "Ask us", "category": "research"}
    response = post(api, "/v1/services", {**listing, "price": "5"}, HTTP_X_API_KEY=key)
    assert response.status_code == 201, response.content


def test_onboarding_again_answers_200_with_the_same_key_and_secret(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    first = onboard(api, payer).json()
    again = onboard(api, payer, {**ONBOARD, "name": "Renamed"})
    assert again.status_code == 200, again.content
    assert (again.json()["api_key"], again.json()["webhook_secret"]) == (
        first["api_key"],
        first["webhook_secret"],
    )
    assert again.json()["name"] == "Acme Research"  # a repeat changes no profile
    assert Participant.objects.filter(wallet=payer.address).count() == 1


def test_an_agent_that_onboards_becomes_both(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    registration = participant_register(wallet=payer.address, name="Buyer bot", type="agent")
    response = onboard(api, payer)
    assert response.status_code == 200, response.content
    assert (response.json()["type"], response.json()["api_key"]) == ("both", registration.api_key)
    assert Participant.objects.get(wallet=payer.address).type == "both"


def test_without_a_webhook_url_the_provider_still_gets_its_webhook_secret(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = onboard(api, payer, {"name": "Quiet provider"})
    assert response.status_code == 201
    assert response.json()["webhook_url"] == ""
    participant = Participant.objects.get(wallet=payer.address)
    assert response.json()["webhook_secret"] == webhook_secret(participant)


def test_a_new_webhook_url_on_a_repeat_keeps_the_secret(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    first = onboard(api, payer).json()
    again = onboard(api, payer, {**ONBOARD, "webhook_url": "https://acme.example/v2"}).json()
    assert again["webhook_url"] == "https://acme.example/v2"
    assert again["webhook_secret"] == first["webhook_secret"]


def test_an_existing_secret_is_kept_when_the_url_is_unchanged(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    registration = participant_register(wallet=payer.address, name="Seller", type="provider")
    participant_update(participant=registration.participant, webhook_url=ONBOARD["webhook_url"])
    assert onboard(api, payer).json()["webhook_secret"] == registration.webhook_secret


@pytest.mark.parametrize(
    "body",
    [
        {"description": "no name"},
        {"name": "x" * 101},
        {"name": "Acme", "webhook_url": "ftp://acme.example/hook"},
        {"name": "Acme", "capabilities": "research"},
    ],
)
def test_bad_input_is_refused_before_any_money_moves(
    api: Client, chain: Any, funded_payer: Callable[..., Any], body: dict[str, Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = onboard(api, payer, body)
    assert response.status_code == 400, response.content
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000
    assert not X402Payment.objects.filter(payer=payer.address.lower()).exists()
    assert not Participant.objects.filter(
        wallet=payer.address, registered_at__isnull=False
    ).exists()


def test_a_prepaid_balance_cannot_pay_for_onboarding(api: Client, chain: Any) -> None:
    registration = participant_register(
        wallet="0x" + "ab" * 20, name="Balance holder", type="agent"
    )
    response = post(api, "/v1/provider/onboard", ONBOARD, HTTP_X_BALANCE_AUTH=registration.api_key)
    assert (response.status_code, response.json()["code"]) == (400, "balance_not_accepted")
