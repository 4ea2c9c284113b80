"""Facilitators verify and settle x402 payments; `THE402_FACILITATOR` chooses one.

* `local`: verification in-process (EIP-712 signature recovery, amounts, times; then, on
  chain, the authorization's nonce unused and the payer's USDC balance enough) and settlement
  by sending `transferWithAuthorization` from our relayer key.
* a URL: a remote x402 facilitator (`POST /verify`, `POST /settle`, `GET /supported`), such as
  the public x402.org test facilitator, Coinbase CDP (bearer token minted from
  `CDP_API_KEY_ID` / `CDP_API_KEY_SECRET`), or another the402 serving `/facilitator/`.

Both answer with the same small result types, so the payment gate never knows which it has.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import httpx
import requests
from django.conf import settings
from web3.exceptions import Web3Exception

from payments import cdp
from payments.chain.usdc import (
    NONCE_ALREADY_USED,
    RPC_UNAVAILABLE,
    SettleResult,
    authorization_payable,
    settle_transfer_with_authorization,
    settlement_status,
)
from payments.x402 import PaymentOption, PaymentPayload, X402Error, verify_payment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyResult:
    is_valid: bool
    payer: str | None = None
    reason: str | None = None
    message: str = ""


class Facilitator(Protocol):
    def verify(self, payload: PaymentPayload, option: PaymentOption) -> VerifyResult: ...

    def settle(self, payload: PaymentPayload, option: PaymentOption) -> SettleResult: ...

    def status(self, tx_hash: str) -> SettleResult:
        """Re-check a settlement whose outcome was unknown."""


class LocalFacilitator:
    def verify(self, payload: PaymentPayload, option: PaymentOption) -> VerifyResult:
        try:
            payer = verify_payment(payload, option, now=int(time.time()))
        except X402Error as exc:
            return VerifyResult(False, payload.authorization.from_address, exc.reason, exc.message)
        # The chain's part, as the reference facilitators check it: an authorization whose
        # nonce is spent or whose payer cannot cover it would only fail at settlement, after
        # the paid work (a data API's provider call) was done for nothing.
        try:
            refused = authorization_payable(
                token=option.asset,
                payer=payer,
                nonce=payload.authorization.nonce,
                amount=payload.authorization.value,
            )
        except (Web3Exception, requests.RequestException, ValueError) as exc:
            logger.warning("verify: the chain could not be read: %s", exc)
            return VerifyResult(False, payer, RPC_UNAVAILABLE, "the chain could not be read")
        if refused == NONCE_ALREADY_USED:
            return VerifyResult(False, payer, refused, "the authorization was already used")
        if refused is not None:
            return VerifyResult(False, payer, refused, "the payer's USDC balance is too low")
        return VerifyResult(True, payer)

    def settle(self, payload: PaymentPayload, option: PaymentOption) -> SettleResult:
        # Simulates first (a revert is a clean failure with nothing broadcast), then sends
        # from the relayer and waits for the receipt; no receipt in time is "pending".
        return settle_transfer_with_authorization(
            token=option.asset,
            authorization=payload.authorization,
            signature=payload.signature,
            timeout=settings.SETTLE_TIMEOUT,
        )

    def status(self, tx_hash: str) -> SettleResult:
        return settlement_status(tx_hash)


class RemoteFacilitator:
    """An x402 facilitator over HTTP. Business failures come back as 200 with a reason."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, payload: PaymentPayload, option: PaymentOption) -> dict[str, Any]:
        requirements = (
            option.v2_requirements() if payload.version == 2 else option.v1_requirements()
        )
        body = {
            "x402Version": payload.version,
            "paymentPayload": payload.raw,
            "paymentRequirements": requirements,
        }
        response = httpx.post(
            f"{self.url}{path}",
            json=body,
            headers=cdp.auth_headers(f"{self.url}{path}", "POST"),
            timeout=self.timeout,
        )
        if response.status_code >= 500:
            raise httpx.HTTPStatusError(
                "facilitator error", request=response.request, response=response
            )
        try:
            answer = response.json()
        except ValueError:
            raise httpx.DecodingError("facilitator answered with non-JSON") from None
        if not isinstance(answer, dict):
            raise httpx.DecodingError("facilitator answered with a non-object")
        return answer

    def verify(self, payload: PaymentPayload, option: PaymentOption) -> VerifyResult:
        try:
            answer = self._post("/verify", payload, option)
        except httpx.HTTPError as exc:
            return VerifyResult(False, None, "facilitator_unavailable", str(exc))
        if answer.get("isValid") is True:
            return VerifyResult(True, answer.get("payer") or payload.authorization.from_address)
        return VerifyResult(
            False,
            answer.get("payer"),
            str(answer.get("invalidReason") or "invalid_payment"),
            str(answer.get("invalidMessage") or ""),
        )

    def settle(self, payload: PaymentPayload, option: PaymentOption) -> SettleResult:
        try:
            answer = self._post("/settle", payload, option)
        except httpx.TimeoutException:
            # The facilitator may have broadcast: the outcome is unknown, never "failed".
            return SettleResult("pending", "", "facilitator_timeout")
        except httpx.HTTPError:
            return SettleResult("pending", "", "facilitator_error")
        transaction = str(answer.get("transaction") or "")
        if answer.get("success") is True:
            return SettleResult("settled", transaction, None)
        reason = str(answer.get("errorReason") or "settlement_failed")
        if reason == "settlement_pending":
            return SettleResult("pending", transaction, reason)
        return SettleResult("failed", transaction, reason)

    def status(self, tx_hash: str) -> SettleResult:
        if not tx_hash:
            return SettleResult("pending", "", "unknown_transaction")
        return settlement_status(tx_hash)


@cache
def facilitator() -> Facilitator:
    if settings.FACILITATOR == "local":
        return LocalFacilitator()
    return RemoteFacilitator(settings.FACILITATOR, timeout=settings.SETTLE_TIMEOUT)
