"""The chains the marketplace can be paid on, keyed by `THE402_NETWORK`.

Devnet is a local anvil chain with Base Sepolia's chain id; it presents itself to clients as
`base-sepolia` / `eip155:84532`, so the official x402 clients pay it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Network:
    key: str
    x402_name: str  # x402 v1 network name
    caip2: str  # x402 v2 network id
    chain_id: int
    usdc_address: str | None  # None: deployed by us (devnet)
    usdc_name: str  # EIP-712 domain name of the token
    usdc_version: str
    is_testnet: bool


NETWORKS: dict[str, Network] = {
    "devnet": Network(
        "devnet", "base-sepolia", "eip155:84532", 84532, None, "USDC", "2", is_testnet=True
    ),
    "base-sepolia": Network(
        "base-sepolia",
        "base-sepolia",
        "eip155:84532",
        84532,
        "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "USDC",
        "2",
        is_testnet=True,
    ),
    "base": Network(
        "base",
        "base",
        "eip155:8453",
        8453,
        "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        "USD Coin",
        "2",
        is_testnet=False,
    ),
}


def current_network() -> Network:
    return NETWORKS[settings.NETWORK]
