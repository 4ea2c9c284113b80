"""The settlement receipt header: `X-PAYMENT-RESPONSE` (v1) and `PAYMENT-RESPONSE` (v2).

Both versions share one JSON shape; only the network string differs (legacy name vs CAIP-2),
which is why the caller passes it rather than this module guessing.
"""

from __future__ import annotations

from typing import Any

from .encoding import decode_json, encode_json
from .errors import INVALID_PAYLOAD, X402Error


def encode_settle_response(
    *,
    success: bool,
    transaction: str,
    network: str,
    payer: str | None,
    error_reason: str | None = None,
) -> str:
    """base64(JSON SettleResponse); optional fields are omitted, never null."""
    response: dict[str, Any] = {"success": success, "transaction": transaction, "network": network}
    if payer is not None:
        response["payer"] = payer
    if error_reason is not None:
        response["errorReason"] = error_reason
    return encode_json(response)


def decode_settle_response(value: str) -> dict[str, Any]:
    """Inverse of `encode_settle_response`, validating the fields it promises."""
    response = decode_json(value, what="payment response header")
    if not isinstance(response.get("success"), bool):
        raise X402Error(INVALID_PAYLOAD, "settle response success must be a boolean")
    for key in ("transaction", "network"):
        if not isinstance(response.get(key), str):
            raise X402Error(INVALID_PAYLOAD, f"settle response {key} must be a string")
    for key in ("payer", "errorReason"):
        if not isinstance(response.get(key, ""), str):
            raise X402Error(INVALID_PAYLOAD, f"settle response {key} must be a string")
    return response
