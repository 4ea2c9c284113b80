"""The official x402 clients pay our server end to end over real HTTP, on anvil.

PyPI `x402` 2.25 (v2 through PAYMENT-REQUIRED, and v1 from the JSON body), npm `@x402/fetch`
with `@x402/evm` 2.27 and the npm `x402` 1.2 `createPaymentHeader` flow of the seeds'
quickstart each pay a registration and a deposit, all with their default settings: the
devnet's USDC sits at Base Sepolia's USDC address, which their default asset tables know,
and every payment stays under their default $1 cap.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from x402 import x402ClientSync
from x402.http import x402HTTPClientSync
from x402.mechanisms.evm.exact import register_exact_evm_client

from payments.chain.usdc import balance_of
from payments.ledger_check import ledger_problems
from payments.models import Participant

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
INTEROP = Path(__file__).with_name("interop")


def official_client(account: Any) -> x402HTTPClientSync:
    """The PyPI client as its README sets it up: no spend controls, no allowed assets."""
    return x402HTTPClientSync(register_exact_evm_client(x402ClientSync(), account))


def pay_with_python_client(
    url: str, body: dict, account: Any, *, version: int
) -> requests.Response:
    http = official_client(account)
    first = requests.post(url, json=body, timeout=30)
    assert first.status_code == 402
    headers = dict(first.headers)
    if version == 1:  # a v1 server: the client sees only the JSON body
        headers.pop("PAYMENT-REQUIRED", None)
        headers.pop("payment-required", None)
    payment_headers, _ = http.handle_402_response(headers, first.content, url)
    expected = "PAYMENT-SIGNATURE" if version == 2 else "X-PAYMENT"
    assert expected in payment_headers
    return requests.post(url, json=body, headers=payment_headers, timeout=60)


@pytest.mark.parametrize("version", [1, 2])
def test_the_official_python_client_registers_and_deposits(
    live_server: Any, chain: Any, funded_payer: Callable[..., Any], version: int
) -> None:
    payer = funded_payer(5_000_000)
    register = pay_with_python_client(
        f"{live_server.url}/v1/register", {"name": "Py agent"}, payer, version=version
    )
    assert register.status_code == 201, register.text
    assert official_client(payer).get_payment_settle_response(register.headers.get).success
    deposit = pay_with_python_client(
        f"{live_server.url}/v1/balance/deposit?amount=0.50", {}, payer, version=version
    )
    assert deposit.status_code == 201, deposit.text
    assert balance_of(token=chain.usdc, address=payer.address) == 5_000_000 - 10_000 - 500_000
    balance = requests.get(
        f"{live_server.url}/v1/balance",
        headers={"X-API-Key": register.json()["api_key"]},
        timeout=30,
    ).json()
    assert balance["balance_usd"] == 0.5
    assert ledger_problems() == []


def run_npm_client(script: str, url: str, key: str, body: dict) -> dict:
    """Run one of our node scripts; its packages come from interop/package.json."""
    result = subprocess.run(  # noqa: S603 - our own script with fixed arguments
        [shutil.which("node") or "node", str(INTEROP / script), url, key, json.dumps(body)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_npm_x402_quickstart_flow_registers_and_deposits(
    live_server: Any, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(5_000_000)
    key = "0x" + bytes(payer.key).hex()
    register = run_npm_client(
        "pay_v1.mjs", f"{live_server.url}/v1/register", key, {"name": "Node agent"}
    )
    assert register["status"] == 201, register
    assert register["body"]["api_key"].startswith("sk_")
    assert register["receipt"]
    deposit = run_npm_client(
        "pay_v1.mjs", f"{live_server.url}/v1/balance/deposit?amount=2", key, {}
    )
    assert deposit["status"] == 201, deposit
    assert Participant.objects.get(wallet=payer.address).registered_at is not None
    assert balance_of(token=chain.usdc, address=payer.address) == 5_000_000 - 10_000 - 2_000_000
    assert ledger_problems() == []


def test_the_npm_x402_fetch_v2_client_registers_and_deposits_with_default_settings(
    live_server: Any, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(5_000_000)
    key = "0x" + bytes(payer.key).hex()
    register = run_npm_client(
        "pay_v2.mjs", f"{live_server.url}/v1/register", key, {"name": "Fetch agent"}
    )
    assert register["status"] == 201, register
    assert register["receipt"]["success"] is True
    deposit = run_npm_client(
        "pay_v2.mjs", f"{live_server.url}/v1/balance/deposit?amount=0.50", key, {}
    )
    assert deposit["status"] == 201, deposit
    assert deposit["body"]["balance_usd"] == 0.5
    assert balance_of(token=chain.usdc, address=payer.address) == 5_000_000 - 10_000 - 500_000
    assert ledger_problems() == []
