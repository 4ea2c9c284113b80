"""Interop with the official PyPI `x402` 2.25 client: it must parse our 402s and we must
accept what it signs. This is the guard against drifting from the real wire format.
"""

from __future__ import annotations

import base64
import json

import pytest
import time_machine
from eth_account import Account
from x402 import (
    NoMatchingRequirementsError,
    PaymentRequired,
    PaymentRequiredV1,
    x402ClientSync,
)
from x402.extensions.bazaar import validate_discovery_extension, validate_discovery_extension_spec
from x402.extensions.bazaar.v1.facilitator import extract_discovery_info_v1
from x402.http import x402HTTPClientSync
from x402.http.utils import decode_payment_required_header, decode_payment_response_header
from x402.mechanisms.evm.exact import register_exact_evm_client

from payments.x402 import (
    decode_payment_header,
    encode_settle_response,
    payment_required_body,
    payment_required_header,
    select_option,
    verify_payment,
)
from payments.x402.samples import SAMPLE_NOW, sample_option

ECHO_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}
TX_HASH = "0x" + "ab" * 32
DEVNET_USDC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"  # first anvil deployment


def official_client(account: object) -> x402HTTPClientSync:
    """The client an agent would use: v2 for eip155:*, v1 for the legacy network names."""
    return x402HTTPClientSync(register_exact_evm_client(x402ClientSync(), account))


def our_402(options: list) -> tuple[dict[str, str], bytes]:
    headers = {"PAYMENT-REQUIRED": payment_required_header(options, "Payment required")}
    body = json.dumps(payment_required_body(options, "X-PAYMENT header is required")).encode()
    return headers, body


def pay_with_official_client(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], str]:
    """Let a fresh official client answer our 402 at SAMPLE_NOW; returns (headers, payer)."""
    account = Account.create()
    with time_machine.travel(SAMPLE_NOW, tick=False):
        payment_headers, _ = official_client(account).handle_402_response(
            headers, body, "https://the402.example/api/services/echo"
        )
    return payment_headers, account.address


def test_official_v2_client_payment_is_accepted() -> None:
    options = [sample_option(input_schema=ECHO_SCHEMA)]
    paid, account = pay_with_official_client(*our_402(options))

    payload = decode_payment_header(paid["PAYMENT-SIGNATURE"], version=2)
    payer = verify_payment(payload, select_option(payload, options), now=SAMPLE_NOW)

    assert payer == account


def test_official_v2_client_signs_valid_after_zero() -> None:
    options = [sample_option()]
    paid, _ = pay_with_official_client(*our_402(options))

    payload = decode_payment_header(paid["PAYMENT-SIGNATURE"], version=2)

    assert payload.authorization.valid_after == 0
    assert payload.accepted == options[0].v2_requirements()


def test_official_v1_client_payment_from_body_is_accepted() -> None:
    options = [sample_option(input_schema=ECHO_SCHEMA)]
    _, body = our_402(options)
    paid, account = pay_with_official_client({}, body)

    payload = decode_payment_header(paid["X-PAYMENT"], version=1)
    payer = verify_payment(payload, select_option(payload, options), now=SAMPLE_NOW)

    assert payer == account


def test_official_client_reads_our_v2_payment_response() -> None:
    client = official_client(Account.create())
    header = encode_settle_response(
        success=True, transaction=TX_HASH, network="eip155:84532", payer=sample_option().pay_to
    )

    settled = client.get_payment_settle_response({"PAYMENT-RESPONSE": header}.get)

    assert (settled.success, settled.transaction, settled.network) == (
        True,
        TX_HASH,
        "eip155:84532",
    )


def test_official_client_reads_our_v1_payment_response() -> None:
    client = official_client(Account.create())
    header = encode_settle_response(
        success=True, transaction=TX_HASH, network="base-sepolia", payer=None
    )

    settled = client.get_payment_settle_response({"X-PAYMENT-RESPONSE": header}.get)

    assert (settled.network, settled.payer) == ("base-sepolia", None)


def test_official_decoder_reads_failed_settlement() -> None:
    header = encode_settle_response(
        success=False,
        transaction="",
        network="eip155:84532",
        payer=None,
        error_reason="invalid_exact_evm_insufficient_balance",
    )

    settled = decode_payment_response_header(header)

    assert (settled.success, settled.error_reason) == (
        False,
        "invalid_exact_evm_insufficient_balance",
    )


def test_official_schema_accepts_our_v2_payment_required() -> None:
    header = payment_required_header([sample_option()], "Payment required")

    parsed = PaymentRequired.model_validate_json(base64.b64decode(header))

    assert parsed.accepts[0].amount == "10000"
    assert parsed.accepts[0].extra == {"name": "USDC", "version": "2"}
    assert parsed.resource is not None
    assert parsed.resource.url == "https://the402.example/api/services/echo"
    assert parsed.extensions is not None
    assert validate_discovery_extension(parsed.extensions["bazaar"]).valid


def test_official_schema_accepts_our_v1_body() -> None:
    body = payment_required_body([sample_option()], "X-PAYMENT header is required")

    parsed = PaymentRequiredV1.model_validate(body)

    assert parsed.accepts[0].max_amount_required == "10000"
    assert parsed.accepts[0].network == "base-sepolia"


def test_official_bazaar_validator_accepts_our_extension() -> None:
    header = payment_required_header([sample_option(input_schema=ECHO_SCHEMA)], "Payment required")
    bazaar = PaymentRequired.model_validate_json(base64.b64decode(header)).extensions["bazaar"]

    assert validate_discovery_extension(bazaar).valid
    assert validate_discovery_extension_spec(bazaar).valid


def test_official_v1_bazaar_extractor_reads_our_output_schema() -> None:
    option = sample_option(input_schema=ECHO_SCHEMA, method="POST")

    info = extract_discovery_info_v1(option.v1_requirements())

    assert info is not None
    assert (info.input.method, info.input.body) == ("POST", ECHO_SCHEMA)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bazaar_extension_rejects_info_of_another_method(method: str) -> None:
    bazaar = sample_option(input_schema=ECHO_SCHEMA, method=method).bazaar_extension()
    assert bazaar is not None
    bazaar["info"]["input"]["method"] = "PUT" if method == "POST" else "DELETE"

    assert not validate_discovery_extension(bazaar).valid


def test_official_client_pays_non_default_token_only_when_allowed() -> None:
    """Devnet USDC lives at our own address: official clients refuse it unless allow-listed."""
    options = [sample_option(asset=DEVNET_USDC)]
    headers, body = our_402(options)
    account = Account.create()
    client = x402ClientSync()
    register_exact_evm_client(client, account)
    with pytest.raises(NoMatchingRequirementsError):
        client.create_payment_payload(decode_payment_required_header(headers["PAYMENT-REQUIRED"]))
    client.set_spend_controls(
        {"allowed_assets": [{"network": "eip155:84532", "asset": DEVNET_USDC}]}
    )

    with time_machine.travel(SAMPLE_NOW, tick=False):
        paid, _ = x402HTTPClientSync(client).handle_402_response(headers, body, "https://x")
    payload = decode_payment_header(paid["PAYMENT-SIGNATURE"], version=2)

    assert verify_payment(payload, select_option(payload, options), now=SAMPLE_NOW) == (
        account.address
    )
