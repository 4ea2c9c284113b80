"""A minimal x402 client for tests: reads a 402 and signs what it asks for.

It does what the official clients do (v1 from the JSON body, v2 from the PAYMENT-REQUIRED
header), with hooks to sign something else (expired, wrong amount, …). Interoperability with
the official clients themselves is tested separately.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from typing import Any

from eth_account.signers.local import LocalAccount

from payments.eip3009 import Authorization, TokenDomain, sign
from payments.x402.encoding import decode_json, encode_json

DEVNET_CHAIN_ID = 84532


def requirements(response: Any, *, version: int) -> dict[str, Any]:
    """The first accepted option of a 402, in the shape of the given protocol version."""
    assert response.status_code == 402, response.content
    if version == 1:
        return response.json()["accepts"][0]
    return decode_json(response["PAYMENT-REQUIRED"], what="PAYMENT-REQUIRED")["accepts"][0]


def payment_header(
    response: Any,
    payer: LocalAccount,
    *,
    version: int,
    signer: LocalAccount | None = None,
    accepted: dict[str, Any] | None = None,
    network: str | None = None,
    **overrides: Any,
) -> tuple[str, str]:
    """(header name, value) paying the 402 `response`; keyword arguments change the signed
    authorization (value, to_address, valid_after, valid_before, nonce)."""
    req = requirements(response, version=version)
    amount = int(req["maxAmountRequired" if version == 1 else "amount"])
    now = int(time.time())
    authorization = replace(
        Authorization(
            from_address=payer.address,
            to_address=req["payTo"],
            value=amount,
            valid_after=now - 600,
            valid_before=now + 300,
            nonce="0x" + secrets.token_hex(32),
        ),
        **overrides,
    )
    domain = TokenDomain(
        req["extra"]["name"], req["extra"]["version"], DEVNET_CHAIN_ID, req["asset"]
    )
    signature = sign(domain, authorization, (signer or payer).key)
    inner = {"signature": signature, "authorization": authorization.as_json()}
    if version == 1:
        body = {
            "x402Version": 1,
            "scheme": "exact",
            "network": network or req["network"],
            "payload": inner,
        }
        return "HTTP_X_PAYMENT", encode_json(body)
    body = {"x402Version": 2, "accepted": accepted or req, "payload": inner}
    return "HTTP_PAYMENT_SIGNATURE", encode_json(body)


def settle_response(response: Any) -> dict[str, Any]:
    return decode_json(response["X-PAYMENT-RESPONSE"], what="X-PAYMENT-RESPONSE")
