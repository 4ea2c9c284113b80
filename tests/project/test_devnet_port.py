"""`manage.py devnet status` (and every other command) finds the chain `make run` started on
a port of its choosing, without the caller exporting THE402_DEVNET_PORT: the port recorded
in THE402_DATA_DIR/devnet is the default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from payments.chain.devnet import free_port

ROOT = Path(__file__).resolve().parents[2]


def manage(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {"DATABASE_URL", "THE402_NETWORK", "THE402_DEVNET_PORT", "CHAIN_RPC_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update({"DEBUG": "1", "THE402_DATA_DIR": str(data_dir), **env})
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "manage.py", *args],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    tmp_path = tmp_path_factory.mktemp("devnet")
    port = free_port()
    result = manage(tmp_path, "devnet", "start", THE402_DEVNET_PORT=str(port))
    assert result.returncode == 0, result.stderr
    try:
        yield tmp_path, port
    finally:
        manage(tmp_path, "devnet", "stop")


def test_devnet_status_finds_the_port_start_recorded(started: tuple[Path, int]) -> None:
    data_dir, port = started

    result = manage(data_dir, "devnet", "status", "--json")

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["rpc_url"] == f"http://127.0.0.1:{port}"


def test_settings_point_the_chain_at_the_recorded_port(started: tuple[Path, int]) -> None:
    data_dir, port = started

    result = manage(
        data_dir, "shell", "-c", "from django.conf import settings; print(settings.CHAIN_RPC_URL)"
    )

    assert result.stdout.strip().splitlines()[-1] == f"http://127.0.0.1:{port}"


def test_an_exported_port_still_wins(started: tuple[Path, int]) -> None:
    data_dir, _ = started
    other = free_port()

    result = manage(data_dir, "devnet", "status", "--json", THE402_DEVNET_PORT=str(other))

    assert json.loads(result.stdout)["rpc_url"] == f"http://127.0.0.1:{other}"
