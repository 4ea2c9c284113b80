"""Our connection to the chain: which deployment we use, and the one key that sends for us.

Everything here is resolved from Django settings lazily and cached per process: web3's HTTP
sessions and the relayer's nonce lock must not be shared across a fork (gunicorn
``--preload``, django-q workers), so the caches are emptied in forked children.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypedDict, TypeVar, cast

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from eth_account import Account
from eth_typing import HexStr
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import Nonce, TxParams, TxReceipt, Wei

from payments.chain.devnet import ANVIL_DEV_KEYS, Deployment, devnet_dir, read_deployment
from payments.networks import current_network

logger = logging.getLogger(__name__)

RPC_TIMEOUT = 10.0  # seconds per JSON-RPC request
GAS_MARGIN_PERCENT = 20  # headroom over eth_estimateGas; unused gas is not charged
FALLBACK_PRIORITY_FEE = 1_000_000  # 0.001 gwei, typical on Base, when the node can't say

# Node messages that mean "that nonce is taken": another process sent with our key.
_NONCE_CONFLICTS = ("nonce too low", "replacement transaction underpriced")
_ALREADY_KNOWN = ("already known", "already imported", "known transaction")

P = ParamSpec("P")
R = TypeVar("R", covariant=True)


class Fees(TypedDict):
    """EIP-1559 fee fields of a transaction, in wei."""

    maxFeePerGas: Wei
    maxPriorityFeePerGas: Wei


class ChainError(Exception):
    """The node rejected our transaction (or a call reverted); nothing was mined.

    ``reason`` is the node's message without the ``execution reverted:`` prefix, e.g.
    ``"FiatTokenV2: authorization is used or canceled"`` or ``"nonce too low"``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CachedFunction(Protocol[P, R]):
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def cache_clear(self) -> None: ...


def _process_cache(fn: Callable[P, R]) -> CachedFunction[P, R]:
    """Memoise ``fn`` for this process, computing each value once even under threads.

    ``functools.cache`` may run ``fn`` twice when two threads race on the first call; two
    Relayers for one key would hand out the same nonce. The cache is emptied (with a fresh
    lock) in forked children.
    """
    values: dict[Any, R] = {}
    lock = threading.RLock()

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        key = (args, tuple(sorted(kwargs.items())))
        with lock:
            if key not in values:
                values[key] = fn(*args, **kwargs)
            return values[key]

    def cache_clear() -> None:
        with lock:
            values.clear()

    def after_fork() -> None:
        nonlocal lock
        lock = threading.RLock()
        values.clear()

    os.register_at_fork(after_in_child=after_fork)
    wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
    return cast("CachedFunction[P, R]", wrapper)


# ---------------------------------------------------------------- deployment and web3


@_process_cache
def current_deployment() -> Deployment:
    """The chain and contracts of ``settings.NETWORK``; raises ImproperlyConfigured if unset.

    devnet: ``DATA_DIR/devnet/deployment.json`` written by ``manage.py devnet start``
    (``CHAIN_RPC_URL``, when set, overrides the recorded URL; ``RELAYER_KEY``, when set,
    replaces the deployer as sender). base / base-sepolia: Circle's USDC, with the RPC URL,
    relayer key, treasury and escrow address from settings.
    """
    network = current_network()
    rpc_url = str(getattr(settings, "CHAIN_RPC_URL", "") or "")
    relayer_key = str(getattr(settings, "RELAYER_KEY", "") or "")
    if network.key == "devnet":
        data_dir = Path(settings.DATA_DIR)
        recorded = read_deployment(data_dir)
        if recorded is None:
            raise ImproperlyConfigured(
                f"no devnet deployment at {devnet_dir(data_dir) / 'deployment.json'}: "
                "run `python manage.py devnet start` (`make run` does it for you)"
            )
        if recorded.chain_id != network.chain_id:
            raise ImproperlyConfigured(
                f"devnet deployment is for chain {recorded.chain_id}, "
                f"expected {network.chain_id}: run `python manage.py devnet start`"
            )
        return replace(
            recorded,
            rpc_url=rpc_url or recorded.rpc_url,
            owner_key=relayer_key or recorded.owner_key,
        )

    pay_to = str(getattr(settings, "PAY_TO", "") or "")
    missing = [
        name
        for name, value in (
            ("CHAIN_RPC_URL", rpc_url),
            ("THE402_RELAYER_KEY", relayer_key),
            ("THE402_PAY_TO", pay_to),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(f"THE402_NETWORK={network.key} needs {', '.join(missing)}")
    assert network.usdc_address is not None  # only devnet deploys its own token
    return Deployment(
        rpc_url=rpc_url,
        chain_id=network.chain_id,
        usdc=network.usdc_address,
        escrow=str(getattr(settings, "ESCROW_ADDRESS", "") or ""),
        owner_key=relayer_key,
        treasury=pay_to,
    )


@_process_cache
def _web3_for(rpc_url: str) -> Web3:
    provider = Web3.HTTPProvider(
        rpc_url,
        request_kwargs={"timeout": RPC_TIMEOUT},
        # web3 retries idempotent reads only (never eth_sendRawTransaction); keep it short
        # so a dead node surfaces within a settle's timeout instead of minutes later.
        exception_retry_configuration=ExceptionRetryConfiguration(
            errors=(ConnectionError, requests.HTTPError, requests.Timeout),
            retries=3,
            backoff_factor=0.1,
        ),
    )
    w3 = Web3(provider)
    # Base is an OP-stack chain; harmless elsewhere and avoids extraData validation errors.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def get_web3(rpc_url: str | None = None) -> Web3:
    """A Web3 for ``rpc_url`` (default: the current deployment's), one per URL and process."""
    return _web3_for(rpc_url or current_deployment().rpc_url)


get_web3.cache_clear = _web3_for.cache_clear  # type: ignore[attr-defined]


# ---------------------------------------------------------------- sending transactions


@dataclass(frozen=True)
class SignedCall:
    """A transaction signed but not (necessarily) sent: what to store before broadcasting."""

    raw_tx: str  # 0x-hex of the signed bytes
    tx_hash: str
    nonce: int


class Relayer:
    """Sends our transactions from one key, never handing out the same nonce twice.

    Within a process, a lock covers nonce allocation *and* the broadcast: the next nonce is
    ``max(local next, eth_getTransactionCount(pending))`` and only advances once the node
    accepted the transaction, so a rejected send never leaves a gap that would strand every
    later transaction. Gas estimation happens under the lock too, so a revert costs no nonce.
    ``sign`` allocates from the same sequence but leaves the broadcast to its caller, who
    stores the signed transaction first (``payments.chain_calls``).

    Across processes (several gunicorn workers sharing one key) nothing is coordinated: two
    may pick the same nonce. ``send`` then retries once with a freshly read pending nonce when
    the node says ``nonce too low`` / ``replacement transaction underpriced``. That covers
    occasional collisions; heavy multi-process sending wants one sender process (a queue) or
    one key per process.
    """

    def __init__(self, w3: Web3, private_key: str, *, chain_id: int | None = None) -> None:
        """``chain_id``, when given, is checked against the node before the first send, so a
        misconfigured RPC URL can never make us sign for the wrong chain."""
        self.w3 = w3
        self._account = Account.from_key(private_key)  # the key stays inside the account
        self.address: str = str(self._account.address)
        self._expected_chain_id = chain_id
        self._chain_id: int | None = None
        self._lock = threading.Lock()
        self._next_nonce: int | None = None

    def __repr__(self) -> str:
        return f"Relayer({self.address})"

    def send(self, fn: ContractFunction, *, gas: int | None = None) -> str:
        """Estimate, sign locally and broadcast ``fn`` from our key; return the 0x tx hash.

        Raises ``ChainError`` when the node rejects it (estimation revert, fee or nonce
        problems after one retry). If the broadcast itself fails at the transport level the
        node may or may not have the transaction: the hash is returned anyway (its outcome is
        unknown, not failed) and ``wait`` / a later receipt lookup decides.
        """
        with self._lock:
            chain_id = self._chain()
            if gas is None:
                gas = self._estimate_gas(fn)
            fees = self._fees()
            nonce = self._allocate_nonce()
            for attempt in (1, 2):
                signed = self._sign(fn, chain_id=chain_id, nonce=nonce, gas=gas, fees=fees)
                tx_hash = signed.tx_hash
                try:
                    self.w3.eth.send_raw_transaction(HexStr(signed.raw_tx))
                except Web3RPCError as exc:
                    message = _rpc_message(exc)
                    lowered = message.lower()
                    if any(text in lowered for text in _ALREADY_KNOWN):
                        self._next_nonce = nonce + 1  # a retried request that got through
                        return tx_hash
                    if attempt == 1 and any(text in lowered for text in _NONCE_CONFLICTS):
                        logger.warning(
                            "relayer %s: nonce %s rejected (%s); retrying with the pending nonce",
                            self.address,
                            nonce,
                            message,
                        )
                        nonce = max(self._pending_nonce(), nonce + 1)
                        continue
                    self._next_nonce = None  # re-read from the node next time
                    raise ChainError(message) from None
                except (requests.ConnectionError, requests.Timeout):
                    logger.warning(
                        "relayer %s: broadcasting %s (nonce %s) failed at the transport level; "
                        "its outcome is unknown",
                        self.address,
                        tx_hash,
                        nonce,
                        exc_info=True,
                    )
                    self._next_nonce = None
                    return tx_hash
                self._next_nonce = nonce + 1
                return tx_hash
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def sign(self, fn: ContractFunction, *, gas: int | None = None) -> SignedCall:
        """Estimate and sign ``fn`` from our key without sending it.

        For callers that must store a transaction before it can exist anywhere else
        (``payments.chain_calls``): a retry after a crash then re-sends the very same bytes,
        so it is mined once at most. The nonce is allocated under the lock and counted as
        used, exactly as ``send`` does, so the next ``sign``/``send`` takes the one after:
        the caller must broadcast the result (or call ``resync``), or later transactions
        wait behind the gap. Raises ``ChainError`` when the estimation reverts.
        """
        with self._lock:
            chain_id = self._chain()
            if gas is None:
                gas = self._estimate_gas(fn)
            fees = self._fees()
            nonce = self._allocate_nonce()
            signed = self._sign(fn, chain_id=chain_id, nonce=nonce, gas=gas, fees=fees)
            self._next_nonce = nonce + 1
            return signed

    def broadcast(self, raw_tx: str) -> str:
        """Send a transaction signed earlier (by anyone); return its 0x hash.

        Idempotent: the node answering "already known" (it has it) or "nonce too low" /
        "replacement underpriced" (that nonce is taken, perhaps by this very transaction,
        mined) is not an error here, because only the receipt can tell which it is. Any other
        rejection raises ``ChainError``; transport errors propagate (outcome unknown).
        """
        tx_hash = Web3.keccak(hexstr=raw_tx).to_0x_hex()
        try:
            self.w3.eth.send_raw_transaction(HexStr(raw_tx))
        except Web3RPCError as exc:
            message = _rpc_message(exc)
            lowered = message.lower()
            if any(text in lowered for text in _ALREADY_KNOWN + _NONCE_CONFLICTS):
                logger.info("broadcasting %s: %s (the receipt decides)", tx_hash, message)
                return tx_hash
            raise ChainError(message) from None
        return tx_hash

    def resync(self) -> None:
        """Forget the local nonce sequence; the next one is read from the node.

        For a signed transaction that will never be broadcast (its record could not be
        stored): reusing its nonce is safe, leaving it unused would strand every later one.
        """
        with self._lock:
            self._next_nonce = None

    def wait(self, tx_hash: str, *, timeout: float) -> TxReceipt | None:
        """The receipt of ``tx_hash``, or None if none appeared within ``timeout`` seconds.

        A timeout is "unknown", never "failed": the transaction may still be mined. RPC
        hiccups while polling are retried until the deadline.
        """
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                pass
            except (requests.RequestException, Web3Exception) as exc:
                logger.info("waiting for %s: %s", tx_hash, exc)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)

    # -- internals; call with self._lock held

    def _sign(
        self,
        fn: ContractFunction,
        *,
        chain_id: int,
        nonce: int,
        gas: int,
        fees: Fees,
    ) -> SignedCall:
        params: TxParams = {
            "from": self.address,
            "chainId": chain_id,
            "nonce": Nonce(nonce),
            "gas": gas,
            "maxFeePerGas": fees["maxFeePerGas"],
            "maxPriorityFeePerGas": fees["maxPriorityFeePerGas"],
        }
        tx = fn.build_transaction(params)
        signed = self._account.sign_transaction(cast("dict[str, Any]", tx))
        return SignedCall(
            raw_tx=signed.raw_transaction.to_0x_hex(), tx_hash=signed.hash.to_0x_hex(), nonce=nonce
        )

    def _chain(self) -> int:
        if self._chain_id is None:
            chain_id = int(self.w3.eth.chain_id)
            if self._expected_chain_id is not None and chain_id != self._expected_chain_id:
                raise ChainError(
                    f"wrong chain: the node is chain {chain_id}, expected {self._expected_chain_id}"
                )
            self._chain_id = chain_id
        return self._chain_id

    def _pending_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.address, "pending"))  # type: ignore[arg-type]

    def _allocate_nonce(self) -> int:
        pending = self._pending_nonce()
        if self._next_nonce is None or pending > self._next_nonce:
            return pending
        return self._next_nonce

    def _estimate_gas(self, fn: ContractFunction) -> int:
        try:
            estimate = int(fn.estimate_gas({"from": self.address}))
        except ContractLogicError as exc:
            raise ChainError(revert_message(exc)) from None
        except Web3RPCError as exc:
            raise ChainError(_rpc_message(exc)) from None
        return estimate * (100 + GAS_MARGIN_PERCENT) // 100

    def _fees(self) -> Fees:
        """EIP-1559 fees: room for the base fee to double, plus the node's suggested tip."""
        block = self.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0) or 0)
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except (Web3Exception, requests.RequestException):
            tip = FALLBACK_PRIORITY_FEE
        return {"maxFeePerGas": Wei(2 * base_fee + tip), "maxPriorityFeePerGas": Wei(tip)}


@_process_cache
def relayer() -> Relayer:
    """The Relayer of the current deployment's key (one per process: one nonce sequence)."""
    deployment = current_deployment()
    return Relayer(get_web3(deployment.rpc_url), deployment.owner_key, chain_id=deployment.chain_id)


@_process_cache
def treasury_relayer() -> Relayer:
    """The Relayer of the treasury's key, which pays providers out of the treasury's USDC.

    The key is ``settings.TREASURY_KEY``; on devnet, when unset, anvil account 1 (the
    deployment's treasury). It must be the key of ``current_deployment().treasury``: that is
    where payments and escrow fees land, so payouts must leave from there too. When it is the
    relayer's own key, the relayer itself is returned: one key, one nonce sequence.
    """
    deployment = current_deployment()
    key = str(getattr(settings, "TREASURY_KEY", "") or "")
    if not key:
        network = current_network()
        if network.key != "devnet":
            raise ImproperlyConfigured(
                f"THE402_NETWORK={network.key}: provider payouts are sent from the treasury "
                f"{deployment.treasury} (THE402_PAY_TO) and need its private key: set "
                "THE402_TREASURY_KEY (or THE402_TREASURY_KEY_FILE)"
            )
        key = ANVIL_DEV_KEYS[1]
    address = str(Account.from_key(key).address)
    if address != deployment.treasury:
        raise ImproperlyConfigured(
            f"THE402_TREASURY_KEY is the key of {address}, but the treasury is "
            f"{deployment.treasury}: payouts must be sent from the treasury"
        )
    main = relayer()
    if main.address == address:
        return main
    return Relayer(get_web3(deployment.rpc_url), key, chain_id=deployment.chain_id)


def clear_caches() -> None:
    """Forget the deployment, Web3 instances and relayers (after changing settings)."""
    current_deployment.cache_clear()
    get_web3.cache_clear()  # type: ignore[attr-defined]
    relayer.cache_clear()
    treasury_relayer.cache_clear()


# ---------------------------------------------------------------- errors


def revert_message(exc: ContractLogicError) -> str:
    """The revert string of a failed call, without web3's ``execution reverted:`` prefix."""
    message = exc.message or str(exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted")


def _rpc_message(exc: Web3RPCError) -> str:
    response = exc.rpc_response or {}
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc.message)
