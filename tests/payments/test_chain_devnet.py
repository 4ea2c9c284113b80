"""The persistent devnet: `ensure_devnet` / `stop_devnet` and the `devnet` command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from eth_account import Account
from web3 import Web3

from payments.chain.client import Relayer, clear_caches, current_deployment
from payments.chain.devnet import (
    ANVIL_DEV_KEYS,
    DEVNET_CHAIN_ID,
    ensure_devnet,
    free_port,
    running_pid,
    stop_devnet,
)
from payments.chain.usdc import usdc_contract

OWNER = Account.from_key(ANVIL_DEV_KEYS[0]).address


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose devnet is always stopped at the end, whatever the test did."""
    yield tmp_path
    stop_devnet(data_dir=tmp_path)


def _web3(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))


def test_ensure_devnet_deploys_once_and_reuses(data_dir: Path) -> None:
    port = free_port()
    first = ensure_devnet(data_dir=data_dir, port=port)
    w3 = _web3(first.rpc_url)
    assert first.rpc_url == f"http://127.0.0.1:{port}"
    assert first.chain_id == w3.eth.chain_id == DEVNET_CHAIN_ID
    assert first.treasury == Account.from_key(ANVIL_DEV_KEYS[1]).address
    assert w3.eth.get_code(first.usdc) and w3.eth.get_code(first.escrow)
    recorded = json.loads((data_dir / "devnet" / "deployment.json").read_text())
    assert {k: recorded[k] for k in first.as_json()} == first.as_json()
    assert running_pid(data_dir) is not None
    deploy_nonce = w3.eth.get_transaction_count(OWNER)
    block = w3.eth.block_number

    second = ensure_devnet(data_dir=data_dir, port=port)

    assert second == first
    assert w3.eth.get_transaction_count(OWNER) == deploy_nonce  # nothing deployed again
    assert w3.eth.block_number == block


def test_devnet_state_survives_stop_and_start(data_dir: Path) -> None:
    port = free_port()
    first = ensure_devnet(data_dir=data_dir, port=port)
    w3 = _web3(first.rpc_url)
    holder = Account.create().address
    sender = Relayer(w3, ANVIL_DEV_KEYS[0])
    minted = sender.send(usdc_contract(w3, first.usdc).functions.mint(holder, 1_234_567))
    assert sender.wait(minted, timeout=10) is not None
    owner_nonce = w3.eth.get_transaction_count(OWNER)

    assert stop_devnet(data_dir=data_dir) is True
    assert running_pid(data_dir) is None
    assert not (data_dir / "devnet" / "anvil.pid").exists()
    assert (data_dir / "devnet" / "state.json").stat().st_size > 0
    assert stop_devnet(data_dir=data_dir) is False  # already stopped

    again = ensure_devnet(data_dir=data_dir, port=port)

    assert again == first
    assert w3.eth.get_transaction_count(OWNER) == owner_nonce  # no redeployment
    assert usdc_contract(w3, again.usdc).functions.balanceOf(holder).call() == 1_234_567
    assert w3.eth.get_transaction_receipt(minted)["status"] == 1  # history kept too


def test_unreadable_state_is_set_aside_and_contracts_redeployed(data_dir: Path) -> None:
    port = free_port()
    first = ensure_devnet(data_dir=data_dir, port=port)
    stop_devnet(data_dir=data_dir)
    state = data_dir / "devnet" / "state.json"
    state.write_text('{"block": {')  # what a kill -9 in the middle of a dump could leave

    again = ensure_devnet(data_dir=data_dir, port=port)

    w3 = _web3(again.rpc_url)
    assert w3.eth.get_code(again.usdc) and w3.eth.get_code(again.escrow)
    # A fresh chain: the same deployer nonces give the same addresses, but a new history.
    assert (again.usdc, again.escrow) == (first.usdc, first.escrow)
    assert w3.eth.block_number == 2
    assert list((data_dir / "devnet").glob("state.json.corrupt-*"))


def test_anvil_dev_keys_are_anvils_accounts(devnet: Any) -> None:
    w3 = _web3(devnet.rpc_url)
    assert [Account.from_key(key).address for key in ANVIL_DEV_KEYS] == w3.eth.accounts


def test_devnet_command_refuses_on_base(settings: Any) -> None:
    settings.NETWORK = "base"
    with pytest.raises(CommandError, match="devnet"):
        call_command("devnet", "start")


def test_devnet_command_start_status_stop(settings: Any, data_dir: Path) -> None:
    settings.NETWORK = "devnet"
    settings.DATA_DIR = data_dir
    settings.DEVNET_PORT = free_port()
    out = StringIO()

    call_command("devnet", "start", "--json", stdout=out)
    started = json.loads(out.getvalue())
    assert "owner_key" not in started  # keys stay out of terminals and logs
    status = StringIO()
    call_command("devnet", "status", "--json", stdout=status)
    assert json.loads(status.getvalue())["running"] is True
    stopped = StringIO()
    call_command("devnet", "stop", stdout=stopped)

    assert "stopped" in stopped.getvalue()
    assert started["usdc"] == json.loads(status.getvalue())["deployment"]["usdc"]


def test_current_deployment_without_devnet_says_how_to_start_it(
    settings: Any, tmp_path: Path
) -> None:
    settings.NETWORK = "devnet"
    settings.DATA_DIR = tmp_path
    clear_caches()
    try:
        with pytest.raises(ImproperlyConfigured, match="manage.py devnet start"):
            current_deployment()
    finally:
        clear_caches()


def test_current_deployment_on_base_sepolia_needs_settings(settings: Any) -> None:
    settings.NETWORK = "base-sepolia"
    settings.CHAIN_RPC_URL = "https://sepolia.base.org"
    settings.RELAYER_KEY = ""
    settings.PAY_TO = ""
    clear_caches()
    try:
        with pytest.raises(ImproperlyConfigured, match="THE402_RELAYER_KEY, THE402_PAY_TO"):
            current_deployment()
        settings.RELAYER_KEY = ANVIL_DEV_KEYS[3]
        settings.PAY_TO = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        clear_caches()
        deployment = current_deployment()
        assert deployment.usdc == "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
        assert ANVIL_DEV_KEYS[3] not in repr(deployment)
    finally:
        clear_caches()
