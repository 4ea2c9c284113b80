"""Real, validly signed x402 payments built offline, for the benchmark and the tests.

Lives in the package (not in tests/) because `make bench` needs genuine signatures too; it
signs with the slow, independent eth-account path so that what it produces checks the fast
verifier rather than mirroring it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from eth_account.signers.local import LocalAccount

from payments.eip3009 import Authorization, sign
from payments.networks import NETWORKS

from .encoding import encode_json
from .requirements import PaymentOption

SAMPLE_NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: tests pass this as `now`
SAMPLE_PAY_TO = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"


def sample_option(**overrides: Any) -> PaymentOption:
    """A Base Sepolia USDC option for 0.01 USDC; keyword arguments replace fields."""
    network = NETWORKS["base-sepolia"]
    option = PaymentOption(
        network=network,
        asset=network.usdc_address or "",
        asset_name=network.usdc_name,
        asset_version=network.usdc_version,
        pay_to=SAMPLE_PAY_TO,
        amount=10_000,
        resource="https://the402.example/api/services/echo",
        description="Echo service",
    )
    return replace(option, **overrides)


def sample_authorization(
    option: PaymentOption, payer: LocalAccount, *, now: int = SAMPLE_NOW, **overrides: Any
) -> Authorization:
    """What an official client would sign for `option` at `now` (fresh random nonce)."""
    authorization = Authorization(
        from_address=payer.address,
        to_address=option.pay_to,
        value=option.amount,
        valid_after=now - 600,
        valid_before=now + option.max_timeout_seconds,
        nonce="0x" + secrets.token_hex(32),
    )
    return replace(authorization, **overrides)


def payment_json(
    option: PaymentOption, authorization: Authorization, signature: str, *, version: int
) -> dict[str, Any]:
    """The decoded form of an `X-PAYMENT` (v1) or `PAYMENT-SIGNATURE` (v2) header."""
    inner = {"signature": signature, "authorization": authorization.as_json()}
    if version == 1:
        return {
            "x402Version": 1,
            "scheme": "exact",
            "network": option.network.x402_name,
            "payload": inner,
        }
    return {
        "x402Version": 2,
        "resource": {"url": option.resource},
        "accepted": option.v2_requirements(),
        "payload": inner,
    }


def signed_header(
    option: PaymentOption,
    payer: LocalAccount,
    *,
    version: int,
    now: int = SAMPLE_NOW,
    **overrides: Any,
) -> str:
    """A complete, correctly signed payment header value for `option`."""
    authorization = sample_authorization(option, payer, now=now, **overrides)
    signature = sign(option.domain(), authorization, payer.key)
    return encode_json(payment_json(option, authorization, signature, version=version))
