"""EIP-3009 `TransferWithAuthorization`: the signed USDC transfer every x402 payment carries.

One place builds the EIP-712 typed data, so signing (tests, the devnet faucet helpers) and
verifying (the facilitator) can never disagree about the domain or the field order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from coincurve import PublicKey
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

TRANSFER_WITH_AUTHORIZATION_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "TransferWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ],
}


@dataclass(frozen=True)
class TokenDomain:
    """The EIP-712 domain of a token: must equal the token's on-chain name() and version()."""

    name: str
    version: str
    chain_id: int
    address: str  # the token contract (x402 `asset`)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.address),
        }


@dataclass(frozen=True)
class Authorization:
    """The signed fields of a transfer; integers are atomic units and unix seconds."""

    from_address: str
    to_address: str
    value: int
    valid_after: int
    valid_before: int
    nonce: str  # 0x + 64 hex digits

    def message(self) -> dict[str, Any]:
        return {
            "from": to_checksum_address(self.from_address),
            "to": to_checksum_address(self.to_address),
            "value": self.value,
            "validAfter": self.valid_after,
            "validBefore": self.valid_before,
            "nonce": bytes.fromhex(self.nonce.removeprefix("0x")),
        }

    def as_json(self) -> dict[str, str]:
        """The x402 wire form: every number a decimal string."""
        return {
            "from": to_checksum_address(self.from_address),
            "to": to_checksum_address(self.to_address),
            "value": str(self.value),
            "validAfter": str(self.valid_after),
            "validBefore": str(self.valid_before),
            "nonce": self.nonce,
        }


def typed_data(domain: TokenDomain, authorization: Authorization) -> dict[str, Any]:
    return {
        "types": TRANSFER_WITH_AUTHORIZATION_TYPES,
        "primaryType": "TransferWithAuthorization",
        "domain": domain.as_dict(),
        "message": authorization.message(),
    }


def sign(domain: TokenDomain, authorization: Authorization, private_key: str | bytes) -> str:
    """Sign an authorization (what a paying client does); returns 0x + 65-byte hex."""
    signed = Account.sign_message(
        encode_typed_data(full_message=typed_data(domain, authorization)), private_key
    )
    return "0x" + bytes(signed.signature).hex()


def recover_signer(domain: TokenDomain, authorization: Authorization, signature: str) -> str:
    """The checksummed address that signed; raises ValueError for a malformed signature."""
    message = encode_typed_data(full_message=typed_data(domain, authorization))
    signer: str = Account.recover_message(
        message, signature=bytes.fromhex(signature.removeprefix("0x"))
    )
    return signer


# The fast path below re-implements the EIP-712 hashing for this one fixed type. It exists because
# eth-account's generic typed-data encoder costs ~1 ms per signature, which caps a facilitator at
# well under 1,000 verifications per second; the hand-rolled digest plus libsecp256k1 recovery is
# ~20x cheaper. Tests prove it agrees with `recover_signer` on random inputs.

DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak(
    b"TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,"
    b"uint256 validBefore,bytes32 nonce)"
)


def _fixed_bytes(hex_value: str, size: int) -> bytes:
    raw = bytes.fromhex(hex_value.removeprefix("0x"))
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw


def _uint256(value: int) -> bytes:
    if not 0 <= value < 2**256:
        raise ValueError("integer out of uint256 range")
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + _fixed_bytes(address, 20)


@lru_cache(maxsize=64)
def domain_separator(domain: TokenDomain) -> bytes:
    """hashStruct(EIP712Domain); cached because a server sees only a handful of tokens."""
    return keccak(
        DOMAIN_TYPEHASH
        + keccak(domain.name.encode())
        + keccak(domain.version.encode())
        + _uint256(domain.chain_id)
        + _address_word(domain.address)
    )


def digest(domain: TokenDomain, authorization: Authorization) -> bytes:
    """The 32-byte EIP-712 digest that the payer signed (what `ecrecover` sees on-chain)."""
    struct_hash = keccak(
        TRANSFER_WITH_AUTHORIZATION_TYPEHASH
        + _address_word(authorization.from_address)
        + _address_word(authorization.to_address)
        + _uint256(authorization.value)
        + _uint256(authorization.valid_after)
        + _uint256(authorization.valid_before)
        + _fixed_bytes(authorization.nonce, 32)
    )
    return keccak(b"\x19\x01" + domain_separator(domain) + struct_hash)


def fast_recover_signer(domain: TokenDomain, authorization: Authorization, signature: str) -> str:
    """Same result as `recover_signer`, ~20x faster; raises ValueError for a malformed signature.

    Accepts 65-byte r||s||v signatures with v in {0, 1, 27, 28} (the EIP-155 forms that
    `recover_signer` also tolerates never occur in typed-data signatures). Like `ecrecover`, it
    does not judge s: rejecting high-s malleable signatures is the verifier's policy.
    """
    raw = _fixed_bytes(signature, 65)
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]
    if v not in (0, 1):
        raise ValueError("signature v must be one of 0, 1, 27, 28")
    public_key = PublicKey.from_signature_and_message(
        raw[:64] + bytes([v]), digest(domain, authorization), hasher=None
    )
    return to_checksum_address(keccak(public_key.format(compressed=False)[1:])[-20:])
