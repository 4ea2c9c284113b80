"""USDC on chain: settling x402 ``exact`` payments (EIP-3009) and reading balances.

``settle_transfer_with_authorization`` follows the x402 reference facilitator (Python SDK
2.25, see docs x402-protocol.md §3.3) and uses its reason vocabulary, with one rule above
all: a transaction that was broadcast but has no receipt yet is ``pending`` (outcome
unknown), never ``failed``. Reporting it failed would let the buyer pay twice once it lands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

import requests
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from payments.chain.client import ChainError, get_web3, relayer, revert_message
from payments.eip3009 import Authorization

logger = logging.getLogger(__name__)

MINT_TIMEOUT = 30.0

# Reasons (x402 Python SDK 2.25 vocabulary where it has one).
TRANSACTION_FAILED = "transaction_failed"
NONCE_ALREADY_USED = "invalid_exact_evm_nonce_already_used"
INSUFFICIENT_BALANCE = "invalid_exact_evm_insufficient_balance"
INVALID_SIGNATURE = "invalid_exact_evm_payload_signature"
VALID_BEFORE = "invalid_exact_evm_payload_authorization_valid_before"
VALID_AFTER = "invalid_exact_evm_payload_authorization_valid_after"
TRANSFER_EVENT_MISMATCH = "invalid_exact_evm_transfer_event_mismatch"
SIMULATION_FAILED = "invalid_exact_evm_transaction_simulation_failed"
INVALID_PAYLOAD = "invalid_payload"
TRANSACTION_NOT_FOUND = "transaction_not_found"  # pending: the node does not know the hash
RPC_UNAVAILABLE = "rpc_unavailable"  # pending: could not ask the node

# FiatToken (and TestUSDC) revert strings -> reason; matched as lower-case substrings.
# "invalid signature" also covers ECRecover's "invalid signature 's' value" / "'v' value".
_REVERT_REASONS: tuple[tuple[str, str], ...] = (
    ("authorization is used or canceled", NONCE_ALREADY_USED),
    ("transfer amount exceeds balance", INSUFFICIENT_BALANCE),
    ("authorization is expired", VALID_BEFORE),
    ("authorization is not yet valid", VALID_AFTER),
    ("invalid signature", INVALID_SIGNATURE),
)

TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")

# The slice of FiatToken v2.2's ABI we use; TestUSDC has the same signatures.
USDC_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "transferWithAuthorization",
        "stateMutability": "nonpayable",
        "inputs": [
            {"name": "from", "type": "address"},
            {"name": "to", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "validAfter", "type": "uint256"},
            {"name": "validBefore", "type": "uint256"},
            {"name": "nonce", "type": "bytes32"},
            {"name": "v", "type": "uint8"},
            {"name": "r", "type": "bytes32"},
            {"name": "s", "type": "bytes32"},
        ],
        "outputs": [],
    },
    {
        "type": "function",
        "name": "authorizationState",
        "stateMutability": "view",
        "inputs": [
            {"name": "authorizer", "type": "address"},
            {"name": "nonce", "type": "bytes32"},
        ],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "mint",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
]


@dataclass(frozen=True)
class SettleResult:
    """The outcome of a settlement.

    ``pending``: broadcast, no receipt yet; keep ``tx_hash`` and ask ``settlement_status``
    later. ``tx_hash`` is "" only when nothing was broadcast.
    """

    status: Literal["settled", "failed", "pending"]
    tx_hash: str
    reason: str | None = None

    @property
    def success(self) -> bool:
        return self.status == "settled"


def usdc_contract(w3: Web3, token: str) -> Contract:
    return w3.eth.contract(address=to_checksum_address(token), abi=USDC_ABI)


def reason_for_revert(message: str) -> str | None:
    """Map a FiatToken revert message to a reason; None when it is not one we know."""
    lowered = message.lower()
    for text, reason in _REVERT_REASONS:
        if text in lowered:
            return reason
    return None


def split_signature(signature: str) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a 65-byte ``r || s || v`` signature; v normalised to 27/28.

    Raises ValueError for anything else (ERC-1271 / ERC-6492 smart-wallet signatures need
    FiatToken's ``bytes`` overload, which we do not use).
    """
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65:
        raise ValueError(f"expected a 65-byte signature, got {len(raw)} bytes")
    v = raw[64]
    if v in (0, 1):
        v += 27
    return v, raw[:32], raw[32:64]


def _nonce_bytes(nonce: str) -> bytes:
    raw = bytes.fromhex(nonce.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError("an EIP-3009 nonce is 32 bytes")
    return raw


def settle_transfer_with_authorization(
    *, token: str, authorization: Authorization, signature: str, timeout: float = 30.0
) -> SettleResult:
    """Execute a signed ``transferWithAuthorization`` through our relayer.

    1. Simulate with ``eth_call``: a revert is mapped to a reason and nothing is broadcast
       (the relayer pays no gas for a payment that cannot work).
    2. Broadcast via ``relayer()`` (v,r,s overload).
    3. Wait up to ``timeout`` s: no receipt -> ``pending``; status 0 -> ``failed``
       (``transaction_failed``); status 1 must carry the token's ``Transfer(from, to, value)``
       log (else ``failed``/``…transfer_event_mismatch``) -> ``settled``.
    """
    try:
        v, r, s = split_signature(signature)
    except ValueError:
        return SettleResult("failed", "", INVALID_SIGNATURE)
    try:
        nonce = _nonce_bytes(authorization.nonce)
        payer = to_checksum_address(authorization.from_address)
        payee = to_checksum_address(authorization.to_address)
    except ValueError:
        return SettleResult("failed", "", INVALID_PAYLOAD)

    sender = relayer()
    contract = usdc_contract(sender.w3, token)
    fn = contract.functions.transferWithAuthorization(
        payer,
        payee,
        authorization.value,
        authorization.valid_after,
        authorization.valid_before,
        nonce,
        v,
        r,
        s,
    )
    try:
        fn.call({"from": sender.address})
    except ContractLogicError as exc:
        message = revert_message(exc)
        logger.info("settle simulation of %s/%s reverted: %s", payer, authorization.nonce, message)
        return SettleResult("failed", "", reason_for_revert(message) or SIMULATION_FAILED)
    except (Web3Exception, requests.RequestException) as exc:
        logger.warning("settle simulation failed: %s", exc)
        return SettleResult("failed", "", SIMULATION_FAILED)

    try:
        tx_hash = sender.send(fn)
    except ChainError as exc:
        # Not broadcast. A revert here means the state changed since the simulation.
        logger.warning("settle of %s/%s not sent: %s", payer, authorization.nonce, exc.reason)
        return SettleResult("failed", "", reason_for_revert(exc.reason) or TRANSACTION_FAILED)
    except (Web3Exception, requests.RequestException) as exc:
        logger.warning("settle of %s/%s not sent: %s", payer, authorization.nonce, exc)
        return SettleResult("failed", "", TRANSACTION_FAILED)

    receipt = sender.wait(tx_hash, timeout=timeout)
    if receipt is None:
        logger.warning("settle %s: no receipt after %ss, pending", tx_hash, timeout)
        return SettleResult("pending", tx_hash, None)
    return _result_from_receipt(
        tx_hash, receipt, token=token, payer=payer, payee=payee, value=authorization.value
    )


def _result_from_receipt(
    tx_hash: str, receipt: TxReceipt, *, token: str, payer: str, payee: str, value: int
) -> SettleResult:
    if receipt["status"] != 1:
        return SettleResult("failed", tx_hash, TRANSACTION_FAILED)
    if not _has_transfer_log(receipt, token=token, payer=payer, payee=payee, value=value):
        return SettleResult("failed", tx_hash, TRANSFER_EVENT_MISMATCH)
    return SettleResult("settled", tx_hash, None)


def _has_transfer_log(
    receipt: TxReceipt, *, token: str, payer: str, payee: str, value: int
) -> bool:
    """Whether ``token`` emitted ERC-20 ``Transfer(payer, payee, value)`` in ``receipt``."""
    token = to_checksum_address(token)
    for log in receipt["logs"]:
        topics = log["topics"]
        if to_checksum_address(log["address"]) != token or len(topics) != 3:
            continue
        if bytes(topics[0]) != TRANSFER_TOPIC:
            continue
        log_from = to_checksum_address(bytes(topics[1])[-20:])
        log_to = to_checksum_address(bytes(topics[2])[-20:])
        log_value = int.from_bytes(bytes(log["data"])[-32:], "big") if log["data"] else -1
        if (log_from, log_to, log_value) == (payer, payee, value):
            return True
    return False


def settlement_status(tx_hash: str) -> SettleResult:
    """Re-check a settlement (e.g. a ``pending`` one) by its transaction hash.

    ``pending`` comes with reason None (the node has the transaction, not mined yet),
    ``transaction_not_found`` (the node does not know it: dropped, or never arrived; once the
    authorization's validBefore has passed and ``authorization_used`` is still false it can
    never land) or ``rpc_unavailable``. A mined ``transferWithAuthorization`` is checked for
    its Transfer log exactly like ``settle_transfer_with_authorization`` does.
    """
    w3 = get_web3()
    try:
        try:
            receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            try:
                w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return SettleResult("pending", tx_hash, TRANSACTION_NOT_FOUND)
            return SettleResult("pending", tx_hash, None)
        if receipt["status"] != 1:
            return SettleResult("failed", tx_hash, TRANSACTION_FAILED)
        tx = w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    except (Web3Exception, requests.RequestException) as exc:
        logger.warning("settlement status of %s unknown: %s", tx_hash, exc)
        return SettleResult("pending", tx_hash, RPC_UNAVAILABLE)

    token = tx.get("to")
    if token is None:
        return SettleResult("settled", tx_hash, None)
    try:
        function, args = usdc_contract(w3, token).decode_function_input(tx["input"])
    except (ValueError, Web3Exception):
        return SettleResult("settled", tx_hash, None)  # not a settlement: status is all we know
    if function.fn_name != "transferWithAuthorization":
        return SettleResult("settled", tx_hash, None)
    return _result_from_receipt(
        tx_hash,
        receipt,
        token=token,
        payer=to_checksum_address(args["from"]),
        payee=to_checksum_address(args["to"]),
        value=int(args["value"]),
    )


def authorization_used(*, token: str, payer: str, nonce: str) -> bool:
    """Whether the EIP-3009 ``nonce`` of ``payer`` was used (or canceled) on ``token``."""
    contract = usdc_contract(get_web3(), token)
    used = contract.functions.authorizationState(
        to_checksum_address(payer), _nonce_bytes(nonce)
    ).call()
    return bool(used)


def authorization_payable(*, token: str, payer: str, nonce: str, amount: int) -> str | None:
    """Why the chain would refuse an EIP-3009 authorization of ``amount`` from ``payer`` now,
    as the reference facilitators check it at verification: its ``nonce`` already used (or
    canceled), or ``payer`` holding less than ``amount``. None when both are fine. Errors
    reading the chain propagate (the caller cannot tell, so it must not accept)."""
    if authorization_used(token=token, payer=payer, nonce=nonce):
        return NONCE_ALREADY_USED
    if balance_of(token=token, address=payer) < amount:
        return INSUFFICIENT_BALANCE
    return None


def balance_of(*, token: str, address: str) -> int:
    """``address``'s balance of ``token`` in atomic units."""
    contract = usdc_contract(get_web3(), token)
    return int(contract.functions.balanceOf(to_checksum_address(address)).call())


def mint(*, token: str, to: str, amount: int) -> str:
    """Mint ``amount`` to ``to`` from our key (the devnet faucet; TestUSDC is owner-only).

    Waits for the receipt; raises ``ChainError`` if the call reverts (e.g. our key is not
    the owner), fails on chain, or no receipt arrives within ``MINT_TIMEOUT``.
    """
    sender = relayer()
    fn = usdc_contract(sender.w3, token).functions.mint(to_checksum_address(to), amount)
    tx_hash = sender.send(fn)
    receipt = sender.wait(tx_hash, timeout=MINT_TIMEOUT)
    if receipt is None:
        raise ChainError(f"mint {tx_hash}: no receipt within {MINT_TIMEOUT}s")
    if receipt["status"] != 1:
        raise ChainError(f"mint {tx_hash}: {TRANSACTION_FAILED}")
    return tx_hash
