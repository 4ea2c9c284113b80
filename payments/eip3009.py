"""EIP-3009 `TransferWithAuthorization`: the signed USDC transfer every x402 payment carries.

One place builds the EIP-712 typed data, so signing (tests, the devnet faucet helpers) and
verifying (the facilitator) can never disagree about the domain or the field order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
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
    return Account.recover_message(message, signature=bytes.fromhex(signature.removeprefix("0x")))
