"""Encoding and decoding of x402 headers and bodies: strictness at the trust boundary."""

from __future__ import annotations

import base64
import json

import pytest
from eth_account import Account

from payments.networks import NETWORKS
from payments.x402 import (
    X402Error,
    decode_payment_header,
    decode_settle_response,
    encode_settle_response,
    payment_required_body,
    payment_required_header,
)
from payments.x402.samples import sample_option, signed_header

PAYER = Account.create()
ECHO_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}}


def b64(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def unb64(value: str) -> dict:
    return json.loads(base64.b64decode(value))


def header_json(version: int = 2) -> dict:
    return unb64(signed_header(sample_option(), PAYER, version=version))


def reason_for(value: str, version: int = 2) -> str:
    with pytest.raises(X402Error) as caught:
        decode_payment_header(value, version=version)
    return caught.value.reason


# --- 402 rendering -------------------------------------------------------------------------


def test_v1_requirements_carry_legacy_network_and_max_amount() -> None:
    requirements = sample_option().v1_requirements()

    assert requirements["network"] == "base-sepolia"
    assert requirements["maxAmountRequired"] == "10000"
    assert requirements["extra"] == {"name": "USDC", "version": "2"}


def test_v1_requirements_carry_output_schema_without_an_input_schema() -> None:
    assert sample_option().v1_requirements()["outputSchema"] == {
        "input": {
            "type": "http",
            "method": "POST",
            "discoverable": True,
            "bodyType": "json",
            "bodyFields": {},
        }
    }


def test_v1_output_schema_marks_input_discoverable() -> None:
    option = sample_option(input_schema=ECHO_SCHEMA, output_schema={"type": "object"})

    output_schema = option.v1_requirements()["outputSchema"]

    assert output_schema["input"] == {
        "type": "http",
        "method": "POST",
        "discoverable": True,
        "bodyType": "json",
        "bodyFields": ECHO_SCHEMA,
    }
    assert output_schema["output"] == {"type": "object"}


def test_v1_output_schema_puts_get_input_in_query_params() -> None:
    option = sample_option(input_schema=ECHO_SCHEMA, method="get")

    assert option.v1_requirements()["outputSchema"]["input"]["queryParams"] == ECHO_SCHEMA


def test_v2_requirements_use_caip2_and_amount() -> None:
    assert sample_option().v2_requirements() == {
        "scheme": "exact",
        "network": "eip155:84532",
        "amount": "10000",
        "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
        "maxTimeoutSeconds": 300,
        "extra": {"name": "USDC", "version": "2"},
    }


def test_option_checksums_lowercase_addresses() -> None:
    option = sample_option(pay_to="0x209693bc6afc0c5328ba36faf03c514ef312287c")

    assert option.pay_to == "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"


@pytest.mark.parametrize(
    "overrides",
    [{"amount": 0}, {"amount": 1.5}, {"resource": "/relative"}, {"method": "TRACE"}],
)
def test_option_rejects_invalid_configuration(overrides: dict) -> None:
    with pytest.raises(ValueError):
        sample_option(**overrides)


def test_option_domain_uses_network_chain_and_asset() -> None:
    domain = sample_option(network=NETWORKS["base"], asset_name="USD Coin").domain()

    assert (domain.chain_id, domain.name, domain.version) == (8453, "USD Coin", "2")


def test_payment_required_body_is_v1() -> None:
    options = [sample_option(), sample_option(network=NETWORKS["base"])]

    body = payment_required_body(options, "X-PAYMENT header is required")

    assert body["x402Version"] == 1
    assert body["error"] == "X-PAYMENT header is required"
    assert [entry["network"] for entry in body["accepts"]] == ["base-sepolia", "base"]


def test_payment_required_header_is_base64_v2() -> None:
    decoded = unb64(payment_required_header([sample_option()], "Payment required"))

    assert decoded["x402Version"] == 2
    assert decoded["resource"] == {
        "url": "https://the402.example/api/services/echo",
        "description": "Echo service",
        "mimeType": "application/json",
    }
    assert decoded["accepts"] == [sample_option().v2_requirements()]
    assert decoded["extensions"]["bazaar"]["info"] == {
        "input": {"type": "http", "method": "POST", "bodyType": "json", "body": {}}
    }


def test_payment_required_header_declares_bazaar_with_input_schema() -> None:
    option = sample_option(input_schema=ECHO_SCHEMA)

    decoded = unb64(payment_required_header([option], "Payment required"))

    bazaar = decoded["extensions"]["bazaar"]
    assert bazaar["info"]["input"] == {
        "type": "http",
        "method": "POST",
        "bodyType": "json",
        "body": {"text": "example"},
    }
    assert bazaar["schema"]["properties"]["input"]["properties"]["body"] == ECHO_SCHEMA


def test_payment_required_needs_an_option() -> None:
    with pytest.raises(ValueError):
        payment_required_header([], "Payment required")


# --- payment header decoding ---------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_decodes_signed_header(version: int) -> None:
    payload = decode_payment_header(
        signed_header(sample_option(), PAYER, version=version), version=version
    )

    assert payload.version == version
    assert payload.scheme == "exact"
    assert payload.authorization.from_address == PAYER.address
    assert payload.authorization.value == 10_000


def test_v1_network_is_legacy_name() -> None:
    payload = decode_payment_header(signed_header(sample_option(), PAYER, version=1), version=1)

    assert (payload.network, payload.accepted) == ("base-sepolia", None)


def test_v2_network_comes_from_accepted() -> None:
    payload = decode_payment_header(signed_header(sample_option(), PAYER, version=2), version=2)

    assert payload.network == "eip155:84532"
    assert payload.accepted == sample_option().v2_requirements()


def test_raw_keeps_decoded_json_for_forwarding() -> None:
    data = header_json()

    assert decode_payment_header(b64(data), version=2).raw == data


def test_accepts_json_integers_for_numbers() -> None:
    data = header_json()
    authorization = data["payload"]["authorization"]
    for key in ("value", "validAfter", "validBefore"):
        authorization[key] = int(authorization[key])

    payload = decode_payment_header(b64(data), version=2)

    assert payload.authorization.value == 10_000


@pytest.mark.parametrize(
    "value",
    ["", "not base64!", "eyJ4IjoxfQ", "eyJ4IjoxfQ==\n", "eyJ4Ijox-Q==", "e30=e30="],
)
def test_rejects_bad_base64(value: str) -> None:
    assert reason_for(value) == "invalid_payload"


def test_rejects_url_safe_alphabet() -> None:
    value = base64.urlsafe_b64encode(b'{"x402Version":2,"k":"\xff\xfe"}').decode()
    assert "-" in value or "_" in value

    assert reason_for(value) == "invalid_payload"


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"x": NaN}', b"[" * 5000])
def test_rejects_non_json_object(raw: bytes) -> None:
    assert reason_for(base64.b64encode(raw).decode()) == "invalid_payload"


def test_rejects_oversize_header() -> None:
    data = header_json()
    data["padding"] = "x" * 16_384

    assert reason_for(b64(data)) == "invalid_payload"


@pytest.mark.parametrize("version", [1, 2])
def test_rejects_other_version(version: int) -> None:
    other = 2 if version == 1 else 1

    assert reason_for(signed_header(sample_option(), PAYER, version=other), version) == (
        "invalid_x402_version"
    )


@pytest.mark.parametrize("found", [None, True, "2", 3])
def test_rejects_missing_or_mistyped_version(found: object) -> None:
    data = header_json()
    data["x402Version"] = found

    assert reason_for(b64(data)) == "invalid_x402_version"


@pytest.mark.parametrize(
    "path",
    [
        ("payload",),
        ("payload", "signature"),
        ("payload", "authorization"),
        ("payload", "authorization", "from"),
        ("payload", "authorization", "to"),
        ("payload", "authorization", "value"),
        ("payload", "authorization", "validAfter"),
        ("payload", "authorization", "validBefore"),
        ("payload", "authorization", "nonce"),
        ("accepted",),
        ("accepted", "scheme"),
        ("accepted", "network"),
        ("accepted", "amount"),
        ("accepted", "asset"),
        ("accepted", "payTo"),
        ("accepted", "maxTimeoutSeconds"),
    ],
)
def test_rejects_missing_field(path: tuple[str, ...]) -> None:
    data = header_json()
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]

    assert reason_for(b64(data)) == "invalid_payload"


@pytest.mark.parametrize("key", ["scheme", "network"])
def test_rejects_missing_v1_top_level_field(key: str) -> None:
    data = header_json(version=1)
    del data[key]

    assert reason_for(b64(data), version=1) == "invalid_payload"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("from", "0x1234"),
        ("to", "209693Bc6afc0C5328bA36FaF03C514EF312287C"),
        ("value", "-1"),
        ("value", "1.5"),
        ("value", -1),
        ("value", True),
        ("value", str(2**256)),
        ("validBefore", "0x10"),
        ("validAfter", None),
        ("nonce", "0x" + "ab" * 31),
        ("nonce", "ab" * 32),
    ],
)
def test_rejects_mistyped_authorization_field(key: str, value: object) -> None:
    data = header_json()
    data["payload"]["authorization"][key] = value

    assert reason_for(b64(data)) == "invalid_payload"


@pytest.mark.parametrize("signature", ["0x" + "ab" * 64, "ab" * 65, "0x" + "zz" * 65, "0xabc", 7])
def test_rejects_malformed_signature(signature: object) -> None:
    data = header_json()
    data["payload"]["signature"] = signature

    assert reason_for(b64(data)) == "invalid_payload"


def test_error_messages_never_contain_the_signature() -> None:
    data = header_json()
    signature = data["payload"]["signature"]
    data["payload"]["authorization"]["nonce"] = signature

    with pytest.raises(X402Error) as caught:
        decode_payment_header(b64(data), version=2)

    assert signature.removeprefix("0x") not in str(caught.value)


def test_accepts_longer_signature_for_verify_to_judge() -> None:
    data = header_json()
    data["payload"]["signature"] += "00"

    assert len(decode_payment_header(b64(data), version=2).signature) == 2 + 132


# --- fingerprint ---------------------------------------------------------------------------


def test_fingerprint_is_stable_across_reencoding() -> None:
    data = header_json()
    reordered = dict(reversed(list(json.loads(json.dumps(data)).items())))
    reordered["payload"]["authorization"]["value"] = 10_000
    reordered["payload"]["signature"] = (
        reordered["payload"]["signature"].upper().replace("0X", "0x")
    )
    pretty = base64.b64encode(json.dumps(reordered, indent=4).encode()).decode()

    assert decode_payment_header(pretty, version=2).fingerprint() == (
        decode_payment_header(b64(data), version=2).fingerprint()
    )


def test_fingerprint_ignores_v_encoding() -> None:
    data = header_json()
    original = decode_payment_header(b64(data), version=2)
    signature = bytearray.fromhex(data["payload"]["signature"][2:])
    signature[64] -= 27
    data["payload"]["signature"] = "0x" + signature.hex()

    assert decode_payment_header(b64(data), version=2).fingerprint() == original.fingerprint()


def test_fingerprint_is_the_same_for_v1_and_v2_carriage() -> None:
    v2 = decode_payment_header(signed_header(sample_option(), PAYER, version=2), version=2)
    v1_json = {
        "x402Version": 1,
        "scheme": "exact",
        "network": "base-sepolia",
        "payload": v2.raw["payload"],
    }

    assert decode_payment_header(b64(v1_json), version=1).fingerprint() == v2.fingerprint()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("from", "0x" + "a1" * 20),
        ("to", "0x" + "b2" * 20),
        ("value", "10001"),
        ("validAfter", "1"),
        ("validBefore", "1767225601"),
        ("nonce", "0x" + "00" * 32),
    ],
)
def test_fingerprint_changes_with_any_signed_field(key: str, value: str) -> None:
    data = header_json()
    before = decode_payment_header(b64(data), version=2).fingerprint()
    data["payload"]["authorization"][key] = value

    assert decode_payment_header(b64(data), version=2).fingerprint() != before


def test_fingerprint_changes_with_signature() -> None:
    data = header_json()
    before = decode_payment_header(b64(data), version=2).fingerprint()
    data["payload"]["signature"] = "0x" + "11" * 65

    assert decode_payment_header(b64(data), version=2).fingerprint() != before


def test_fingerprint_changes_with_network() -> None:
    data = header_json()
    before = decode_payment_header(b64(data), version=2).fingerprint()
    data["accepted"]["network"] = "eip155:8453"

    assert decode_payment_header(b64(data), version=2).fingerprint() != before


# --- settlement receipt --------------------------------------------------------------------


def test_settle_response_round_trips() -> None:
    header = encode_settle_response(
        success=True, transaction="0x" + "ab" * 32, network="eip155:84532", payer=PAYER.address
    )

    assert decode_settle_response(header) == {
        "success": True,
        "transaction": "0x" + "ab" * 32,
        "network": "eip155:84532",
        "payer": PAYER.address,
    }


def test_settle_response_omits_absent_optionals() -> None:
    header = encode_settle_response(success=True, transaction="0x01", network="base", payer=None)

    assert set(unb64(header)) == {"success", "transaction", "network"}


def test_failed_settle_response_carries_error_reason() -> None:
    header = encode_settle_response(
        success=False, transaction="", network="base", payer=None, error_reason="transaction_failed"
    )

    assert decode_settle_response(header)["errorReason"] == "transaction_failed"


@pytest.mark.parametrize(
    "data",
    [
        {"success": "yes", "transaction": "", "network": "base"},
        {"success": True, "network": "base"},
        {"success": True, "transaction": "", "network": 8453},
        {"success": True, "transaction": "", "network": "base", "payer": 1},
    ],
)
def test_decode_settle_response_rejects_malformed(data: dict) -> None:
    with pytest.raises(X402Error) as caught:
        decode_settle_response(b64(data))

    assert caught.value.reason == "invalid_payload"


def test_payment_option_is_frozen() -> None:
    with pytest.raises(AttributeError):
        sample_option().amount = 1  # type: ignore[misc]
