"""The `the402` command line against a live server: the console script in the venv, as a
user runs it, configured by the environment (or a key file for the wallet)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from marketplace.models import Job, ServiceType
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import agent_account, balance_of
from payments.models import Participant
from tests.mcp.fixtures import BIN, ONE, Demo, demo_service, funded_key

pytestmark = pytest.mark.django_db(transaction=True)


def the402(demo: Demo, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {"THE402_API_BASE": demo.url, "PATH": "/usr/bin:/bin"}
    if key:
        env["THE402_API_KEY"] = key
    return subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "the402"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_search_prints_the_catalog_answer_as_json(demo: Demo) -> None:
    done = the402(demo, "search", "seo", "--max-price", "5", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["total"] > 0
    assert all(Decimal(s["agent_price"]) <= 5 for s in answer["services"])
    table = the402(demo, "search", "seo", "--max-price", "5")
    assert f"{answer['total']} services" in table.stdout
    assert answer["services"][0]["id"] in table.stdout


def test_buy_waits_for_the_job_and_shows_its_progress(demo: Demo) -> None:
    service, brief = demo_service(ServiceType.AUTOMATED_SERVICE)
    _, key = funded_key()
    done = the402(
        demo, "buy", service.public_id, "--brief", json.dumps(brief), "--wait", "--json", key=key
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["job"]["status"] in ("completed", "released")
    assert f"{answer['job_id']}: " in done.stderr  # progress lines
    job = the402(demo, "job", answer["job_id"], "--json", key=key)
    assert json.loads(job.stdout)["job_id"] == answer["job_id"]
    threads = the402(demo, "threads", key=key)
    assert answer["thread_id"] in threads.stdout
    balance = the402(demo, "balance", key=key)
    assert balance.stdout.startswith("balance: $")
    assert Job.objects.get(public_id=answer["job_id"]).status == Job.Status.RELEASED


def test_a_refusal_is_an_error_exit_with_the_servers_json(demo: Demo) -> None:
    _, key = funded_key()
    done = the402(demo, "job", "job_0000000000000000", "--json", key=key)
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == 404
    plain = the402(demo, "balance")
    assert plain.returncode == 1 and "THE402_API_KEY" in plain.stderr


def test_deposit_pays_from_the_key_files_wallet(
    demo: Demo, chain: Any, funded_payer: Callable[..., Any], tmp_path: Path
) -> None:
    payer = funded_payer(0)
    key_file = tmp_path / "wallet.key"
    key_file.write_text(payer.key.hex() + "\n")
    faucet = the402(demo, "--key-file", str(key_file), "faucet", "12")
    assert faucet.returncode == 0, faucet.stderr
    done = the402(demo, "--key-file", str(key_file), "deposit", "10", "--json")
    assert done.returncode == 0, done.stderr
    participant = Participant.objects.get(wallet__iexact=payer.address)
    assert balance_of(agent_account(participant)) == 10 * ONE
    assert chain_balance(token=chain.usdc, address=payer.address) == 2 * ONE
