"""The local chain behind ``make run`` and the test suite: anvil plus our two contracts.

Devnet is anvil with Base Sepolia's chain id (84532) and its test USDC at Base Sepolia's USDC
address, so the official x402 clients pay it with their default settings. ``ensure_devnet``
runs anvil as a detached background process with a state file, because a marketplace
restart must not forget the payments its database refers to: the contract addresses in
``deployment.json`` and the balances behind them have to survive ``make run`` being stopped
and started again. anvil dumps its state on SIGTERM and every
``STATE_INTERVAL_SECONDS``, so even a ``kill -9`` loses at most that many seconds.

This module does not touch Django settings: the contract tests and the ``devnet`` management
command both use it, and the caller decides where the data directory and port are.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.types import RPCEndpoint

from payments.contracts import load_artifact

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEVNET_CHAIN_ID = 84532  # Base Sepolia: clients see the devnet as base-sepolia
ANVIL_START_TIMEOUT = 20.0
ANVIL_STOP_TIMEOUT = 15.0
STATE_INTERVAL_SECONDS = 5
RECEIPT_TIMEOUT = 30.0
# Base Sepolia's USDC: the devnet's TestUSDC lives at the same address (same EIP-712 domain,
# 6 decimals), so the official x402 clients' default asset table pays it as is.
CANONICAL_USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"

# anvil's pre-funded accounts 0..9, derived from its default mnemonic
# "test test test test test test test test test test test junk" (m/44'/60'/0'/0/i).
# Public knowledge: never use them anywhere but a local chain.
ANVIL_DEV_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)

# The contracts a devnet holds; their artifacts' source hashes are recorded in
# deployment.json so a changed contract is deployed afresh instead of silently reused.
_CONTRACTS = ("TestUSDC", "The402Escrow")

# npm's platform packages of @foundry-rs/anvil, keyed by Python's (system, machine).
_ANVIL_PACKAGES = {
    ("Linux", "x86_64"): "anvil-linux-amd64",
    ("Linux", "amd64"): "anvil-linux-amd64",
    ("Linux", "aarch64"): "anvil-linux-arm64",
    ("Linux", "arm64"): "anvil-linux-arm64",
    ("Darwin", "x86_64"): "anvil-darwin-amd64",
    ("Darwin", "arm64"): "anvil-darwin-arm64",
    ("Windows", "AMD64"): "anvil-win32-amd64",
}


class DevnetError(RuntimeError):
    """The devnet could not be started, reached or deployed to; the message says why."""


@dataclass(frozen=True)
class Deployment:
    """Where the marketplace's chain and contracts are, and which key sends our transactions.

    On devnet the owner (deployer of both contracts, escrow operator) is anvil account 0 and
    also relays settlements; the treasury (x402 ``payTo``) is anvil account 1.
    """

    rpc_url: str
    chain_id: int
    usdc: str
    escrow: str
    owner_key: str = field(repr=False)  # never in reprs, tracebacks or logs
    treasury: str

    @property
    def owner(self) -> str:
        """The checksummed address of ``owner_key``."""
        return str(Account.from_key(self.owner_key).address)

    def as_json(self) -> dict[str, Any]:
        return {
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "usdc": self.usdc,
            "escrow": self.escrow,
            "owner_key": self.owner_key,
            "treasury": self.treasury,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Deployment:
        """Build from ``as_json`` output; unknown keys (e.g. ``artifacts``) are ignored."""
        return cls(
            rpc_url=str(d["rpc_url"]),
            chain_id=int(d["chain_id"]),
            usdc=to_checksum_address(d["usdc"]),
            escrow=to_checksum_address(d["escrow"]),
            owner_key=str(d["owner_key"]),
            treasury=to_checksum_address(d["treasury"]),
        )


# ---------------------------------------------------------------- anvil processes


def anvil_binary() -> Path:
    """The anvil executable that ``npm ci`` installed.

    The platform binary is preferred over ``node_modules/.bin/anvil``: that one is a node
    wrapper, and signalling the wrapper instead of anvil itself makes a clean state dump on
    SIGTERM depend on the wrapper forwarding the signal.
    """
    modules = REPO_ROOT / "node_modules"
    package = _ANVIL_PACKAGES.get((platform.system(), platform.machine()))
    if package is not None:
        name = "anvil.exe" if platform.system() == "Windows" else "anvil"
        binary = modules / "@foundry-rs" / package / "bin" / name
        if binary.is_file():
            return binary
    wrapper = modules / ".bin" / "anvil"
    if wrapper.exists():
        return wrapper
    raise DevnetError(
        f"anvil not found under {modules}: run `npm ci` in {REPO_ROOT} "
        "(installs @foundry-rs/anvil from package-lock.json)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_url_for(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def start_anvil(
    *,
    port: int,
    state_file: Path | None,
    chain_id: int = DEVNET_CHAIN_ID,
    log_file: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start anvil on 127.0.0.1:``port`` and return once it answers ``eth_chainId``.

    With ``state_file``, anvil loads it at start (if present), dumps it on exit and every
    ``STATE_INTERVAL_SECONDS``. Output goes to ``log_file`` (appended) or to a temporary file
    that is only read to explain a failed start. The process gets its own session, so a
    Ctrl-C in the caller's terminal does not kill it before it can dump its state; whoever
    starts it stops it (``stop_anvil`` / ``stop_devnet``).

    Raises ``DevnetError`` (with anvil's output) if it exits or does not answer in time.
    """
    binary = anvil_binary()
    if _port_in_use(port):
        # Otherwise the readiness probe could be answered by whatever holds the port.
        raise DevnetError(
            f"port {port} on 127.0.0.1 is already in use: stop whatever listens there "
            "or choose another port (THE402_DEVNET_PORT)"
        )
    command = [
        str(binary),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--silent",
    ]
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        command += ["--state", str(state_file), "--state-interval", str(STATE_INTERVAL_SECONDS)]

    log: IO[bytes]
    if log_file is None:
        log = tempfile.TemporaryFile()  # closed below; the child keeps its own fd
        log_start = 0
    else:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log = log_file.open("ab")
        log_start = log.tell()
    with log:
        proc = subprocess.Popen(  # noqa: S603 - fixed executable from node_modules, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
        try:
            _wait_until_ready(proc, port, chain_id)
        except DevnetError as exc:
            stop_anvil(proc)
            output = _read_output(log, log_file, log_start)
            raise DevnetError(f"{exc}\nanvil output:\n{output or '(none)'}") from None
        except BaseException:
            stop_anvil(proc)
            raise
    return proc


def _read_output(log: IO[bytes], log_file: Path | None, start: int) -> str:
    """What anvil wrote since ``start`` (the append-mode log handle cannot be read back)."""
    log.flush()
    if log_file is None:
        log.seek(start)
        data = log.read()
    else:
        with log_file.open("rb") as reader:
            reader.seek(start)
            data = reader.read()
    return data.decode(errors="replace").strip()


def stop_anvil(proc: subprocess.Popen[bytes], *, timeout: float = ANVIL_STOP_TIMEOUT) -> None:
    """SIGTERM anvil (it dumps its state, if any, on the way out); SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        # Its own session/process group: also reaches anvil if it runs behind the node wrapper.
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.warning("anvil (pid %s) ignored SIGTERM for %ss; killing it", proc.pid, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextlib.contextmanager
def throwaway_anvil(*, chain_id: int = DEVNET_CHAIN_ID) -> Iterator[str]:
    """A fresh, stateless anvil on a free port for the duration of the block; yields its URL.

    For tests: with pytest-xdist every worker gets its own port. The port is picked before
    anvil binds it, so a start that loses that race is retried on another port.
    """
    attempts = 3
    for attempt in range(1, attempts + 1):
        port = free_port()
        try:
            proc = start_anvil(port=port, state_file=None, chain_id=chain_id)
            break
        except DevnetError as exc:
            if attempt == attempts or "in use" not in str(exc).lower():
                raise
    try:
        yield rpc_url_for(port)
    finally:
        stop_anvil(proc)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _probe_web3(url: str) -> Web3:
    """A Web3 for one-off probes: short timeout and no retries, so a dead port fails fast."""
    provider = Web3.HTTPProvider(
        url, request_kwargs={"timeout": 2}, exception_retry_configuration=None
    )
    return Web3(provider)


def chain_id_at(url: str) -> int | None:
    """The chain id answered at ``url``, or None when nothing (JSON-RPC) answers there."""
    try:
        return int(_probe_web3(url).eth.chain_id)
    except Exception:  # connection refused, timeouts, non-JSON answers: all mean "not a chain"
        return None


def _wait_until_ready(proc: subprocess.Popen[bytes], port: int, chain_id: int) -> None:
    url = rpc_url_for(port)
    deadline = time.monotonic() + ANVIL_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise DevnetError(f"anvil exited with status {proc.returncode} during start")
        answered = chain_id_at(url)
        if answered is not None:
            if proc.poll() is not None:  # someone else answered and ours lost the port
                raise DevnetError(f"anvil exited with status {proc.returncode} during start")
            if answered != chain_id:
                raise DevnetError(f"{url} answered chain id {answered}, expected {chain_id}")
            return
        if time.monotonic() > deadline:
            raise DevnetError(f"anvil did not answer on {url} within {ANVIL_START_TIMEOUT}s")
        time.sleep(0.05)


# ---------------------------------------------------------------- contracts


def deploy_contracts(w3: Web3, owner_key: str, treasury: str) -> tuple[str, str]:
    """Deploy TestUSDC (moved to ``CANONICAL_USDC``) and The402Escrow(token, operator=owner,
    treasury); return their addresses. Needs anvil (``anvil_setCode``).

    Transactions are signed locally (not ``eth_sendTransaction`` from an unlocked account)
    so the same code would work against any node.
    """
    owner = Account.from_key(owner_key)
    deployed = _deploy(w3, owner, "TestUSDC")
    usdc = _move_usdc_to_canonical_address(w3, deployed, owner.address)
    escrow = _deploy(w3, owner, "The402Escrow", usdc, owner.address, to_checksum_address(treasury))
    return usdc, escrow


def _anvil(w3: Web3, method: str, *params: Any) -> None:
    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    if "error" in response:
        raise DevnetError(f"{method} failed: {response['error']}")


def _move_usdc_to_canonical_address(w3: Web3, deployed: str, owner: str) -> str:
    """Put the TestUSDC deployed at ``deployed`` at Base Sepolia's USDC address instead.

    The official x402 clients pay only the assets of their default table without
    configuration, and for Base Sepolia (our chain id) that is USDC at ``CANONICAL_USDC``
    under the domain {name "USDC", version "2"}. TestUSDC's domain separator is computed
    from ``address(this)`` and ``block.chainid`` at call time, and it has no immutables, so
    its runtime code works at any address; the constructor's only write is ``owner`` (slot
    0), copied here. The deployed copy is cleared so the devnet has one USDC.
    """
    code = w3.eth.get_code(to_checksum_address(deployed))
    _anvil(w3, "anvil_setCode", CANONICAL_USDC, "0x" + bytes(code).hex())
    slot = "0x" + "00" * 32
    _anvil(w3, "anvil_setStorageAt", CANONICAL_USDC, slot, "0x" + "00" * 12 + owner[2:].lower())
    _anvil(w3, "anvil_setCode", deployed, "0x")
    token = w3.eth.contract(
        address=to_checksum_address(CANONICAL_USDC), abi=load_artifact("TestUSDC")["abi"]
    )
    if token.functions.owner().call() != owner:
        raise DevnetError(f"TestUSDC at {CANONICAL_USDC} does not know its owner {owner}")
    return CANONICAL_USDC


def deploy_escrow(w3: Web3, owner_key: str, *, token: str, treasury: str) -> str:
    """Deploy The402Escrow(token, operator=owner, treasury) on any chain; return its address."""
    owner = Account.from_key(owner_key)
    return _deploy(
        w3,
        owner,
        "The402Escrow",
        to_checksum_address(token),
        owner.address,
        to_checksum_address(treasury),
    )


def _deploy(w3: Web3, owner: LocalAccount, name: str, *args: Any) -> str:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).build_transaction(
        {
            "from": owner.address,
            "nonce": w3.eth.get_transaction_count(owner.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    signed = owner.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
    address = receipt["contractAddress"]
    if receipt["status"] != 1 or address is None:
        raise DevnetError(f"deploying {name} failed (tx {tx_hash.to_0x_hex()})")
    if not w3.eth.get_code(address):
        raise DevnetError(f"deploying {name} left no code at {address}")
    logger.info("deployed %s at %s (gas %s)", name, address, receipt["gasUsed"])
    return to_checksum_address(address)


def _has_contracts(w3: Web3, deployment: Deployment) -> bool:
    """Whether the chain behind ``w3`` holds code at both of the deployment's addresses."""
    if deployment.chain_id != DEVNET_CHAIN_ID:
        return False
    try:
        return all(
            len(w3.eth.get_code(to_checksum_address(address))) > 0
            for address in (deployment.usdc, deployment.escrow)
        )
    except Exception:
        logger.warning("could not read contract code at %s", deployment.rpc_url, exc_info=True)
        return False


def _artifact_hashes() -> dict[str, str]:
    return {name: str(load_artifact(name).get("sourceSha256", "")) for name in _CONTRACTS}


# ---------------------------------------------------------------- the persistent devnet


def devnet_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "devnet"


def read_deployment(data_dir: Path) -> Deployment | None:
    """The deployment recorded in ``data_dir/devnet/deployment.json``, if any."""
    raw = _read_deployment_file(devnet_dir(data_dir))
    return None if raw is None else Deployment.from_json(raw)


def running_pid(data_dir: Path) -> int | None:
    """The pid of the devnet's anvil if the pid file names a live anvil process."""
    pid = _read_pid(devnet_dir(data_dir) / "anvil.pid")
    return pid if pid is not None and _is_live_anvil(pid) else None


def ensure_devnet(*, data_dir: Path, port: int) -> Deployment:
    """Make sure the devnet runs on ``port`` with our contracts; return its deployment.

    Idempotent, and it never redeploys contracts the chain already holds: a running anvil
    whose code matches ``deployment.json`` is reused as is; otherwise anvil is started in the
    background from ``state.json`` and, if the state has the contracts, that is all. Only a
    chain without them (first run, deleted or unreadable state, changed contract sources)
    gets a fresh deployment, recorded in ``deployment.json``.

    Files in ``data_dir/devnet``: ``deployment.json``, ``state.json`` (anvil's state),
    ``anvil.pid``, ``anvil.log`` and ``lock`` (serialises concurrent callers).
    """
    directory = devnet_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    url = rpc_url_for(port)
    with _locked(directory / "lock"):
        raw = _read_deployment_file(directory)
        recorded = None if raw is None else Deployment.from_json(raw)
        current_sources = raw is not None and raw.get("artifacts") == _artifact_hashes()

        answered = chain_id_at(url)
        if answered is None:
            _remove_stale_pid(directory)
            _start_detached(directory, port)
        elif answered != DEVNET_CHAIN_ID:
            raise DevnetError(
                f"{url} is a chain with id {answered}, not the devnet ({DEVNET_CHAIN_ID}): "
                "stop it or choose another THE402_DEVNET_PORT"
            )

        w3 = _probe_web3(url)
        canonical = recorded is not None and recorded.usdc == CANONICAL_USDC
        if recorded is not None and current_sources and canonical and _has_contracts(w3, recorded):
            deployment = replace(recorded, rpc_url=url)
            if deployment != recorded:  # the port changed: the state does not care
                _write_deployment(directory, deployment)
            return deployment

        if answered is not None and running_pid(data_dir) is None:
            # Reusing someone else's chain is fine, deploying into it is not: its state is
            # not ours to keep, and we cannot tell what else it is used for.
            raise DevnetError(
                f"{url} answers, but it is not the anvil started for {directory} (no live "
                "anvil.pid) and lacks our contracts: stop it or choose another "
                "THE402_DEVNET_PORT"
            )
        if recorded is not None:
            why = (
                "contract sources changed"
                if not current_sources
                else "USDC not at its canonical address"
                if not canonical
                else "state lost"
            )
            logger.warning(
                "devnet: not reusing the contracts of %s (%s); deploying anew",
                directory / "deployment.json",
                why,
            )
        owner_key = ANVIL_DEV_KEYS[0]
        treasury = str(Account.from_key(ANVIL_DEV_KEYS[1]).address)
        usdc, escrow = deploy_contracts(w3, owner_key, treasury)
        deployment = Deployment(
            rpc_url=url,
            chain_id=DEVNET_CHAIN_ID,
            usdc=usdc,
            escrow=escrow,
            owner_key=owner_key,
            treasury=treasury,
        )
        _write_deployment(directory, deployment)
        return deployment


def stop_devnet(*, data_dir: Path) -> bool:
    """Stop the devnet's anvil (SIGTERM: it dumps its state first); True if one was running.

    Only the pid recorded in ``anvil.pid`` is signalled, and only if that process still is
    an anvil (guards against a recycled pid).
    """
    directory = devnet_dir(data_dir)
    if not directory.is_dir():
        return False
    with _locked(directory / "lock"):
        pid_file = directory / "anvil.pid"
        pid = _read_pid(pid_file)
        if pid is None or not _is_live_anvil(pid):
            pid_file.unlink(missing_ok=True)
            return False
        proc = _STARTED.pop(pid, None)
        if proc is not None:
            stop_anvil(proc)
        else:
            _terminate_pid(pid)
        pid_file.unlink(missing_ok=True)
        return True


# Detached anvils started by this process, kept so they can be reaped (no zombies, no
# "subprocess still running" warnings) if the same process also stops them, as tests do.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def _start_detached(directory: Path, port: int) -> None:
    state_file = directory / "state.json"
    log_file = directory / "anvil.log"
    with log_file.open("a", encoding="utf-8") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting anvil on port {port}\n")
    try:
        proc = start_anvil(port=port, state_file=state_file, log_file=log_file)
    except DevnetError as exc:
        if not (state_file.exists() and "failed to parse json" in str(exc).lower()):
            raise
        # A kill -9 in the middle of a state dump can leave a truncated file; keep it for
        # inspection and start from an empty chain (the contracts get deployed again).
        aside = state_file.with_name(f"state.json.corrupt-{int(time.time())}")
        state_file.rename(aside)
        logger.warning("devnet: unreadable anvil state moved to %s; starting afresh", aside)
        proc = start_anvil(port=port, state_file=state_file, log_file=log_file)
    _STARTED[proc.pid] = proc
    _write_atomic(directory / "anvil.pid", f"{proc.pid}\n")


def _terminate_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + ANVIL_STOP_TIMEOUT
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            logger.warning("anvil (pid %s) ignored SIGTERM; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (zombies count as dead; our own children get reaped here)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fine, ask the kernel below
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        # "pid (comm) S ...": the state letter follows the last ")"
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _is_live_anvil(pid: int) -> bool:
    if not _pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"anvil" in cmdline.read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid file


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _remove_stale_pid(directory: Path) -> None:
    pid_file = directory / "anvil.pid"
    pid = _read_pid(pid_file)
    if pid is not None and _is_live_anvil(pid):
        # Alive but not answering on our port (e.g. the port setting changed): stop it, or it
        # would keep dumping its older state over state.json.
        logger.warning("devnet: anvil pid %s does not answer on the port; stopping it", pid)
        _terminate_pid(pid)
    pid_file.unlink(missing_ok=True)


def _read_deployment_file(directory: Path) -> dict[str, Any] | None:
    path = directory / "deployment.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DevnetError(f"unreadable {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise DevnetError(f"unreadable {path}: not a JSON object")
    return raw


def _write_deployment(directory: Path, deployment: Deployment) -> None:
    data = {**deployment.as_json(), "artifacts": _artifact_hashes()}
    _write_atomic(directory / "deployment.json", json.dumps(data, indent=2) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock: two ``devnet start`` at once must not start two anvils."""
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
