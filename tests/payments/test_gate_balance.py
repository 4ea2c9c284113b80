"""Deposits, paying from the prepaid balance, key rotation and Idempotency-Key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from payments.chain.usdc import balance_of
from payments.ledger_check import ledger_problems
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def pay(api: Client, path: str, body: Any, payer: Any, *, version: int = 1) -> Any:
    header, value = payment_header(post(api, path, body), payer, version=version)
    return post(api, path, body, **{header: value})


@pytest.fixture
def registered(api: Client, chain: Any, funded_payer: Callable[..., Any]) -> Callable[..., tuple]:
    """A registered agent with `deposit` USD on its balance: (payer, api key)."""

    def _make(deposit: str | None = None, funds: int = 20_000_000) -> tuple[Any, str]:
        payer = funded_payer(funds)
        key = pay(api, "/v1/register", {"name": "Agent"}, payer).json()["api_key"]
        if deposit:
            assert pay(api, f"/v1/balance/deposit?amount={deposit}", {}, payer).status_code == 201
        return payer, key

    return _make


def test_a_deposit_asks_for_exactly_the_amount(api: Client, chain: Any) -> None:
    response = post(api, "/v1/balance/deposit?amount=2.50")
    assert response.status_code == 402
    assert response.json()["accepts"][0]["maxAmountRequired"] == "2500000"


@pytest.mark.parametrize("amount", ["0", "0.001", "abc", "20000.01", "1.0000001", ""])
def test_a_deposit_amount_out_of_bounds_is_a_400(api: Client, chain: Any, amount: str) -> None:
    response = post(api, f"/v1/balance/deposit?amount={amount}")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_amount", "invalid_request")


def test_a_deposit_credits_the_balance(api: Client, registered: Callable[..., tuple]) -> None:
    payer, key = registered("2.50")
    body = api.get("/v1/balance", HTTP_X_API_KEY=key).json()
    assert (body["balance_usd"], body["total_deposited_usd"], body["total_spent_usd"]) == (
        2.5,
        2.5,
        0,
    )
    assert ledger_problems() == []


def test_a_deposit_can_be_paid_with_v2(
    api: Client, registered: Callable[..., tuple], funded_payer: Any
) -> None:
    payer, key = registered()
    assert pay(api, "/v1/balance/deposit?amount=1", {}, payer, version=2).status_code == 201
    assert api.get("/v1/balance", HTTP_X_API_KEY=key).json()["balance_usd"] == 1


def test_paying_from_the_balance_deducts_the_price(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered("1.00")
    response = post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 200
    assert "guide" in response.json()
    body = api.get("/v1/balance", HTTP_X_API_KEY=key).json()
    assert (body["balance_usd"], body["total_spent_usd"]) == (0.999, 0.001)
    history = api.get("/v1/balance/history", HTTP_X_API_KEY=key).json()
    assert [e["kind"] for e in history["entries"]] == ["charge", "x402_payment"]
    assert history["entries"][0]["amount_usd"] == -0.001


def test_a_short_balance_falls_through_to_the_402_which_says_so(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered()
    response = post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 402
    assert response.json()["code"] == "insufficient_balance"
    assert "accepts" in response.json()


def test_a_bad_balance_key_is_a_401(api: Client, chain: Any) -> None:
    response = post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH="sk_nope")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_registration_cannot_be_paid_from_a_balance(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered("1.00")
    response = post(api, "/v1/register", {"name": "x"}, HTTP_X_BALANCE_AUTH=key)
    assert (response.status_code, response.json()["code"]) == (400, "balance_not_accepted")


def test_rotating_the_key_invalidates_the_old_one(
    api: Client, registered: Callable[..., tuple]
) -> None:
    payer, old = registered()
    response = pay(api, "/v1/participants/rotate-key", {}, payer)
    assert response.status_code == 200
    new = response.json()["api_key"]
    assert new != old
    assert api.get("/v1/balance", HTTP_X_API_KEY=old).status_code == 401
    assert api.get("/v1/balance", HTTP_X_API_KEY=new).status_code == 200


def test_an_unregistered_wallet_cannot_rotate_and_is_not_charged(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = pay(api, "/v1/participants/rotate-key", {}, payer)
    assert (response.status_code, response.json()["code"]) == (404, "not_registered")
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000


def test_an_idempotency_key_replays_the_first_response_and_charges_once(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered("1.00")
    first = post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert again["Idempotent-Replayed"] == "true"
    assert api.get("/v1/balance", HTTP_X_API_KEY=key).json()["balance_usd"] == 0.999


def test_an_idempotency_key_reused_for_another_request_is_a_422(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered("1.00")
    post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key, HTTP_IDEMPOTENCY_KEY="k-2")
    other = post(api, "/v1/discover", {"x": 1}, HTTP_X_BALANCE_AUTH=key, HTTP_IDEMPOTENCY_KEY="k-2")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_idempotency_keys_are_scoped_by_caller(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, first_key = registered("1.00")
    _, second_key = registered("1.00")
    post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=first_key, HTTP_IDEMPOTENCY_KEY="shared")
    second = post(
        api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=second_key, HTTP_IDEMPOTENCY_KEY="shared"
    )
    assert "Idempotent-Replayed" not in second
    assert api.get("/v1/balance", HTTP_X_API_KEY=second_key).json()["balance_usd"] == 0.999


def test_a_402_is_not_stored_so_the_paid_retry_goes_through(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered()
    short = post(api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key, HTTP_IDEMPOTENCY_KEY="k-3")
    assert short.status_code == 402
    _, rich_key = registered("1.00")
    assert (
        post(
            api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=rich_key, HTTP_IDEMPOTENCY_KEY="k-3"
        ).status_code
        == 200
    )


def test_an_overlong_idempotency_key_is_a_400(
    api: Client, registered: Callable[..., tuple]
) -> None:
    _, key = registered("1.00")
    response = post(
        api, "/v1/discover", {}, HTTP_X_BALANCE_AUTH=key, HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")


def test_the_faucet_mints_test_usdc_on_devnet(api: Client, chain: Any) -> None:
    address = "0x" + "ab" * 20
    response = post(api, "/v1/devnet/faucet", {"address": address, "amount": "5"})
    assert response.status_code == 200
    assert balance_of(token=chain.usdc, address=address) >= 5_000_000


def test_the_faucet_does_not_exist_off_devnet(api: Client, chain: Any, settings: Any) -> None:
    settings.NETWORK = "base"
    response = post(api, "/v1/devnet/faucet", {"address": "0x" + "ab" * 20})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"address": "0x12"},
        {"address": "0x" + "00" * 20},  # the token refuses to mint to it
        {"address": "0x" + "ab" * 20, "amount": "-1"},
        {"address": "0x" + "ab" * 20, "amount": "20000"},
    ],
)
def test_a_bad_faucet_request_is_a_400(api: Client, chain: Any, body: dict) -> None:
    assert post(api, "/v1/devnet/faucet", body).status_code == 400
