"""Payments benchmarks: verification speed, a paid request settled on devnet, and the
throughput of a balance-paid endpoint against the free /health under the same load.

Run through `make bench`. Uses a throwaway anvil and the benchmark database of
`benchmarks.catalog` (SQLite in `$THE402_DATA_DIR/bench`, or `<db>_bench` on PostgreSQL).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payments.chain.devnet import Deployment

ROOT = Path(__file__).resolve().parent.parent
PAID_ROUNDS = int(os.environ.get("BENCH_PAID_ROUNDS", "30"))
ESCROW_CYCLES = int(os.environ.get("BENCH_ESCROW_CYCLES", "10"))
LOAD_REQUESTS = int(os.environ.get("BENCH_LOAD_REQUESTS", "1500"))
LOAD_CONCURRENCY = int(os.environ.get("BENCH_LOAD_CONCURRENCY", "8"))
LOAD_ROUNDS = int(os.environ.get("BENCH_LOAD_ROUNDS", "3"))
VERIFY_TARGET = 1_000
RATIO_TARGET = 0.3


def _load_process(url: str, headers: dict[str, str], requests: int, threads: int) -> int:
    """One load-generating process: `threads` threads sending `requests` GETs in all."""
    failures = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal failures
        for _ in range(requests // threads):
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            if not ok:
                with lock:
                    failures += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return failures


def _load(url: str, headers: dict[str, str], total: int, concurrency: int) -> tuple[float, int]:
    """Requests per second over `total` GETs from `concurrency` clients (two processes, so the
    generator is not held back by one interpreter lock), and how many failed."""
    processes = 2
    per_process = total // processes
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [
            pool.submit(_load_process, url, headers, per_process, concurrency // processes)
            for _ in range(processes)
        ]
        failures = sum(f.result() for f in futures)
    sent = processes * (per_process // (concurrency // processes)) * (concurrency // processes)
    return sent / (time.perf_counter() - start), failures


def main() -> int:
    from benchmarks.catalog import _point_at_bench_database

    _point_at_bench_database("bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "the402.settings")
    data_dir = Path(tempfile.mkdtemp(prefix="the402-bench-chain-"))
    (data_dir / "devnet").mkdir()
    db_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{Path(os.environ['THE402_DATA_DIR']) / 'the402.sqlite3'}"
    )
    os.environ["DATABASE_URL"] = db_url
    os.environ["THE402_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("THE402_ENCRYPTION_KEY", "YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXktISE=")

    from eth_account import Account
    from web3 import Web3

    from payments.chain.devnet import (
        ANVIL_DEV_KEYS,
        DEVNET_CHAIN_ID,
        Deployment,
        deploy_contracts,
        throwaway_anvil,
    )
    from payments.x402.bench import verifications_per_second

    rate = verifications_per_second(seconds=2.0)
    print("| measure | result | target |")
    print("|---|---|---|")
    _row(
        "x402 verifications per second (one core, in-process)",
        f"{rate:,.0f}/s",
        f">= {VERIFY_TARGET:,}/s",
    )

    with throwaway_anvil() as rpc_url:
        w3 = Web3(Web3.HTTPProvider(rpc_url))
        treasury = Account.from_key(ANVIL_DEV_KEYS[1]).address
        usdc, escrow = deploy_contracts(w3, ANVIL_DEV_KEYS[0], treasury)
        deployment = Deployment(rpc_url, DEVNET_CHAIN_ID, usdc, escrow, ANVIL_DEV_KEYS[0], treasury)
        (data_dir / "devnet" / "deployment.json").write_text(json.dumps(deployment.as_json()))
        os.environ["CHAIN_RPC_URL"] = rpc_url

        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        p50, p95 = _paid_request_latency(deployment)
        _row(
            "paid request settled on devnet (x402 v2, GET /v1/reputation/:wallet), p50 / p95",
            f"{p50:.1f} ms / {p95:.1f} ms",
        )
        gas, per_second = _escrow_cycles(deployment)
        _row(
            "gas per escrow fund / release / refund",
            " / ".join(f"{gas[f]:,}" for f in ("fund", "release", "refund")),
        )
        _row(
            "escrow cycles per second end to end on devnet "
            "(settle to escrow, open, fund, release; all mined)",
            f"{per_second:.1f}/s",
        )
        health, paid, failures = _throughput_ratio(rpc_url, db_url, data_dir)
        ratio = paid / health
        _row(
            f"free /health, {LOAD_CONCURRENCY} concurrent clients, 2 gunicorn workers "
            f"(median of {LOAD_ROUNDS} interleaved rounds)",
            f"{health:,.0f} req/s",
        )
        _row(
            "balance-paid GET /v1/reputation/:wallet, same load",
            f"{paid:,.0f} req/s ({failures} failed)",
        )
        _row("ratio balance-paid / free", f"{ratio:.2f}", f">= {RATIO_TARGET}")
    return 0


def _row(measure: str, result: str, target: str = "") -> None:
    print(f"| {measure} | {result} | {target} |", flush=True)


def _paid_request_latency(deployment: Deployment) -> tuple[float, float]:
    from django.test import Client
    from eth_account import Account

    from payments.chain.usdc import mint
    from tests.payments.x402_client import payment_header

    client = Client(HTTP_HOST="127.0.0.1")
    payer = Account.create()
    mint(token=deployment.usdc, to=payer.address, amount=1_000_000_000)
    path = f"/v1/reputation/{'0x' + secrets.token_hex(20)}"
    samples = []
    for _ in range(PAID_ROUNDS + 1):
        header, value = payment_header(client.get(path), payer, version=2)
        meta: dict[str, Any] = {header: value}
        start = time.perf_counter()
        response = client.get(path, **meta)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content
    samples = sorted(samples[1:])
    return statistics.median(samples), samples[round(0.95 * (len(samples) - 1))]


def _escrow_cycles(deployment: Deployment) -> tuple[dict[str, int], float]:
    """Full escrow cycles on devnet; returns median gas per operation and cycles per second."""
    from datetime import timedelta

    from django.utils import timezone
    from eth_account import Account

    from payments.chain.usdc import mint, settle_transfer_with_authorization
    from payments.chain_calls import chain_call_run
    from payments.eip3009 import Authorization, TokenDomain, sign
    from payments.escrow import escrow_open_on_chain, escrow_refund, escrow_release
    from payments.models import ChainCall
    from payments.services import participant_for_wallet
    from tests.factories import payment_row

    payer = Account.create()
    mint(token=deployment.usdc, to=payer.address, amount=1_000_000_000)
    payee = participant_for_wallet("0x" + secrets.token_hex(20))
    domain = TokenDomain("USDC", "2", deployment.chain_id, deployment.usdc)

    def cycle(finish: Callable[..., Any]) -> None:
        now = int(time.time())
        authorization = Authorization(
            payer.address,
            deployment.escrow,
            1_050_000,
            now - 60,
            now + 600,
            "0x" + secrets.token_hex(32),
        )
        result = settle_transfer_with_authorization(
            token=deployment.usdc,
            authorization=authorization,
            signature=sign(domain, authorization, payer.key),
        )
        payment = payment_row(
            deployment.usdc, authorization, status="settled", tx_hash=result.tx_hash
        )
        escrow = escrow_open_on_chain(
            payment=payment,
            payer=participant_for_wallet(payer.address),
            payee=payee,
            amount=1_000_000,
            fee=50_000,
            expires_at=timezone.now() + timedelta(days=1),
        )
        _run_calls(escrow.public_id, chain_call_run)
        finish(type(escrow).objects.get(pk=escrow.pk))
        _run_calls(escrow.public_id, chain_call_run)

    start = time.perf_counter()
    for _ in range(ESCROW_CYCLES):
        cycle(escrow_release)
    per_second = ESCROW_CYCLES / (time.perf_counter() - start)
    cycle(escrow_refund)
    gas = {
        function: int(
            statistics.median(
                used
                for used in ChainCall.objects.filter(function=function).values_list(
                    "gas_used", flat=True
                )
                if used is not None
            )
        )
        for function in ("fund", "release", "refund")
    }
    return gas, per_second


def _run_calls(escrow_public_id: str, run: Callable[[int], Any]) -> None:
    from payments.models import ChainCall

    for call in ChainCall.objects.filter(idempotency_key__endswith=escrow_public_id).exclude(
        status="confirmed"
    ):
        run(call.pk)


def _throughput_ratio(rpc_url: str, db_url: str, data_dir: Path) -> tuple[float, float, int]:
    from payments.ledger import WORLD, Posting, agent_account, ledger_record
    from payments.services import api_key_issue, participant_create

    buyer = participant_create(wallet="0x" + secrets.token_hex(20), name="Bench buyer")
    ledger_record(
        kind="deposit",
        idempotency_key=f"bench-{buyer.public_id}",
        postings=[Posting(WORLD, agent_account(buyer), 10_000_000_000)],
    )
    key = api_key_issue(participant=buyer)
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": db_url,
        "THE402_DATA_DIR": str(data_dir),
        "CHAIN_RPC_URL": rpc_url,
    }
    server = subprocess.Popen(  # noqa: S603 - our own server on loopback
        [
            sys.executable,
            "-m",
            "gunicorn",
            "the402.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/health")
        wallet = "0x" + secrets.token_hex(20)
        paid_url, paid_headers = f"{base}/v1/reputation/{wallet}", {"X-BALANCE-AUTH": key}
        _load(f"{base}/health", {}, 200, LOAD_CONCURRENCY)  # warm both workers
        _load(paid_url, paid_headers, 200, LOAD_CONCURRENCY)
        # Interleaved rounds, each endpoint's median: a burst of background work on the
        # machine (autovacuum after the catalog was seeded, say) skews one round, not both.
        healths, paids, failures = [], [], 0
        for _ in range(LOAD_ROUNDS):
            healths.append(_load(f"{base}/health", {}, LOAD_REQUESTS, LOAD_CONCURRENCY)[0])
            rate, failed = _load(paid_url, paid_headers, LOAD_REQUESTS, LOAD_CONCURRENCY)
            paids.append(rate)
            failures += failed
        health, paid = statistics.median(healths), statistics.median(paids)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return health, paid, failures


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the benchmark server did not start at {url}")


if __name__ == "__main__":
    sys.exit(main())
