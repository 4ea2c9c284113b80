"""`manage.py devnet start|stop|status`: the local anvil chain that `make run` pays on.

`start` is idempotent (reuses a running devnet and its contracts, restores a stopped one
from its saved state) so `make run` can call it every time; `stop` lets anvil save its state.
Only meaningful with THE402_NETWORK=devnet: on a real network there is nothing to start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.chain.devnet import (
    DevnetError,
    chain_id_at,
    devnet_dir,
    ensure_devnet,
    read_deployment,
    rpc_url_for,
    running_pid,
    stop_devnet,
)


class Command(BaseCommand):
    help = (
        "Start, stop or show the local devnet (anvil with chain id 84532, TestUSDC and "
        "The402Escrow) that THE402_NETWORK=devnet pays on. State is kept in "
        "THE402_DATA_DIR/devnet across restarts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=("start", "stop", "status"))
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print the deployment as JSON (start, status)",
        )

    def handle(self, *args: Any, action: str, as_json: bool = False, **options: Any) -> None:
        if settings.NETWORK != "devnet":
            raise CommandError(
                f"THE402_NETWORK is {settings.NETWORK!r}: the devnet only exists for "
                "THE402_NETWORK=devnet"
            )
        data_dir = Path(settings.DATA_DIR)
        port = int(settings.DEVNET_PORT)
        if action == "start":
            self._start(data_dir, port, as_json=as_json)
        elif action == "stop":
            self._stop(data_dir)
        else:
            self._status(data_dir, port, as_json=as_json)

    def _start(self, data_dir: Path, port: int, *, as_json: bool) -> None:
        try:
            deployment = ensure_devnet(data_dir=data_dir, port=port)
        except DevnetError as exc:
            raise CommandError(str(exc)) from None
        if as_json:
            self.stdout.write(_json_dumps(_public(deployment.as_json())))
            return
        self.stdout.write(self.style.SUCCESS(f"devnet running at {deployment.rpc_url}"))
        for label, value in (
            ("chain id", deployment.chain_id),
            ("usdc", deployment.usdc),
            ("escrow", deployment.escrow),
            ("treasury", deployment.treasury),
            ("owner", f"{deployment.owner} (anvil dev account 0)"),
            ("state", devnet_dir(data_dir)),
        ):
            self.stdout.write(f"  {label:<9} {value}")

    def _stop(self, data_dir: Path) -> None:
        if stop_devnet(data_dir=data_dir):
            self.stdout.write(self.style.SUCCESS("devnet stopped (state saved)"))
        else:
            self.stdout.write("devnet was not running")

    def _status(self, data_dir: Path, port: int, *, as_json: bool) -> None:
        url = rpc_url_for(port)
        pid = running_pid(data_dir)
        chain_id = chain_id_at(url)
        try:
            deployment = read_deployment(data_dir)
        except DevnetError as exc:
            raise CommandError(str(exc)) from None
        status = {
            "running": pid is not None and chain_id is not None,
            "pid": pid,
            "rpc_url": url,
            "chain_id": chain_id,
            "deployment": None if deployment is None else _public(deployment.as_json()),
        }
        if as_json:
            self.stdout.write(_json_dumps(status))
            return
        state = "running" if status["running"] else "not running"
        self.stdout.write(f"devnet {state} ({url}, pid {pid or '-'})")
        if chain_id is not None and pid is None:
            self.stdout.write(f"  something else answers on port {port} (chain id {chain_id})")
        if deployment is None:
            self.stdout.write("  no deployment yet: run `manage.py devnet start`")
        else:
            self.stdout.write(f"  usdc      {deployment.usdc}")
            self.stdout.write(f"  escrow    {deployment.escrow}")
            self.stdout.write(f"  treasury  {deployment.treasury}")


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """The deployment without its key: command output ends up in terminals and CI logs."""
    return {key: value for key, value in data.items() if key != "owner_key"}


def _json_dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str)
