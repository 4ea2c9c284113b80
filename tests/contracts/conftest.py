"""Fixtures for the Solidity contract tests: a throwaway anvil devnet plus fresh deployments.

These tests never skip: without ``node_modules`` (``npm ci``) they fail and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract

from .devnet import CHAIN_ID, GAS_USED, Accounts, Chain, run_anvil


@pytest.fixture(scope="session")
def w3() -> Iterator[Web3]:
    with run_anvil() as url:
        web3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        assert web3.eth.chain_id == CHAIN_ID
        yield web3


@pytest.fixture(scope="session")
def chain(w3: Web3) -> Chain:
    return Chain(w3)


@pytest.fixture(scope="session")
def accounts(w3: Web3) -> Accounts:
    a = w3.eth.accounts
    return Accounts(
        deployer=a[0],
        operator=a[1],
        treasury=a[2],
        payee=a[3],
        relayer=a[4],
        stranger=a[5],
        payer=a[6],
    )


@pytest.fixture
def usdc(chain: Chain, accounts: Accounts) -> Contract:
    return chain.deploy("TestUSDC", accounts.deployer)


@pytest.fixture
def escrow(chain: Chain, accounts: Accounts, usdc: Contract) -> Contract:
    return chain.deploy(
        "The402Escrow", accounts.deployer, usdc.address, accounts.operator, accounts.treasury
    )


@pytest.fixture
def deposit(
    chain: Chain, usdc: Contract, escrow: Contract, accounts: Accounts
) -> Callable[[int], None]:
    """Simulates a settled x402 payment: ``value`` USDC arrives at the escrow contract."""

    def _deposit(value: int) -> None:
        chain.transact(usdc.functions.mint(escrow.address, value), accounts.deployer)

    return _deposit


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if GAS_USED:
        gas = ", ".join(f"{name}={value}" for name, value in sorted(GAS_USED.items()))
        terminalreporter.write_line(f"contract gas used: {gas}")
