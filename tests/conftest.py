"""Shared fixtures: an API client, and a real chain (a throwaway anvil devnet with our
contracts) for payment tests.

``devnet`` is one anvil per test session (per xdist worker: each gets its own free port);
``chain`` points Django settings at it for one test, so code under test that resolves
``current_deployment()`` / ``relayer()`` talks to that anvil. No mocks: settlements are real
transactions. Tests share the chain, so they use fresh payer accounts and never assume
balances or nonces they did not set up themselves.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import settings as hypothesis_settings
from web3 import Web3
from web3.types import RPCEndpoint

from payments.chain.client import clear_caches
from payments.chain.devnet import (
    ANVIL_DEV_KEYS,
    DEVNET_CHAIN_ID,
    Deployment,
    DevnetError,
    deploy_contracts,
    throwaway_anvil,
)
from payments.chain.escrow_state import unallocated
from payments.eip3009 import Authorization, TokenDomain, sign
from tests.provider_server import provider_server  # noqa: F401 - a shared fixture

ONE_USDC = 1_000_000

# Property tests draw the same examples on every run, so CI is repeatable and a failure
# reproduces; `HYPOTHESIS_PROFILE=explore` draws fresh ones (and remembers failures).
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def devnet() -> Iterator[Deployment]:
    """A fresh anvil (no state file) with TestUSDC and The402Escrow, for the whole session."""
    try:
        with throwaway_anvil() as url:
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
            treasury = str(Account.from_key(ANVIL_DEV_KEYS[1]).address)
            usdc, escrow = deploy_contracts(w3, ANVIL_DEV_KEYS[0], treasury)
            yield Deployment(
                rpc_url=url,
                chain_id=DEVNET_CHAIN_ID,
                usdc=usdc,
                escrow=escrow,
                owner_key=ANVIL_DEV_KEYS[0],
                treasury=treasury,
            )
    except DevnetError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def chain(devnet: Deployment, settings: Any, tmp_path: Path) -> Iterator[Deployment]:
    """Point Django settings (NETWORK, DATA_DIR, CHAIN_RPC_URL, RELAYER_KEY) at ``devnet``."""
    data_dir = tmp_path / "data"
    (data_dir / "devnet").mkdir(parents=True)
    (data_dir / "devnet" / "deployment.json").write_text(json.dumps(devnet.as_json()))

    def point_at_devnet() -> None:
        settings.NETWORK = "devnet"
        settings.DATA_DIR = data_dir
        settings.CHAIN_RPC_URL = devnet.rpc_url
        settings.RELAYER_KEY = ""
        clear_caches()

    point_at_devnet()
    before = unallocated()
    yield devnet
    point_at_devnet()  # the test may have pointed the settings elsewhere
    left = unallocated() - before
    clear_caches()
    # The chain outlives the test's database: money left loose in the contract would be
    # "unexplained" to every later reconcile on this worker, failing innocent tests.
    assert left <= 0, (
        f"the test left {left} µUSDC unallocated in The402Escrow; take it back with the "
        "`snapshot` fixture"
    )


@pytest.fixture
def w3(chain: Deployment) -> Web3:
    return Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 30}))


@pytest.fixture
def snapshot(w3: Web3) -> Iterator[None]:
    """Undo what the test did on the chain (time travel, money left in the contract), so
    other tests keep the wall clock and an escrow contract their records explain."""
    snapshot_id = w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"]
    yield
    w3.provider.make_request(RPCEndpoint("evm_revert"), [snapshot_id])


@pytest.fixture
def usdc_domain(chain: Deployment) -> TokenDomain:
    return TokenDomain("USDC", "2", DEVNET_CHAIN_ID, chain.usdc)


@pytest.fixture
def funded_payer(chain: Deployment) -> Callable[[int], LocalAccount]:
    """Make a fresh account holding ``amount`` atomic USDC (0: none). It needs no ETH: the
    relayer pays the gas of its authorizations."""
    from payments.chain.usdc import mint

    def _make(amount: int = 10 * ONE_USDC) -> LocalAccount:
        account: LocalAccount = Account.create()
        if amount:
            mint(token=chain.usdc, to=account.address, amount=amount)
        return account

    return _make


@pytest.fixture
def authorize(w3: Web3, usdc_domain: TokenDomain) -> Callable[..., tuple[Authorization, str]]:
    """Sign an EIP-3009 transfer from ``payer``; valid from now-60s to now+600s (chain time)
    unless told otherwise."""

    def _authorize(
        payer: LocalAccount,
        to: str,
        value: int,
        *,
        valid_after: int | None = None,
        valid_before: int | None = None,
    ) -> tuple[Authorization, str]:
        now = int(w3.eth.get_block("latest")["timestamp"])
        authorization = Authorization(
            from_address=payer.address,
            to_address=to,
            value=value,
            valid_after=now - 60 if valid_after is None else valid_after,
            valid_before=now + 600 if valid_before is None else valid_before,
            nonce="0x" + secrets.token_hex(32),
        )
        return authorization, sign(usdc_domain, authorization, payer.key)

    return _authorize


@pytest.fixture
def pay_escrow_contract(
    chain: Deployment, funded_payer: Callable[..., LocalAccount], authorize: Callable[..., Any]
) -> Callable[[int], Any]:
    """A real x402 payment of ``amount`` to The402Escrow, settled, with no escrow opened."""
    from payments.chain.usdc import settle_transfer_with_authorization
    from tests.factories import settled_payment_row

    def _pay(amount: int) -> Any:
        authorization, signature = authorize(funded_payer(amount), chain.escrow, amount)
        settled = settle_transfer_with_authorization(
            token=chain.usdc, authorization=authorization, signature=signature
        )
        assert settled.status == "settled", settled
        return settled_payment_row(chain.usdc, authorization, settled.tx_hash)

    return _pay


@pytest.fixture
def api() -> Client:
    """A test client speaking to the API as an agent on loopback would."""
    return Client(HTTP_HOST="127.0.0.1")
