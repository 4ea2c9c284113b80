"""kill -9 in the middle of a payment: the server is a real gunicorn process with its own
database, killed while its settlement transaction waits to be mined, then started again.

The transfer lands on-chain after the process died, so the server's record says only
"settling". Whichever way the buyer and the platform go on (replaying the same payment
header, or leaving it to `manage.py reconcile`), the money converges: taken once on-chain,
counted once in the ledger, and either paying for the request or credited to the buyer's
prepaid balance, never both and never neither.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from django.db import connection
from web3 import Web3

from payments.chain.client import Deployment
from payments.chain.usdc import balance_of
from tests.payments.x402_client import payment_header

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PRICE = 5_000  # GET /v1/reputation/:wallet, $0.005
PATH = f"/v1/reputation/0x{'ab' * 20}"


class Server:
    """the402 under gunicorn, on its own database and data directory, against `devnet`."""

    def __init__(self, devnet: Deployment, tmp_path: Path, database_url: str) -> None:
        data_dir = tmp_path / "server"
        (data_dir / "devnet").mkdir(parents=True)
        (data_dir / "devnet" / "deployment.json").write_text(json.dumps(devnet.as_json()))
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "THE402_DATA_DIR": str(data_dir),
            "THE402_NETWORK": "devnet",
            "CHAIN_RPC_URL": devnet.rpc_url,
            "DEBUG": "0",
            "SECRET_KEY": "crash-test-secret-key-" + "0" * 32,
            "THE402_ENCRYPTION_KEY": "Y3Jhc2gtdGVzdC1lbmNyeXB0aW9uLWtleS0wMDAwMDA=",
            "ALLOWED_HOSTS": "127.0.0.1",
            "THE402_SETTLE_TIMEOUT": "30",
        }
        self.process: subprocess.Popen[bytes] | None = None
        # One port for every start: a payment names the URL it pays for.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def query(self, code: str) -> Any:
        """Run Python in the server's Django; the JSON it prints."""
        done = self.manage("shell", "-c", code)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own server on loopback
            [sys.executable, "-m", "gunicorn", "the402.wsgi", "-w", "1"]
            + ["-b", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: killed whole, master and worker
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction commits, nothing is flushed."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.kill()


@pytest.fixture
def server_database(tmp_path: Path) -> Iterator[str]:
    """A database of the server's own: a SQLite file, or a fresh PostgreSQL database."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"crash_{secrets.token_hex(6)}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def server(devnet: Deployment, tmp_path: Path, server_database: str) -> Iterator[Server]:
    instance = Server(devnet, tmp_path, server_database)
    migrated = instance.manage("migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def _killed_mid_settlement(server: Server, w3: Web3, header: dict[str, str]) -> None:
    """Send the paid request and kill the server once its transfer is in the mempool, then
    mine the transfer: it lands on-chain with nobody left to record it."""
    outcome: list[Any] = []

    def request() -> None:
        try:
            outcome.append(httpx.get(f"{server.url}{PATH}", headers=header, timeout=60))
        except httpx.TransportError as exc:
            outcome.append(exc)

    w3.provider.make_request("evm_setAutomine", [False])
    try:
        thread = threading.Thread(target=request)
        thread.start()
        deadline = time.monotonic() + 30
        while int(w3.provider.make_request("txpool_status", [])["result"]["pending"], 16) == 0:
            assert time.monotonic() < deadline, f"no settlement was sent: {outcome}"
            time.sleep(0.05)
        server.kill()
        thread.join(timeout=30)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_mine", [])
    assert isinstance(outcome[0], httpx.TransportError), outcome  # it never answered


def _paid_header(server: Server, payer: Any) -> dict[str, str]:
    challenge = httpx.get(f"{server.url}{PATH}", timeout=30)
    _, value = payment_header(challenge, payer, version=1)
    return {"X-PAYMENT": value}


PAYMENT_STATE = (
    "import json; from payments.models import X402Payment as P; "
    "print(json.dumps([[p.status, p.fulfilled_at is not None] for p in P.objects.all()]))"
)
BALANCE = (
    "import json; from payments.ledger import agent_account, balance_of; "
    "from payments.models import Participant; "
    "print(json.dumps(balance_of(agent_account(Participant.objects.get(wallet__iexact='{}')))))"
)


def test_a_replay_after_the_server_died_mid_settlement_completes_the_request_once(
    server: Server, w3: Web3, funded_payer: Callable[..., Any], chain: Deployment
) -> None:
    payer = funded_payer(1_000_000)
    header = _paid_header(server, payer)
    _killed_mid_settlement(server, w3, header)
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000 - PRICE
    assert server.query(PAYMENT_STATE) == [["settling", False]]

    server.start()
    replay = httpx.get(f"{server.url}{PATH}", headers=header, timeout=60)
    assert replay.status_code == 200, replay.text
    assert replay.json()["wallet"].lower() == f"0x{'ab' * 20}"
    again = httpx.get(f"{server.url}{PATH}", headers=header, timeout=60)
    assert (again.status_code, again.json()) == (200, replay.json())  # its answer, again

    assert server.query(PAYMENT_STATE) == [["settled", True]]
    assert server.manage("ledger_check").returncode == 0
    assert server.manage("reconcile").returncode == 0
    assert server.query(BALANCE.format(payer.address)) == 0  # paid the request, no credit
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000 - PRICE


def test_a_payment_left_after_the_server_died_is_credited_to_the_buyer_once(
    server: Server, w3: Web3, funded_payer: Callable[..., Any], chain: Deployment
) -> None:
    payer = funded_payer(1_000_000)
    _killed_mid_settlement(server, w3, _paid_header(server, payer))
    server.start()
    # The buyer never comes back. Past the grace period, reconciliation reads the token,
    # finds the authorization used, and credits what was paid to the buyer's balance.
    server.query(
        "from datetime import timedelta; from payments.models import X402Payment as P; "
        "from django.db.models import F; "
        "print(P.objects.update(created_at=F('created_at') - timedelta(minutes=11)))"
    )
    for _ in range(2):  # a second run finds nothing left to do
        done = server.manage("reconcile")
        assert done.returncode == 0, done.stderr
    assert server.query(PAYMENT_STATE) == [["settled", True]]
    assert server.query(BALANCE.format(payer.address)) == PRICE
    assert server.manage("ledger_check").returncode == 0
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000 - PRICE
