"""Settings fail loudly on bad values (checked in a fresh interpreter, as at start-up)."""

from __future__ import annotations

import json
import os
import re
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
        # ASCII digits only: int() would read these as 8000 and 3.
        ({"DEBUG": "1", "PORT": "\uff18\uff10\uff10\uff10"}, "is not an integer"),
        ({"DEBUG": "1", "THE402_PAYOUT_THRESHOLD": "\u0663"}, "is not an integer"),
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


KEYS = {
    "SECRET_KEY": "settings-test-secret-key-" + "0" * 32,
    "THE402_ENCRYPTION_KEY": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=",
}


def settings_values(tmp_path: Path, names: list[str], **env: str) -> dict[str, object]:
    """The named settings as a fresh interpreter loads them with only `env` (plus the
    data dir) set: none of this process's own DEBUG or webhook settings leak in."""
    unset = {
        "DATABASE_URL",
        "SECRET_KEY",
        "THE402_ENCRYPTION_KEY",
        "THE402_NETWORK",
        "DEBUG",
        "THE402_WEBHOOK_ALLOW_PRIVATE",
    }
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    clean.update({"THE402_DATA_DIR": str(tmp_path), **env})
    code = (
        "import json, the402.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    done = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_debug_is_off_unless_set_even_without_a_database_url(tmp_path: Path) -> None:
    assert settings_values(tmp_path, ["DEBUG"], **KEYS) == {"DEBUG": False}


def test_without_debug_or_keys_start_up_stops_instead_of_generating_keys(tmp_path: Path) -> None:
    result = load_settings(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_private_webhooks_are_off_by_default_even_with_debug(tmp_path: Path) -> None:
    values = settings_values(tmp_path, ["DEBUG", "WEBHOOK_ALLOW_PRIVATE"], DEBUG="1")
    assert values == {"DEBUG": True, "WEBHOOK_ALLOW_PRIVATE": False}


def test_private_webhooks_need_their_own_variable(tmp_path: Path) -> None:
    values = settings_values(
        tmp_path, ["DEBUG", "WEBHOOK_ALLOW_PRIVATE"], THE402_WEBHOOK_ALLOW_PRIVATE="1", **KEYS
    )
    assert values == {"DEBUG": False, "WEBHOOK_ALLOW_PRIVATE": True}


def test_make_run_turns_on_debug_and_private_webhooks_and_lets_them_be_overridden() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text()
    assert 'export DEBUG="${DEBUG:-1}"' in script
    assert 'export THE402_WEBHOOK_ALLOW_PRIVATE="${THE402_WEBHOOK_ALLOW_PRIVATE:-1}"' in script
    # ...before the first manage.py command, which loads the settings.
    assert script.index("export DEBUG=") < script.index("manage.py")


# --- the README's configuration table and the settings module agree -----------------------

_ENV_READ = re.compile(
    r"env_(str|bool|int|list|choice)\(\s*[\"']([A-Z0-9_]+)[\"'](?:,\s*([^,)]+))?"
)


def readme_table() -> dict[str, str]:
    """Each variable of the README's configuration table with its "default" cell."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in {"variable", "---"}:
            continue
        for name in re.findall(r"`([A-Z0-9_]+)`", cells[0].split("(or")[0]):
            rows[name] = cells[1]
    return rows


def settings_reads() -> dict[str, tuple[str, str]]:
    """Each environment variable the settings module reads: (helper kind, default text)."""
    source = (ROOT / "the402" / "settings.py").read_text()
    return {
        name: (kind, (default or "").strip()) for kind, name, default in _ENV_READ.findall(source)
    }


def test_every_variable_the_settings_read_is_in_the_readme_table_and_back() -> None:
    assert set(settings_reads()) == set(readme_table())


def test_the_readme_states_each_integer_default_the_settings_use() -> None:
    table = readme_table()
    for name, (kind, default) in settings_reads().items():
        if kind == "int" and name in table:  # a missing row fails the test above
            stated = re.findall(r"`(\d+)`", table[name])
            assert str(int(default.replace("_", ""))) in stated, (name, default, table[name])


def test_the_readme_states_each_boolean_default_the_settings_use() -> None:
    table = readme_table()
    for name, (kind, default) in settings_reads().items():
        if (
            kind == "bool"
            and name in table
            and default.removeprefix("default=") in {"True", "False"}
        ):
            on = default.removeprefix("default=") == "True"
            assert table[name].startswith("on" if on else "off"), (name, table[name])
