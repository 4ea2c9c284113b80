"""Paying with x402 through the payment gate, against a real anvil chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from eth_account import Account

from payments.chain.usdc import balance_of
from payments.ledger import PLATFORM_FEES
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import Participant, X402Payment
from payments.x402.encoding import decode_json
from tests.payments.x402_client import payment_header, requirements, settle_response

pytestmark = pytest.mark.django_db

REGISTER = {"name": "Agent Smith", "type": "agent", "description": "Buys things"}


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def pay(
    api: Client, path: str, body: Any, payer: Any, *, version: int = 1, **overrides: Any
) -> Any:
    challenge = post(api, path, body)
    header, value = payment_header(challenge, payer, version=version, **overrides)
    return post(api, path, body, **{header: value})


def test_an_unpaid_request_gets_both_x402_challenges(api: Client, chain: Any) -> None:
    response = post(api, "/v1/register", REGISTER)
    assert response.status_code == 402
    body = response.json()
    assert (body["x402Version"], body["code"]) == (1, "payment_required")
    v1 = body["accepts"][0]
    assert (v1["scheme"], v1["network"], v1["maxAmountRequired"]) == (
        "exact",
        "base-sepolia",
        "10000",
    )
    assert (v1["payTo"], v1["asset"]) == (chain.treasury, chain.usdc)
    assert v1["resource"] == "http://127.0.0.1/v1/register"
    assert v1["extra"] == {"name": "USDC", "version": "2"}
    assert v1["mimeType"] and v1["description"] and v1["maxTimeoutSeconds"] > 0
    v2 = decode_json(response["PAYMENT-REQUIRED"], what="header")
    assert v2["x402Version"] == 2
    assert (v2["accepts"][0]["network"], v2["accepts"][0]["amount"]) == ("eip155:84532", "10000")
    assert response["Cache-Control"] == "no-store"


def test_the_challenge_comes_before_input_validation(api: Client, chain: Any) -> None:
    assert post(api, "/v1/register", {"type": "robot"}).status_code == 402


def test_the_402_is_readable_by_browsers(api: Client, chain: Any) -> None:
    response = api.post(
        "/v1/register", "{}", content_type="application/json", HTTP_ORIGIN="https://a.example"
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "payment-required" in response["Access-Control-Expose-Headers"].lower()


@pytest.mark.parametrize("version", [1, 2])
def test_registering_with_x402_settles_on_chain_and_creates_the_participant(
    api: Client, chain: Any, funded_payer: Callable[..., Any], version: int
) -> None:
    payer = funded_payer(1_000_000)
    treasury_before = balance_of(token=chain.usdc, address=chain.treasury)
    response = pay(api, "/v1/register", REGISTER, payer, version=version)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["api_key"].startswith("sk_") and body["wallet"] == payer.address
    receipt = decode_json(response["PAYMENT-RESPONSE"], what="receipt")
    assert receipt["success"] is True and receipt["transaction"].startswith("0x")
    assert response["X-PAYMENT-RESPONSE"] == response["PAYMENT-RESPONSE"]
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000
    assert balance_of(token=chain.usdc, address=chain.treasury) == treasury_before + 10_000
    assert ledger_balance(PLATFORM_FEES) == 10_000
    assert ledger_problems() == []


def test_registering_again_answers_200_with_the_same_key(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    first = pay(api, "/v1/register", REGISTER, payer).json()
    again = pay(api, "/v1/register", REGISTER, payer)
    assert again.status_code == 200
    assert (again.json()["participant_id"], again.json()["api_key"]) == (
        first["participant_id"],
        first["api_key"],
    )


def test_bad_input_with_a_valid_payment_is_a_400_and_is_not_charged(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = pay(api, "/v1/register", {"name": "x", "type": "robot"}, payer)
    assert response.status_code == 400
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000
    assert not X402Payment.objects.exists()


def test_the_same_payment_header_pays_for_one_request_only(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(post(api, "/v1/register", REGISTER), payer, version=1)
    first = post(api, "/v1/register", REGISTER, **{header: value})
    replay = post(api, "/v1/register", REGISTER, **{header: value})
    assert first.status_code == 201
    # A copy of the paid request gets its answer, not a second charge.
    assert (replay.status_code, replay.json()) == (201, first.json())
    other = post(api, "/v1/register", {**REGISTER, "name": "other"}, **{header: value})
    assert (other.status_code, other.json()["code"]) == (409, "payment_already_used")
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000


def test_a_payment_made_for_one_endpoint_cannot_pay_another(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(post(api, "/v1/register", REGISTER), payer, version=1)
    assert post(api, "/v1/register", REGISTER, **{header: value}).status_code == 201
    other = post(api, "/v1/discover", {}, **{header: value})
    assert other.status_code in (402, 409)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"valid_before": 1}, "invalid_exact_evm_payload_authorization_valid_before"),
        ({"valid_after": 4_102_444_800}, "invalid_exact_evm_payload_authorization_valid_after"),
        ({"to_address": "0x" + "12" * 20}, "invalid_exact_evm_payload_recipient_mismatch"),
        ({"value": 9_999}, "invalid_exact_evm_payload_authorization_value_mismatch"),
        ({"value": 10_001}, "invalid_exact_evm_payload_authorization_value_mismatch"),
        ({"network": "base"}, "invalid_network"),
    ],
)
def test_a_wrong_authorization_is_refused_with_its_reason_and_nothing_written(
    api: Client, chain: Any, funded_payer: Callable[..., Any], change: dict, reason: str
) -> None:
    payer = funded_payer(1_000_000)
    response = pay(api, "/v1/register", REGISTER, payer, **change)
    assert response.status_code == 402
    assert response.json()["code"] == reason
    assert not Participant.objects.filter(wallet=payer.address).exists()
    assert not X402Payment.objects.exists()
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000


def test_another_keys_signature_is_refused(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = pay(api, "/v1/register", REGISTER, payer, signer=Account.create())
    assert (response.status_code, response.json()["code"]) == (
        402,
        "invalid_exact_evm_payload_signature",
    )


def test_a_wrong_asset_in_v2_is_refused(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    challenge = post(api, "/v1/register", REGISTER)
    accepted = {**requirements(challenge, version=2), "asset": "0x" + "34" * 20}
    header, value = payment_header(challenge, payer, version=2, accepted=accepted)
    response = post(api, "/v1/register", REGISTER, **{header: value})
    assert (response.status_code, response.json()["code"]) == (
        402,
        "invalid_exact_evm_asset_mismatch",
    )


@pytest.mark.parametrize("value", ["%%%not-base64", "bm90IGpzb24=", "e30="])
def test_a_malformed_header_is_a_402_with_a_reason(api: Client, chain: Any, value: str) -> None:
    response = post(api, "/v1/register", REGISTER, HTTP_X_PAYMENT=value)
    assert response.status_code == 402
    assert response.json()["code"] in ("invalid_payload", "invalid_x402_version")


def test_insufficient_funds_on_chain_are_refused_at_verification_and_create_nothing(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(5_000)
    response = pay(api, "/v1/register", REGISTER, payer)
    assert response.status_code == 402
    assert response.json()["code"] == "invalid_exact_evm_insufficient_balance"
    assert not Participant.objects.filter(wallet=payer.address).exists()
    assert not X402Payment.objects.exists()  # refused before any claim or settlement
    assert ledger_balance(PLATFORM_FEES) == 0


def test_a_settlement_that_times_out_is_pending_and_completes_on_replay(
    api: Client, chain: Any, w3: Any, funded_payer: Callable[..., Any], settings: Any
) -> None:
    payer = funded_payer(1_000_000)
    settings.SETTLE_TIMEOUT = 1
    header, value = payment_header(post(api, "/v1/register", REGISTER), payer, version=1)
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        pending = post(api, "/v1/register", REGISTER, **{header: value})
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_mine", [])
    assert (pending.status_code, pending.json()["code"]) == (202, "payment_pending")
    assert not Participant.objects.filter(
        wallet=payer.address, registered_at__isnull=False
    ).exists()
    completed = post(api, "/v1/register", REGISTER, **{header: value})
    assert completed.status_code == 201, completed.content
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000
    assert ledger_problems() == []


def test_ledger_check_passes_with_the_chain_after_payments(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    pay(api, "/v1/register", REGISTER, funded_payer(1_000_000))
    call_command("ledger_check")


def test_settle_response_reports_the_payer(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    receipt = settle_response(pay(api, "/v1/register", REGISTER, payer))
    assert (receipt["payer"], receipt["network"]) == (payer.address, "base-sepolia")


def test_a_chain_outage_before_sending_fails_cleanly_and_moves_nothing(
    api: Client, chain: Any, funded_payer: Callable[..., Any], settings: Any
) -> None:
    from payments.chain.client import clear_caches

    payer = funded_payer(1_000_000)
    header, value = payment_header(post(api, "/v1/register", REGISTER), payer, version=1)
    settings.CHAIN_RPC_URL = "http://127.0.0.1:9"  # nothing listens: the chain is unreachable
    clear_caches()
    response = post(api, "/v1/register", REGISTER, **{header: value})
    settings.CHAIN_RPC_URL = chain.rpc_url
    clear_caches()
    # Nothing was broadcast (verification could not read the chain), so a new challenge is
    # safe.
    assert (response.status_code, response.json()["code"]) == (402, "rpc_unavailable")
    assert not X402Payment.objects.exists()
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000
