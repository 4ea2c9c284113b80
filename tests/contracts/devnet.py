"""Helpers for the Solidity contract tests: run anvil, deploy artifacts, send transactions.

anvil comes from the ``@foundry-rs/anvil`` npm package (``npm ci`` in the repo root); starting
and stopping it is shared with the app's devnet (``payments.chain.devnet``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_typing import ChecksumAddress
from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import RPCEndpoint, TxReceipt

from payments.chain.devnet import DEVNET_CHAIN_ID, DevnetError, throwaway_anvil
from payments.contracts import load_artifact

CHAIN_ID = DEVNET_CHAIN_ID  # Base Sepolia

# Gas used by contract operations, recorded by tests and shown in pytest's terminal summary.
GAS_USED: dict[str, int] = {}


@dataclass(frozen=True)
class Accounts:
    """anvil's pre-funded (unlocked) dev accounts, by role."""

    deployer: ChecksumAddress  # owner of TestUSDC and The402Escrow
    operator: ChecksumAddress  # the402 platform's hot wallet
    treasury: ChecksumAddress
    payee: ChecksumAddress  # the seller
    relayer: ChecksumAddress  # submits EIP-3009 authorizations and pays the gas
    stranger: ChecksumAddress
    payer: ChecksumAddress  # a buyer that also sends transactions (escrow reclaim)


@contextmanager
def run_anvil() -> Iterator[str]:
    """Start anvil on a free loopback port, yield its RPC URL, stop it on exit.

    These tests never skip: a missing anvil (no ``npm ci``) fails them with the reason.
    """
    try:
        with throwaway_anvil(chain_id=CHAIN_ID) as url:
            yield url
    except DevnetError as exc:
        pytest.fail(str(exc), pytrace=False)


class Chain:
    """Helpers around the anvil devnet, handed to tests as the ``chain`` fixture."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def transact(self, fn: ContractFunction, sender: str) -> TxReceipt:
        """Send ``fn`` from an unlocked anvil account, wait, and insist that it succeeded."""
        tx_hash = fn.transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        assert receipt["status"] == 1, f"transaction {tx_hash.hex()} reverted"
        return receipt

    def assert_reverts(self, fn: ContractFunction, sender: str, reason: str) -> None:
        """Sending ``fn`` from ``sender`` must revert with exactly ``reason``."""
        with pytest.raises(ContractLogicError) as excinfo:
            fn.transact({"from": sender})
        assert excinfo.value.message == f"execution reverted: {reason}"

    def deploy(self, name: str, sender: str, *args: Any) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx_hash = factory.constructor(*args).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        assert receipt["status"] == 1
        address = receipt["contractAddress"]
        assert address is not None
        # Same length only: immutables are zero placeholders in the artifact's runtime code.
        code = HexBytes(self.w3.eth.get_code(address))
        assert len(code) == len(HexBytes(artifact["deployedBytecode"]))
        return self.w3.eth.contract(address=address, abi=artifact["abi"])

    def now(self) -> int:
        """Timestamp of the latest block (anvil's clock, which tests may move forward)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_time(self, seconds: int) -> None:
        self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
        self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    @staticmethod
    def events(contract: Contract, receipt: TxReceipt) -> list[tuple[str, dict[str, Any]]]:
        """The events ``contract`` emitted in ``receipt``, in order, as (name, args)."""
        names = {
            event_abi_to_log_topic(abi): abi["name"]
            for abi in contract.abi
            if abi["type"] == "event"
        }
        decoded = []
        for log in receipt["logs"]:
            if log["address"] != contract.address:
                continue
            name = names[bytes(log["topics"][0])]
            event = getattr(contract.events, name)()
            decoded.append((name, dict(event.process_log(log)["args"])))
        return decoded

    @staticmethod
    def record_gas(name: str, receipt: TxReceipt) -> int:
        gas = int(receipt["gasUsed"])
        GAS_USED[name] = gas
        print(f"gas used by {name}: {gas}")
        return gas
