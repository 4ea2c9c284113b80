"""Settings fail loudly on bad values (checked in a fresh interpreter, as at start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {"DATABASE_URL", "SECRET_KEY", "THE402_ENCRYPTION_KEY", "THE402_NETWORK"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update({"THE402_DATA_DIR": str(tmp_path), **env})
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", "import the402.settings"],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "1", "PORT": "abc"}, "PORT='abc' is not an integer"),
        ({"DEBUG": "1", "PORT": "70000"}, "PORT=70000 is above the maximum"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "0"}, "SECRET_KEY (or SECRET_KEY_FILE) is required"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL must be a sqlite"),
        ({"DEBUG": "1", "THE402_NETWORK": "mainnet"}, "THE402_NETWORK='mainnet' must be one of"),
        ({"DEBUG": "1", "THE402_PUBLIC_URL": "example.com"}, "THE402_PUBLIC_URL must start"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 32 characters"),
        ({"DEBUG": "1", "THE402_PAY_TO": "0x12"}, "THE402_PAY_TO must be an address"),
        ({"DEBUG": "1", "THE402_NETWORK": "base"}, "THE402_NETWORK=base needs THE402_PAY_TO"),
        (
            {
                "DEBUG": "1",
                "THE402_NETWORK": "base-sepolia",
                "THE402_PAY_TO": "0x" + "1" * 40,
                "CHAIN_RPC_URL": "https://rpc.example",
            },
            "needs THE402_RELAYER_KEY",
        ),
        ({"DEBUG": "1", "THE402_FACILITATOR": "remote"}, "THE402_FACILITATOR must be"),
        ({"DEBUG": "0", "SECRET_KEY": "s" * 40}, "THE402_ENCRYPTION_KEY"),
        ({"DEBUG": "1", "THE402_ENCRYPTION_KEY": "c2hvcnQ="}, "must decode to exactly 32 bytes"),
        ({"DEBUG": "1", "SQLITE_MMAP_MB": "lots"}, "SQLITE_MMAP_MB='lots' is not an integer"),
        ({"DEBUG": "1", "SQLITE_MMAP_MB": "-1"}, "SQLITE_MMAP_MB=-1 is below the minimum"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_local_default_generates_a_secret_key_once(tmp_path: Path) -> None:
    assert load_settings(tmp_path, DEBUG="1").returncode == 0
    first = (tmp_path / "secret_key").read_text()
    assert load_settings(tmp_path, DEBUG="1").returncode == 0
    assert (tmp_path / "secret_key").read_text() == first
    assert len(first) >= 50
