"""select_option + verify_payment: every refusal with its exact reason, and the fast
signature path proven equal to eth-account's reference recovery.
"""

from __future__ import annotations

import base64
import json
import random

import pytest
from eth_account import Account

from payments.eip3009 import (
    Authorization,
    TokenDomain,
    domain_separator,
    fast_recover_signer,
    recover_signer,
    sign,
)
from payments.networks import NETWORKS
from payments.x402 import X402Error, decode_payment_header, select_option, verify_payment
from payments.x402.bench import verifications_per_second
from payments.x402.samples import SAMPLE_NOW, sample_option, signed_header
from payments.x402.verify import SECP256K1_N

PAYER = Account.create()
OTHER = Account.create()
NOW = SAMPLE_NOW


def b64(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def payload_for(option=None, *, version: int = 2, signer=PAYER, **overrides):
    option = option or sample_option()
    return decode_payment_header(
        signed_header(option, signer, version=version, **overrides), version=version
    )


def edited(payload, edit) -> object:
    """Re-decode `payload` after `edit(json)`: a client that tampered with the header."""
    data = json.loads(json.dumps(payload.raw))
    edit(data)
    return decode_payment_header(b64(data), version=payload.version)


def verify_reason(payload, option=None, now: int = NOW) -> str:
    with pytest.raises(X402Error) as caught:
        verify_payment(payload, option or sample_option(), now=now)
    return caught.value.reason


def select_reason(payload, options) -> str:
    with pytest.raises(X402Error) as caught:
        select_option(payload, options)
    return caught.value.reason


def with_signature(payload, signature: bytes):
    def edit(data: dict) -> None:
        data["payload"]["signature"] = "0x" + signature.hex()

    return edited(payload, edit)


def signature_bytes(payload) -> bytes:
    return bytes.fromhex(payload.signature[2:])


# --- happy paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_valid_payment_returns_checksummed_payer(version: int) -> None:
    payload = payload_for(version=version)

    assert verify_payment(payload, select_option(payload, [sample_option()]), now=NOW) == (
        PAYER.address
    )


def test_valid_after_equal_to_now_is_accepted() -> None:
    assert verify_payment(payload_for(valid_after=NOW), sample_option(), now=NOW) == PAYER.address


def test_valid_before_exactly_six_seconds_ahead_is_accepted() -> None:
    payload = payload_for(valid_before=NOW + 6)

    assert verify_payment(payload, sample_option(), now=NOW) == PAYER.address


def test_one_hour_window_is_accepted_for_short_timeouts() -> None:
    payload = payload_for(valid_before=NOW + 3600 + 60)

    assert verify_payment(payload, sample_option(), now=NOW) == PAYER.address


def test_low_v_signature_is_accepted() -> None:
    payload = payload_for()
    raw = bytearray(signature_bytes(payload))
    raw[64] -= 27

    assert verify_payment(with_signature(payload, bytes(raw)), sample_option(), now=NOW) == (
        PAYER.address
    )


# --- select_option -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_select_rejects_wrong_scheme(version: int) -> None:
    def edit(data: dict) -> None:
        (data if version == 1 else data["accepted"])["scheme"] = "upto"

    payload = edited(payload_for(version=version), edit)

    assert select_reason(payload, [sample_option()]) == "unsupported_scheme"


@pytest.mark.parametrize("version", [1, 2])
def test_select_rejects_wrong_network(version: int) -> None:
    payload = payload_for(version=version)

    assert select_reason(payload, [sample_option(network=NETWORKS["base"])]) == "invalid_network"


def test_select_v1_does_not_accept_caip2_network() -> None:
    def edit(data: dict) -> None:
        data["network"] = "eip155:84532"

    payload = edited(payload_for(version=1), edit)

    assert select_reason(payload, [sample_option()]) == "invalid_network"


def test_select_picks_option_on_payload_network() -> None:
    base = sample_option(network=NETWORKS["base"], asset_name="USD Coin")
    sepolia = sample_option()

    assert select_option(payload_for(version=1), [base, sepolia]) is sepolia


def test_select_v1_prefers_option_with_matching_amount() -> None:
    cheap, dear = sample_option(amount=1_000), sample_option(amount=10_000)

    assert select_option(payload_for(dear, version=1), [cheap, dear]) is dear


def test_select_v2_matches_accepted_amount() -> None:
    cheap, dear = sample_option(amount=1_000), sample_option(amount=10_000)

    assert select_option(payload_for(cheap), [dear, cheap]) is cheap


def test_select_v2_ignores_address_case() -> None:
    def edit(data: dict) -> None:
        data["accepted"]["asset"] = data["accepted"]["asset"].lower()
        data["accepted"]["payTo"] = data["accepted"]["payTo"].upper().replace("0X", "0x")

    assert select_option(edited(payload_for(), edit), [sample_option()]) == sample_option()


def test_select_v2_rejects_wrong_asset() -> None:
    def edit(data: dict) -> None:
        data["accepted"]["asset"] = OTHER.address

    payload = edited(payload_for(), edit)

    assert select_reason(payload, [sample_option()]) == "invalid_exact_evm_asset_mismatch"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("amount", "9999"),
        ("payTo", "0x0000000000000000000000000000000000000001"),
        ("maxTimeoutSeconds", 3600),
        ("extra", {"name": "USD Coin", "version": "2"}),
        ("extra", {"name": "USDC", "version": "1"}),
        ("extra", {}),
    ],
)
def test_select_v2_rejects_altered_accepted(key: str, value: object) -> None:
    def edit(data: dict) -> None:
        data["accepted"][key] = value

    payload = edited(payload_for(), edit)

    assert select_reason(payload, [sample_option()]) == "invalid_payment_requirements"


# --- verify_payment: terms -----------------------------------------------------------------


def test_verify_rejects_wrong_scheme() -> None:
    def edit(data: dict) -> None:
        data["accepted"]["scheme"] = "upto"

    assert verify_reason(edited(payload_for(), edit)) == "unsupported_scheme"


@pytest.mark.parametrize("version", [1, 2])
def test_verify_rejects_wrong_network(version: int) -> None:
    option = sample_option(network=NETWORKS["base"])

    assert verify_reason(payload_for(version=version), option) == "invalid_network"


def test_verify_rejects_wrong_pay_to() -> None:
    payload = payload_for(to_address=OTHER.address)

    assert verify_reason(payload) == "invalid_exact_evm_payload_recipient_mismatch"


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("value", [9_999, 10_001])
def test_verify_requires_exact_value(version: int, value: int) -> None:
    payload = payload_for(version=version, value=value)

    assert verify_reason(payload) == "invalid_exact_evm_payload_authorization_value_mismatch"


# --- verify_payment: time ------------------------------------------------------------------


def test_verify_rejects_not_yet_valid() -> None:
    payload = payload_for(valid_after=NOW + 1)

    assert verify_reason(payload) == "invalid_exact_evm_payload_authorization_valid_after"


def test_verify_rejects_expiring_within_six_seconds() -> None:
    payload = payload_for(valid_before=NOW + 5)

    assert verify_reason(payload) == "invalid_exact_evm_payload_authorization_valid_before"


def test_verify_rejects_expired() -> None:
    payload = payload_for(valid_before=NOW - 1)

    assert verify_reason(payload) == "invalid_exact_evm_payload_authorization_valid_before"


def test_verify_rejects_too_long_validity_window() -> None:
    payload = payload_for(valid_before=NOW + 3600 + 61)

    assert verify_reason(payload) == "invalid_exact_evm_payload_authorization_valid_before"


def test_validity_window_grows_with_max_timeout() -> None:
    option = sample_option(max_timeout_seconds=7200)
    payload = payload_for(option, valid_before=NOW + 7200 + 60)

    assert verify_payment(payload, option, now=NOW) == PAYER.address


# --- verify_payment: signature -------------------------------------------------------------


def test_verify_rejects_signature_by_another_key() -> None:
    payload = payload_for(signer=OTHER, from_address=PAYER.address)

    assert verify_reason(payload) == "invalid_exact_evm_payload_signature"


def test_verify_rejects_value_tampered_after_signing() -> None:
    option = sample_option(amount=20_000)

    def edit(data: dict) -> None:
        data["payload"]["authorization"]["value"] = "20000"
        data["accepted"] = option.v2_requirements()

    payload = edited(payload_for(), edit)

    assert verify_reason(payload, option) == "invalid_exact_evm_payload_signature"


def test_verify_rejects_signature_for_another_asset() -> None:
    option = sample_option(asset=OTHER.address)

    assert verify_reason(payload_for(), option) == "invalid_exact_evm_payload_signature"


def test_verify_rejects_high_s_signature() -> None:
    payload = payload_for()
    raw = signature_bytes(payload)
    s = int.from_bytes(raw[32:64], "big")
    malleated = raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])
    assert recover_signer(sample_option().domain(), payload.authorization, "0x" + malleated.hex())

    assert verify_reason(with_signature(payload, malleated)) == (
        "invalid_exact_evm_payload_signature"
    )


@pytest.mark.parametrize("v", [2, 26, 29, 37])
def test_verify_rejects_unknown_v(v: int) -> None:
    raw = signature_bytes(payload_for())

    payload = with_signature(payload_for(), raw[:64] + bytes([v]))

    assert verify_reason(payload) == "invalid_exact_evm_payload_signature"


def test_verify_rejects_zero_r() -> None:
    raw = signature_bytes(payload_for())

    payload = with_signature(payload_for(), bytes(32) + raw[32:])

    assert verify_reason(payload) == "invalid_exact_evm_payload_signature"


@pytest.mark.parametrize("extra_bytes", [1, 32, 200])
def test_verify_rejects_smart_wallet_signature(extra_bytes: int) -> None:
    payload = payload_for()
    longer = with_signature(payload, signature_bytes(payload) + bytes(extra_bytes))

    with pytest.raises(X402Error) as caught:
        verify_payment(longer, sample_option(), now=NOW)

    assert caught.value.reason == "invalid_exact_evm_payload_signature"
    assert caught.value.message == "smart-wallet signatures are not supported"


def test_time_is_checked_before_signature() -> None:
    payload = payload_for(signer=OTHER, from_address=PAYER.address, valid_before=NOW)

    assert verify_reason(payload) == "invalid_exact_evm_payload_authorization_valid_before"


# --- fast recovery -------------------------------------------------------------------------


def random_case(rng: random.Random) -> tuple[TokenDomain, Authorization, str]:
    account = Account.from_key(rng.randbytes(31).rjust(32, b"\x01"))
    domain = TokenDomain(
        name=rng.choice(["USDC", "USD Coin", "Token " + str(rng.randrange(10**6))]),
        version=str(rng.randrange(1, 5)),
        chain_id=rng.choice([1, 8453, 84532, rng.randrange(1, 2**64)]),
        address="0x" + rng.randbytes(20).hex(),
    )
    authorization = Authorization(
        from_address=account.address,
        to_address="0x" + rng.randbytes(20).hex(),
        value=rng.choice([0, 1, rng.randrange(2**256)]),
        valid_after=rng.randrange(2**40),
        valid_before=rng.randrange(2**256),
        nonce="0x" + rng.randbytes(32).hex(),
    )
    return domain, authorization, sign(domain, authorization, account.key)


def test_fast_recover_equals_reference_on_random_cases() -> None:
    rng = random.Random(402)
    for _ in range(200):
        domain, authorization, signature = random_case(rng)

        assert fast_recover_signer(domain, authorization, signature) == recover_signer(
            domain, authorization, signature
        )


def test_fast_recover_equals_reference_on_foreign_signatures() -> None:
    """Recovery from arbitrary (r, s, v) — not made for this message — still agrees."""
    rng = random.Random(3009)
    domain, authorization, _ = random_case(rng)
    for _ in range(200):
        signature = "0x" + rng.randbytes(64).hex() + rng.choice(["00", "01", "1b", "1c"])
        try:
            expected = recover_signer(domain, authorization, signature)
        except Exception:
            with pytest.raises(ValueError):
                fast_recover_signer(domain, authorization, signature)
            continue

        assert fast_recover_signer(domain, authorization, signature) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("base", "02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f"),
        ("base-sepolia", "71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818"),
    ],
)
def test_usdc_domain_separators_are_pinned(key: str, expected: str) -> None:
    network = NETWORKS[key]
    domain = TokenDomain(
        network.usdc_name, network.usdc_version, network.chain_id, network.usdc_address or ""
    )

    assert domain_separator(domain).hex() == expected


def test_fast_recover_returns_another_address_for_tampered_message() -> None:
    domain, authorization, signature = random_case(random.Random(1))
    tampered = Authorization(**{**vars(authorization), "value": authorization.value ^ 1})

    assert fast_recover_signer(domain, tampered, signature) != authorization.from_address


@pytest.mark.parametrize("signature", ["0x" + "ab" * 64, "0x" + "ab" * 66, "0x" + "00" * 64 + "1d"])
def test_fast_recover_rejects_malformed_signature(signature: str) -> None:
    domain, authorization, _ = random_case(random.Random(2))

    with pytest.raises(ValueError):
        fast_recover_signer(domain, authorization, signature)


def test_benchmark_exceeds_one_thousand_per_second() -> None:
    assert verifications_per_second(0.3) >= 1_000
