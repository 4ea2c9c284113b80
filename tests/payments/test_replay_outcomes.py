"""A payment whose request died before sending its settlement (during the provider's call):
a replay of the same payment header gets the payment's final outcome as soon as it can be
known, never "send the same request" until the authorization expires.

The death is the row the gate writes when it claims an authorization, left as it is, with
nothing sent to the chain: exactly what a process killed during `prepare` leaves behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from payments import x402
from payments.chain.usdc import balance_of as chain_balance
from payments.chain.usdc import settle_transfer_with_authorization
from payments.ledger import agent_account, balance_of
from payments.ledger_check import ledger_problems
from payments.models import X402Payment
from payments.reconcile import reconcile
from payments.services import participant_for_wallet, participant_update
from tests.factories import ParticipantFactory, ServiceFactory
from tests.payments.x402_client import payment_header, requirements
from tests.provider_server import Provider
from the402.lib.ids import new_public_id
from the402.lib.money import format_usd

PRICE, FEE = 1_000_000, 50_000
TOTAL = PRICE + FEE
LATER = timedelta(hours=2)


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider here listens on 127.0.0.1
    settings.DATA_API_TIMEOUT = 5


@pytest.fixture
def service(provider_server: Provider) -> Any:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    return ServiceFactory(provider=provider, price_micros=PRICE)


def buy(service: Any, **headers: str) -> Any:
    return Client(HTTP_HOST="127.0.0.1").post(
        f"/v1/services/{service.public_id}/purchase",
        json.dumps({}),
        content_type="application/json",
        **headers,
    )


def died_while_calling_the_provider(
    service: Any, payer: Any, *, ago: timedelta = timedelta(minutes=10), **overrides: Any
) -> tuple[dict[str, str], X402Payment]:
    """A purchase whose process claimed the payment, then died during the provider's call:
    (the payment header, to replay; the claim it left)."""
    challenge = buy(service)
    header, value = payment_header(challenge, payer, version=2, **overrides)
    payload = x402.decode_payment_header(value, version=2)
    auth = payload.authorization
    claim = X402Payment.objects.create(
        public_id=new_public_id("pay"),
        x402_version=2,
        network=payload.network,
        asset=auth_asset(challenge),
        payer=auth.from_address.lower(),
        pay_to=auth.to_address.lower(),
        amount=auth.value,
        nonce=auth.nonce.lower(),
        valid_before=auth.valid_before,
        fingerprint=payload.fingerprint(),
        method="POST",
        resource=requirements(challenge, version=1)["resource"],
    )
    then = timezone.now() - ago
    X402Payment.objects.filter(pk=claim.pk).update(created_at=then, updated_at=then)
    return {header: value}, claim


def auth_asset(challenge: Any) -> str:
    return requirements(challenge, version=2)["asset"].lower()


@pytest.mark.django_db
def test_a_replay_settles_a_payment_whose_request_died_before_sending_it(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider, service: Any
) -> None:
    payer = funded_payer(5 * TOTAL)
    headers, claim = died_while_calling_the_provider(service, payer)
    response = buy(service, **headers)
    assert response.status_code == 201, response.content
    claim.refresh_from_db()
    assert (claim.status, claim.fulfilled_at is not None) == ("settled", True)
    assert len(provider_server.received) == 1
    assert chain_balance(token=chain.usdc, address=payer.address) == 4 * TOTAL
    assert ledger_problems() == []


@pytest.mark.django_db
def test_a_replay_leaves_a_claim_whose_request_may_still_be_running(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider, service: Any
) -> None:
    payer = funded_payer(5 * TOTAL)
    headers, _ = died_while_calling_the_provider(service, payer, ago=timedelta(seconds=5))
    response = buy(service, **headers)
    assert (response.status_code, response.json()["code"]) == (202, "payment_pending")
    assert provider_server.received == []
    assert chain_balance(token=chain.usdc, address=payer.address) == 5 * TOTAL


@pytest.mark.django_db
def test_a_replay_of_a_payment_reconcile_found_expired_unused_is_told_it_failed(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider, service: Any
) -> None:
    payer = funded_payer(5 * TOTAL)
    headers, claim = died_while_calling_the_provider(
        service, payer, valid_before=int(time.time()) - 60
    )
    reconcile(now=timezone.now() + LATER)
    claim.refresh_from_db()
    assert claim.status == "failed"
    response = buy(service, **headers)
    assert (response.status_code, response.json()["code"]) == (
        402,
        "authorization_expired_unused",
    )
    assert provider_server.received == []


@pytest.mark.django_db
def test_a_replay_of_a_payment_credited_to_the_balance_is_told_so_with_the_amount(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider, service: Any
) -> None:
    payer = funded_payer(5 * TOTAL)
    headers, _ = died_while_calling_the_provider(service, payer)
    # The transfer landed (sent before the process died, or by anyone holding the header).
    payload = x402.decode_payment_header(next(iter(headers.values())), version=2)
    landed = settle_transfer_with_authorization(
        token=chain.usdc, authorization=payload.authorization, signature=payload.signature
    )
    assert landed.status == "settled"
    reconcile(now=timezone.now() + LATER)  # settled, request never completed: credited
    response = buy(service, **headers)
    assert response.status_code == 409
    assert response.json()["code"] == "payment_credited_to_balance"
    assert response.json()["refunded_to_balance"] == format_usd(TOTAL)
    assert balance_of(agent_account(participant_for_wallet(payer.address))) == TOTAL
    assert provider_server.received == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_a_dead_claim_settle_and_call_the_provider_once(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider, service: Any
) -> None:
    provider_server.answer(*[200] * 8, delay=0.3)
    payer = funded_payer(5 * TOTAL)
    headers, claim = died_while_calling_the_provider(service, payer)

    def replay(_: int) -> int:
        try:
            return buy(service, **headers).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(replay, range(8)))
    # One settles and calls the provider; the copies wait for its answer (202 only past
    # the settle timeout), never a 409.
    assert statuses.count(201) >= 1, statuses
    assert set(statuses) <= {201, 202}, statuses
    assert len(provider_server.received) == 1
    assert chain_balance(token=chain.usdc, address=payer.address) == 4 * TOTAL
    assert ledger_problems() == []
