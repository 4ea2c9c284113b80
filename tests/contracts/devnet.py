"""Helpers for the Solidity contract tests: run anvil, deploy artifacts, send transactions.

anvil comes from the ``@foundry-rs/anvil`` npm package (``npm ci`` in the repo root puts it at
``node_modules/.bin/anvil``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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

from payments.contracts import load_artifact

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL = REPO_ROOT / "node_modules" / ".bin" / "anvil"
CHAIN_ID = 84532  # Base Sepolia
ANVIL_START_TIMEOUT = 30.0

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # .bin/anvil is a node wrapper that spawns the real binary: stop the process group we
    # created for it (start_new_session=True), and nothing else.
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextmanager
def run_anvil() -> Iterator[str]:
    """Start anvil on a free loopback port, yield its RPC URL, stop it on exit."""
    if not ANVIL.exists():
        pytest.fail(
            f"anvil not found at {ANVIL}: run `npm ci` in {REPO_ROOT} "
            "(installs solc and @foundry-rs/anvil from package-lock.json)",
            pytrace=False,
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(ANVIL),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(CHAIN_ID),
        "--silent",
    ]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed executable from node_modules
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            probe = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2}))
            deadline = time.monotonic() + ANVIL_START_TIMEOUT
            while not probe.is_connected():
                if proc.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")
                    pytest.fail(f"anvil exited with {proc.returncode}:\n{output}", pytrace=False)
                if time.monotonic() > deadline:
                    pytest.fail(f"anvil did not answer on {url} within {ANVIL_START_TIMEOUT}s")
                time.sleep(0.05)
            yield url
        finally:
            _stop(proc)


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
