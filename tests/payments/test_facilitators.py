"""Our local facilitator served over HTTP, and the remote-facilitator client against it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.test import Client

from payments.chain.usdc import balance_of
from payments.facilitators import RemoteFacilitator, facilitator
from payments.ledger_check import ledger_problems
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served(live_server: Any, chain: Any, settings: Any) -> Iterator[str]:
    """This deployment serving /facilitator/, and the gate using it as a remote facilitator."""
    settings.SERVE_FACILITATOR = True
    settings.FACILITATOR = f"{live_server.url}/facilitator"
    facilitator.cache_clear()
    yield settings.FACILITATOR
    facilitator.cache_clear()


def post(api: Client, path: str, body: Any = None, **headers: str) -> Any:
    return api.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def test_the_facilitator_is_not_served_by_default(api: Client, chain: Any) -> None:
    assert api.get("/facilitator/supported").status_code == 404
    assert post(api, "/facilitator/verify", {}).status_code == 404


def test_supported_lists_both_versions_on_our_network(served: str) -> None:
    body = requests.get(f"{served}/supported", timeout=10).json()
    assert {"x402Version": 2, "scheme": "exact", "network": "eip155:84532"} in body["kinds"]
    assert {"x402Version": 1, "scheme": "exact", "network": "base-sepolia"} in body["kinds"]
    assert body["signers"]["eip155:*"]


@pytest.mark.parametrize("version", [1, 2])
def test_payments_verify_and_settle_through_the_remote_client(
    api: Client, served: str, chain: Any, funded_payer: Callable[..., Any], version: int
) -> None:
    assert isinstance(facilitator(), RemoteFacilitator)
    payer = funded_payer(1_000_000)
    header, value = payment_header(post(api, "/v1/register", {"name": "A"}), payer, version=version)
    response = post(api, "/v1/register", {"name": "A"}, **{header: value})
    assert response.status_code == 201, response.content
    assert balance_of(token=chain.usdc, address=payer.address) == 990_000
    assert ledger_problems() == []


def test_a_remote_rejection_comes_back_with_its_reason(
    api: Client, served: str, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(
        post(api, "/v1/register", {"name": "A"}), payer, version=1, value=1
    )
    response = post(api, "/v1/register", {"name": "A"}, **{header: value})
    assert response.status_code == 402
    assert response.json()["code"] == "invalid_exact_evm_payload_authorization_value_mismatch"


def test_malformed_facilitator_requests_are_answered_not_crashed(served: str) -> None:
    bad = requests.post(f"{served}/verify", json={"paymentPayload": 1}, timeout=10)
    assert bad.status_code == 400
    invalid = requests.post(
        f"{served}/verify",
        json={"paymentPayload": {"x402Version": 1}, "paymentRequirements": {"scheme": "exact"}},
        timeout=10,
    )
    assert invalid.status_code == 200
    assert invalid.json()["isValid"] is False


def test_an_unreachable_facilitator_fails_verification_cleanly(
    api: Client, chain: Any, funded_payer: Callable[..., Any], settings: Any
) -> None:
    settings.FACILITATOR = "http://127.0.0.1:9/facilitator"
    facilitator.cache_clear()
    try:
        payer = funded_payer(1_000_000)
        header, value = payment_header(post(api, "/v1/register", {"name": "A"}), payer, version=1)
        response = post(api, "/v1/register", {"name": "A"}, **{header: value})
    finally:
        facilitator.cache_clear()
    assert (response.status_code, response.json()["code"]) == (402, "facilitator_unavailable")
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000
