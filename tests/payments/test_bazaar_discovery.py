"""Every paid endpoint's 402 carries x402 discovery, read here with the official SDK's bazaar
helpers (PyPI `x402`, `x402.extensions.bazaar`): the v2 extension in PAYMENT-REQUIRED (also
sent as X-PAYMENT-REQUIRED) and the v1 `outputSchema` in the JSON body."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from django.test import Client
from eth_account import Account
from x402 import x402ClientSync
from x402.extensions.bazaar import (
    extract_discovery_info,
    validate_discovery_extension,
    validate_discovery_extension_spec,
)
from x402.extensions.bazaar.v1.facilitator import extract_discovery_info_v1
from x402.http import x402HTTPClientSync
from x402.http.utils import decode_payment_required_header
from x402.mechanisms.evm.exact import register_exact_evm_client

from payments.api import RegisterView

pytestmark = pytest.mark.django_db

REGISTER_SCHEMA = RegisterView().price(None).input_schema  # type: ignore[arg-type]


def unpaid(api: Client, method: str, path: str, body: dict | None = None) -> Any:
    if method == "GET":
        response = api.get(path)
    else:
        response = api.post(path, body or {}, content_type="application/json")
    assert response.status_code == 402, response.content
    return response


def bazaar(response: Any) -> dict[str, Any]:
    required = decode_payment_required_header(response["PAYMENT-REQUIRED"])
    assert required.extensions is not None
    return required.extensions["bazaar"]


PAID = [
    ("POST", "/v1/register", {"name": "x"}),
    ("POST", "/v1/balance/deposit?amount=0.50", {}),
    ("GET", "/v1/reputation/0x0000000000000000000000000000000000000001", None),
    ("POST", "/v1/reputation/batch", {"wallets": []}),
]


@pytest.mark.parametrize(("method", "path", "body"), PAID)
def test_every_402_declares_a_valid_bazaar_extension(
    api: Client, chain: Any, method: str, path: str, body: dict | None
) -> None:
    extension = bazaar(unpaid(api, method, path, body))

    assert validate_discovery_extension(extension).valid
    assert validate_discovery_extension_spec(extension).valid
    assert extension["info"]["input"]["type"] == "http"
    assert extension["info"]["input"]["method"] == method


@pytest.mark.parametrize(("method", "path", "body"), PAID)
def test_every_402_sends_x_payment_required_beside_payment_required(
    api: Client, chain: Any, method: str, path: str, body: dict | None
) -> None:
    response = unpaid(api, method, path, body)

    assert response["X-PAYMENT-REQUIRED"] == response["PAYMENT-REQUIRED"]


@pytest.mark.parametrize(("method", "path", "body"), PAID)
def test_every_402_body_carries_the_v1_output_schema(
    api: Client, chain: Any, method: str, path: str, body: dict | None
) -> None:
    requirements = unpaid(api, method, path, body).json()["accepts"][0]

    info = extract_discovery_info_v1(requirements)

    assert info is not None
    assert info.input.method == method


def test_register_402_has_an_example_body_valid_under_its_input_schema(
    api: Client, chain: Any
) -> None:
    extension = bazaar(unpaid(api, "POST", "/v1/register", {"name": "x"}))

    info = extension["info"]["input"]
    assert info["bodyType"] == "json"
    jsonschema.validate(info["body"], REGISTER_SCHEMA)
    assert extension["schema"]["properties"]["input"]["properties"]["body"] == REGISTER_SCHEMA


def test_a_facilitator_catalogs_the_payment_an_official_client_makes(
    api: Client, chain: Any
) -> None:
    response = unpaid(api, "POST", "/v1/register", {"name": "x"})
    client = x402HTTPClientSync(register_exact_evm_client(x402ClientSync(), Account.create()))
    headers = {key: value for key, value in response.items()}

    _, payload = client.handle_402_response(headers, response.content, "http://127.0.0.1/")
    discovered = extract_discovery_info(payload, payload.accepted)

    assert discovered is not None
    assert (discovered.resource_url, discovered.method) == ("http://127.0.0.1/v1/register", "POST")
    assert discovered.x402_version == 2
