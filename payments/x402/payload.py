"""What the client sends: the `X-PAYMENT` (v1) / `PAYMENT-SIGNATURE` (v2) header.

Decoding is the trust boundary, so it is strict and total: every field the verifier will use
is checked for presence and type here, and the result is a typed `PaymentPayload` that the
rest of the package can rely on without re-checking.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from payments.eip3009 import Authorization
from payments.networks import NETWORKS

from .encoding import decode_json
from .errors import INVALID_PAYLOAD, INVALID_X402_VERSION, X402Error

HEADER_NAMES = {1: "X-PAYMENT", 2: "PAYMENT-SIGNATURE"}
EOA_SIGNATURE_BYTES = 65
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
_DECIMAL = re.compile(r"[0-9]{1,78}")


@dataclass(frozen=True)
class PaymentPayload:
    """A decoded, well-formed (not yet verified) payment."""

    version: int
    scheme: str
    network: str
    authorization: Authorization
    signature: str
    accepted: dict[str, Any] | None
    raw: dict[str, Any]

    def fingerprint(self) -> str:
        """sha256 hex identifying this signed authorization: the replay-guard key.

        Independent of encoding details (key order, whitespace, JSON ints vs strings, hex
        case, v as 0/1 vs 27/28) and of the wire version: the network is reduced to its CAIP-2
        id, so the same authorization replayed through X-PAYMENT after PAYMENT-SIGNATURE (or
        the reverse) maps to the same key. The signature is included because it binds the
        token domain (chain and asset), which the authorization fields alone do not.
        """
        canonical = {
            "network": _canonical_network(self.network),
            "authorization": {
                "from": self.authorization.from_address.lower(),
                "to": self.authorization.to_address.lower(),
                "value": str(self.authorization.value),
                "validAfter": str(self.authorization.valid_after),
                "validBefore": str(self.authorization.valid_before),
                "nonce": self.authorization.nonce.lower(),
            },
            "signature": _canonical_signature(self.signature),
        }
        encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def decode_payment_header(value: str, *, version: int) -> PaymentPayload:
    """Decode and validate a payment header; raises X402Error on any defect."""
    if version not in HEADER_NAMES:
        raise ValueError(f"x402 version must be 1 or 2, not {version!r}")
    header = HEADER_NAMES[version]
    return decode_payment_json(decode_json(value, what=f"{header} header"), version=version)


def decode_payment_json(data: dict[str, Any], *, version: int) -> PaymentPayload:
    """Validate an already-decoded payment payload (a facilitator request carries it as JSON)."""
    if version not in HEADER_NAMES:
        raise ValueError(f"x402 version must be 1 or 2, not {version!r}")
    _check_version(data, version, HEADER_NAMES[version])
    if version == 1:
        scheme = _string(data, "scheme", "")
        network = _string(data, "network", "")
        accepted = None
    else:
        accepted = _accepted(data)
        scheme, network = accepted["scheme"], accepted["network"]
    inner = _object(data, "payload", "")
    return PaymentPayload(
        version=version,
        scheme=scheme,
        network=network,
        authorization=_authorization(_object(inner, "authorization", "payload.")),
        signature=_signature(inner),
        accepted=accepted,
        raw=data,
    )


def _check_version(data: dict[str, Any], version: int, header: str) -> None:
    found = data.get("x402Version")
    if isinstance(found, bool) or found != version:
        raise X402Error(INVALID_X402_VERSION, f"{header} must carry x402Version {version}")


def _accepted(data: dict[str, Any]) -> dict[str, Any]:
    """v2 echoes the chosen requirements; `select_option` compares them field by field."""
    accepted = _object(data, "accepted", "")
    for key in ("scheme", "network", "amount", "asset", "payTo"):
        _string(accepted, key, "accepted.")
    _integer(accepted, "maxTimeoutSeconds", "accepted.")
    if not isinstance(accepted.get("extra", {}), dict):
        raise X402Error(INVALID_PAYLOAD, "accepted.extra must be an object")
    return accepted


def _authorization(fields: dict[str, Any]) -> Authorization:
    where = "payload.authorization."
    return Authorization(
        from_address=_address(fields, "from", where),
        to_address=_address(fields, "to", where),
        value=_uint(fields, "value", where),
        valid_after=_uint(fields, "validAfter", where),
        valid_before=_uint(fields, "validBefore", where),
        nonce=_matching(fields, "nonce", where, _BYTES32, "0x + 64 hex digits").lower(),
    )


def _signature(inner: dict[str, Any]) -> str:
    """0x-hex of at least 65 bytes; longer ones (smart wallets) are refused later, by verify."""
    signature = _matching(inner, "signature", "payload.", _HEX, "0x-prefixed hex")
    if len(signature) < 2 + 2 * EOA_SIGNATURE_BYTES:
        raise X402Error(INVALID_PAYLOAD, "payload.signature is shorter than 65 bytes")
    return signature.lower()


def _object(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise X402Error(INVALID_PAYLOAD, f"{where}{key} must be an object")
    return value


def _string(parent: dict[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise X402Error(INVALID_PAYLOAD, f"{where}{key} must be a non-empty string")
    return value


def _integer(parent: dict[str, Any], key: str, where: str) -> int:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise X402Error(INVALID_PAYLOAD, f"{where}{key} must be an integer")
    return value


def _matching(
    parent: dict[str, Any], key: str, where: str, pattern: re.Pattern[str], form: str
) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise X402Error(INVALID_PAYLOAD, f"{where}{key} must be {form}")
    return value


def _address(parent: dict[str, Any], key: str, where: str) -> str:
    return to_checksum_address(_matching(parent, key, where, _ADDRESS, "0x + 40 hex digits"))


def _uint(parent: dict[str, Any], key: str, where: str) -> int:
    """A uint256 as a decimal string (the spec) or a JSON integer (some clients)."""
    value = parent.get(key)
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise X402Error(INVALID_PAYLOAD, f"{where}{key} must be a non-negative decimal integer")
    if not 0 <= number < 2**256:
        raise X402Error(INVALID_PAYLOAD, f"{where}{key} is outside the uint256 range")
    return number


def _canonical_network(network: str) -> str:
    """Legacy v1 names and CAIP-2 ids of the same chain collapse to the CAIP-2 id."""
    for known in NETWORKS.values():
        if network in (known.x402_name, known.caip2):
            return known.caip2
    return network


def _canonical_signature(signature: str) -> str:
    """v = 0/1 and v = 27/28 are the same EOA signature; use the 27/28 form."""
    raw = bytearray.fromhex(signature.removeprefix("0x"))
    if len(raw) == EOA_SIGNATURE_BYTES and raw[64] in (0, 1):
        raw[64] += 27
    return "0x" + raw.hex()
