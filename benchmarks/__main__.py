"""Run every benchmark: the catalog on SQLite, and on PostgreSQL when DATABASE_URL is set.

Each database runs in its own process (settings are read once per process) against a
dedicated benchmark database, never the one `make run` serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    base_env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "benchmark-only-secret-key-0000000000",
        "THE402_ENCRYPTION_KEY": "YmVuY2htYXJrLW9ubHktZW5jcnlwdGlvbi1rZXktISE=",
    }
    targets = [("SQLite", {k: v for k, v in base_env.items() if k != "DATABASE_URL"})]
    if os.environ.get("DATABASE_URL"):
        targets.append(("PostgreSQL", base_env))
    status = 0
    for module, title in (
        ("benchmarks.catalog", "Catalog at scale"),
        ("benchmarks.payments", "Payments"),
        ("benchmarks.reputation", "Reputation at scale"),
    ):
        for label, env in targets:
            print(f"\n## {title}: {label}\n", flush=True)
            result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", module], env=env, cwd=ROOT, check=False
            )
            status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
