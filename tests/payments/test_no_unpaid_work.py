"""No unpaid work for providers: a data API's provider is called only on money that is sure.

A balance purchase holds its amount before the call (thirty concurrent purchases on money for
eleven call the provider eleven times); an x402 purchase is verified against the chain (the
payer's USDC balance, the authorization's nonce) before the call. The provider is a real HTTP
server on loopback; concurrency runs on PostgreSQL in CI (SQLite serialises writers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from payments import x402
from payments.chain.usdc import balance_of as chain_balance
from payments.chain.usdc import settle_transfer_with_authorization
from payments.eip3009 import sign
from payments.holds import hold_account, hold_take
from payments.ledger import PLATFORM_FEES, agent_account, balance_of, provider_account
from payments.ledger_check import ledger_problems
from payments.models import LedgerTransaction, Participant, X402Payment
from payments.reconcile import reconcile
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit, random_wallet
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

PRICE, FEE = 1_000_000, 50_000
TOTAL = PRICE + FEE


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider here listens on 127.0.0.1
    settings.DATA_API_TIMEOUT = 5


def data_api(provider_server: Provider) -> Any:
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


def buy_in_thread(service: Any, key: str) -> int:
    """One purchase on its own database connection, as a server thread makes it."""
    try:
        return buy(service, HTTP_X_BALANCE_AUTH=key).status_code
    finally:
        connection.close()


def buyer_with(amount: int) -> tuple[Participant, str]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, amount)
    return buyer, api_key_issue(participant=buyer)


# --- balance: a hold before the call ----------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_balance_purchases_on_money_for_eleven_call_the_provider_eleven_times(
    chain: Any, provider_server: Provider
) -> None:
    provider_server.answer(*[200] * 30, delay=0.3)  # every call overlaps the others
    service = data_api(provider_server)
    buyer, key = buyer_with(11 * TOTAL + TOTAL // 2)
    with ThreadPoolExecutor(max_workers=15) as pool:
        statuses = list(pool.map(lambda _: buy_in_thread(service, key), range(30)))
    assert statuses.count(201) == 11, statuses
    assert statuses.count(402) == 19, statuses
    assert len(provider_server.received) == 11
    assert LedgerTransaction.objects.filter(kind="charge").count() == 11
    assert balance_of(agent_account(buyer)) == TOTAL // 2
    assert balance_of(hold_account(buyer)) == 0
    assert balance_of(provider_account(service.provider)) == 11 * PRICE
    assert ledger_problems() == []


@pytest.mark.django_db
def test_a_provider_failure_gives_the_hold_back(chain: Any, provider_server: Provider) -> None:
    provider_server.answer(503)
    service = data_api(provider_server)
    buyer, key = buyer_with(TOTAL)
    assert buy(service, HTTP_X_BALANCE_AUTH=key).status_code == 502
    assert (balance_of(agent_account(buyer)), balance_of(hold_account(buyer))) == (TOTAL, 0)
    assert buy(service, HTTP_X_BALANCE_AUTH=key).status_code == 201  # the money is usable
    assert ledger_problems() == []


@pytest.mark.django_db
def test_a_hold_left_by_a_request_that_died_is_released_by_reconcile_once(chain: Any) -> None:
    buyer, _ = buyer_with(TOTAL)
    hold_take(buyer, TOTAL, description="Purchase", path="/v1/services/x/purchase")  # then died
    assert balance_of(agent_account(buyer)) == 0
    later = timezone.now() + timedelta(minutes=30)
    reconcile(now=later)
    reconcile(now=later)
    assert (balance_of(agent_account(buyer)), balance_of(hold_account(buyer))) == (TOTAL, 0)
    assert LedgerTransaction.objects.filter(kind="hold_release").count() == 1
    assert ledger_problems() == []


@pytest.mark.django_db
def test_reconcile_leaves_a_hold_whose_request_may_still_run(chain: Any) -> None:
    buyer, _ = buyer_with(TOTAL)
    hold_take(buyer, TOTAL, description="Purchase", path="/v1/services/x/purchase")
    reconcile(now=timezone.now() + timedelta(minutes=1))
    assert (balance_of(agent_account(buyer)), balance_of(hold_account(buyer))) == (0, TOTAL)


# --- x402: the chain is asked before the call -------------------------------------------
@pytest.mark.django_db
def test_an_x402_payer_without_enough_usdc_never_reaches_the_provider(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider
) -> None:
    service = data_api(provider_server)
    payer = funded_payer(TOTAL - 1)
    header, value = payment_header(buy(service), payer, version=2)
    response = buy(service, **{header: value})
    assert (response.status_code, response.json()["code"]) == (
        402,
        "invalid_exact_evm_insufficient_balance",
    )
    assert provider_server.received == []
    assert not X402Payment.objects.exists()


@pytest.mark.django_db
def test_an_x402_authorization_whose_nonce_was_used_never_reaches_the_provider(
    chain: Any, funded_payer: Callable[..., Any], provider_server: Provider, usdc_domain: Any
) -> None:
    service = data_api(provider_server)
    payer = funded_payer(5 * TOTAL)
    header, value = payment_header(buy(service), payer, version=2)
    # The payer spends the same nonce elsewhere before the purchase reaches us.
    ours = x402.decode_payment_header(value, version=2).authorization
    elsewhere = replace(ours, to_address=random_wallet())
    spent = settle_transfer_with_authorization(
        token=chain.usdc, authorization=elsewhere, signature=sign(usdc_domain, elsewhere, payer.key)
    )
    assert spent.status == "settled"
    response = buy(service, **{header: value})
    assert (response.status_code, response.json()["code"]) == (
        402,
        "invalid_exact_evm_nonce_already_used",
    )
    assert provider_server.received == []
    assert chain_balance(token=chain.usdc, address=payer.address) == 4 * TOTAL
    assert balance_of(PLATFORM_FEES) == 0
