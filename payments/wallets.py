"""Wallet addresses: the identity of every participant."""

from __future__ import annotations

import re

from eth_utils import to_checksum_address

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value))


def normalize_address(value: str) -> str:
    """The EIP-55 checksummed form of an address; raises ValueError for anything else."""
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{value!r} is not an EVM address (0x followed by 40 hex digits)")
    return to_checksum_address(value)
