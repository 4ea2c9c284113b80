"""Settling EIP-3009 authorizations on a real anvil: outcomes, reasons and nonce handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import override_settings
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import RPCEndpoint

from payments.chain.client import ChainError, Relayer, clear_caches, relayer
from payments.chain.devnet import ANVIL_DEV_KEYS, Deployment
from payments.chain.usdc import (
    INSUFFICIENT_BALANCE,
    NONCE_ALREADY_USED,
    VALID_BEFORE,
    authorization_used,
    balance_of,
    mint,
    settle_transfer_with_authorization,
    settlement_status,
    usdc_contract,
)
from payments.eip3009 import Authorization
from tests.conftest import ONE_USDC

Authorize = Callable[..., tuple[Authorization, str]]
FundedPayer = Callable[..., LocalAccount]


def _seller() -> str:
    return str(Account.create().address)


def test_settle_moves_the_funds(
    chain: Deployment, w3: Web3, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    payer, seller = funded_payer(5 * ONE_USDC), _seller()
    authorization, signature = authorize(payer, seller, 1_250_000)

    result = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )

    assert result.status == "settled", result
    assert result.reason is None
    receipt = w3.eth.get_transaction_receipt(result.tx_hash)  # type: ignore[arg-type]
    assert receipt["from"] == relayer().address
    assert balance_of(token=chain.usdc, address=payer.address) == 3_750_000
    assert balance_of(token=chain.usdc, address=seller) == 1_250_000
    print(f"gas used by a transferWithAuthorization settle: {receipt['gasUsed']}")


def test_replayed_authorization_fails_without_a_transaction(
    chain: Deployment, w3: Web3, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    payer = funded_payer()
    authorization, signature = authorize(payer, _seller(), ONE_USDC)
    first = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )
    assert first.status == "settled"
    nonce = w3.eth.get_transaction_count(relayer().address)  # type: ignore[arg-type]

    again = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )

    assert (again.status, again.tx_hash, again.reason) == ("failed", "", NONCE_ALREADY_USED)
    assert w3.eth.get_transaction_count(relayer().address) == nonce  # type: ignore[arg-type]
    assert balance_of(token=chain.usdc, address=payer.address) == 9 * ONE_USDC


def test_insufficient_balance_fails_without_a_transaction(
    chain: Deployment, w3: Web3, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    payer = funded_payer(ONE_USDC)
    authorization, signature = authorize(payer, _seller(), ONE_USDC + 1)
    nonce = w3.eth.get_transaction_count(relayer().address)  # type: ignore[arg-type]

    result = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )

    assert (result.status, result.tx_hash, result.reason) == ("failed", "", INSUFFICIENT_BALANCE)
    assert w3.eth.get_transaction_count(relayer().address) == nonce  # type: ignore[arg-type]


def test_expired_authorization_fails(
    chain: Deployment, w3: Web3, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    payer = funded_payer()
    now = int(w3.eth.get_block("latest")["timestamp"])
    authorization, signature = authorize(
        payer, _seller(), ONE_USDC, valid_after=now - 600, valid_before=now - 1
    )

    result = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )

    assert (result.status, result.tx_hash, result.reason) == ("failed", "", VALID_BEFORE)
    assert not authorization_used(token=chain.usdc, payer=payer.address, nonce=authorization.nonce)


def test_concurrent_settles_get_distinct_nonces(
    chain: Deployment, w3: Web3, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    seller = _seller()
    payments = [authorize(funded_payer(ONE_USDC), seller, ONE_USDC) for _ in range(10)]
    first_nonce = w3.eth.get_transaction_count(relayer().address)  # type: ignore[arg-type]

    def settle(payment: tuple[Authorization, str]) -> Any:
        authorization, signature = payment
        return settle_transfer_with_authorization(
            token=chain.usdc, authorization=authorization, signature=signature
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(settle, payments))

    assert [r.status for r in results] == ["settled"] * 10, results
    nonces = sorted(w3.eth.get_transaction(r.tx_hash)["nonce"] for r in results)  # type: ignore[arg-type]
    assert nonces == list(range(first_nonce, first_nonce + 10))
    assert balance_of(token=chain.usdc, address=seller) == 10 * ONE_USDC


@contextmanager
def manual_mining(w3: Web3) -> Iterator[Callable[[], object]]:
    """Turn anvil's automine off (transactions wait in the pool); yields ``mine()``."""
    w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
    try:
        yield lambda: w3.provider.make_request(RPCEndpoint("evm_mine"), [])
    finally:
        w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [True])


def test_receipt_timeout_is_pending_then_settled(
    chain: Deployment, w3: Web3, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    payer, seller = funded_payer(), _seller()  # funded while blocks are still mined
    authorization, signature = authorize(payer, seller, ONE_USDC)

    with manual_mining(w3) as mine:
        result = settle_transfer_with_authorization(
            token=chain.usdc, authorization=authorization, signature=signature, timeout=0.3
        )

        assert result.status == "pending"
        assert result.tx_hash.startswith("0x") and len(result.tx_hash) == 66
        assert settlement_status(result.tx_hash) == result  # still in the pool
        mine()

    assert settlement_status(result.tx_hash).status == "settled"
    assert balance_of(token=chain.usdc, address=seller) == ONE_USDC


def test_authorization_used_flips_after_settlement(
    chain: Deployment, funded_payer: FundedPayer, authorize: Authorize
) -> None:
    payer = funded_payer()
    authorization, signature = authorize(payer, _seller(), ONE_USDC)
    used = {"token": chain.usdc, "payer": payer.address, "nonce": authorization.nonce}
    assert authorization_used(**used) is False

    settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )

    assert authorization_used(**used) is True


def test_mint_is_owner_only(chain: Deployment) -> None:
    holder = _seller()
    mint(token=chain.usdc, to=holder, amount=7)
    assert balance_of(token=chain.usdc, address=holder) == 7

    with override_settings(RELAYER_KEY=ANVIL_DEV_KEYS[5]):
        clear_caches()
        try:
            with pytest.raises(ChainError, match="caller is not the owner"):
                mint(token=chain.usdc, to=holder, amount=7)
        finally:
            clear_caches()
    assert balance_of(token=chain.usdc, address=holder) == 7


class _StaleNonceRelayer(Relayer):
    """Reads one stale pending nonce, as when another process sent with our key meanwhile."""

    stale_reads = 1

    def _pending_nonce(self) -> int:
        pending = super()._pending_nonce()
        if self.stale_reads and pending:
            self.stale_reads -= 1
            return pending - 1
        return pending


def test_send_retries_once_after_nonce_too_low(chain: Deployment, w3: Web3) -> None:
    sender = _StaleNonceRelayer(w3, ANVIL_DEV_KEYS[0])
    holder = _seller()
    mint(token=chain.usdc, to=holder, amount=1)  # the key has sent before: pending > 0

    tx_hash = sender.send(usdc_contract(w3, chain.usdc).functions.mint(holder, 2))

    receipt = sender.wait(tx_hash, timeout=10)
    assert receipt is not None and receipt["status"] == 1
    assert sender.stale_reads == 0  # the stale nonce was tried, rejected, and replaced
    assert balance_of(token=chain.usdc, address=holder) == 3
