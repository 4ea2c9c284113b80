"""The devnet's test USDC is where the official x402 clients expect Base Sepolia's USDC."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from payments.chain.devnet import ANVIL_DEV_KEYS, CANONICAL_USDC, Deployment
from payments.contracts import load_artifact

# keccak(EIP712Domain(name "USDC", version "2", chainId 84532, verifyingContract 0x036C…CF7e)),
# the domain separator of Circle's USDC on Base Sepolia.
BASE_SEPOLIA_USDC_DOMAIN_SEPARATOR = (
    "71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818"
)


def _token(devnet: Deployment) -> Any:
    w3 = Web3(Web3.HTTPProvider(devnet.rpc_url, request_kwargs={"timeout": 30}))
    return w3.eth.contract(address=devnet.usdc, abi=load_artifact("TestUSDC")["abi"])


def test_devnet_usdc_is_at_base_sepolias_usdc_address(devnet: Deployment) -> None:
    assert devnet.usdc == CANONICAL_USDC == "0x036CbD53842c5426634e7929541eC2318f3dCF7e"


def test_devnet_usdc_has_base_sepolias_eip712_domain(devnet: Deployment) -> None:
    token = _token(devnet)

    assert (token.functions.name().call(), token.functions.version().call()) == ("USDC", "2")
    assert token.functions.decimals().call() == 6
    assert token.functions.DOMAIN_SEPARATOR().call().hex() == BASE_SEPOLIA_USDC_DOMAIN_SEPARATOR


def test_devnet_usdc_owner_can_mint_at_the_canonical_address(devnet: Deployment) -> None:
    from eth_account import Account

    assert _token(devnet).functions.owner().call() == Account.from_key(ANVIL_DEV_KEYS[0]).address
