"""The one exception of the x402 package, carrying a machine-readable reason.

Reason codes use the x402 spec names where the spec has one, so a facilitator can pass them
through as `invalidReason` / `errorReason` unchanged and clients see familiar vocabulary.
"""

from __future__ import annotations

from typing import Final

INVALID_PAYLOAD: Final = "invalid_payload"
INVALID_X402_VERSION: Final = "invalid_x402_version"
UNSUPPORTED_SCHEME: Final = "unsupported_scheme"
INVALID_NETWORK: Final = "invalid_network"
INVALID_PAYMENT_REQUIREMENTS: Final = "invalid_payment_requirements"
RECIPIENT_MISMATCH: Final = "invalid_exact_evm_payload_recipient_mismatch"
ASSET_MISMATCH: Final = "invalid_exact_evm_asset_mismatch"
VALUE_MISMATCH: Final = "invalid_exact_evm_payload_authorization_value_mismatch"
VALID_AFTER: Final = "invalid_exact_evm_payload_authorization_valid_after"
VALID_BEFORE: Final = "invalid_exact_evm_payload_authorization_valid_before"
INVALID_SIGNATURE: Final = "invalid_exact_evm_payload_signature"


class X402Error(Exception):
    """A payment the server must refuse: `reason` for machines, `message` for humans.

    Messages never echo attacker-supplied values (and never the signature), so they are safe
    to log and to return in a 402 body.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
