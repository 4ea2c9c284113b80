"""Paying x402 challenges from a wallet with the official PyPI `x402` client.

The payer signs only what it was asked for, and never more than its cap: a challenge above
`max_payment_micros` is refused before anything is signed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from x402 import x402Client
from x402.http import x402HTTPClient
from x402.http.utils import decode_payment_required_header
from x402.mechanisms.evm.exact import register_exact_evm_client
from x402.schemas import PaymentRequired, PaymentRequiredV1

from the402_client.config import micros_to_usd
from the402_client.errors import PaymentTooHigh

# Networks on which the deployment's own USDC (advertised in /health) may be paid: test
# networks only. On Base mainnet the official client knows USDC itself.
TEST_NETWORKS = ("eip155:84532", "base-sepolia")


def challenge_from(headers: Mapping[str, str], body: bytes) -> PaymentRequired | PaymentRequiredV1:
    """The 402's terms: v2 from PAYMENT-REQUIRED, else the v1 JSON body."""
    header = next((v for k, v in headers.items() if k.lower() == "payment-required"), None)
    if header:
        return decode_payment_required_header(header)
    return PaymentRequiredV1.model_validate(json.loads(body))


def challenge_amount(challenge: PaymentRequired | PaymentRequiredV1) -> int:
    """The smallest amount (micro-USDC) among the accepted options."""
    amounts = []
    for option in challenge.accepts:
        raw = getattr(option, "amount", None) or getattr(option, "max_amount_required", None)
        amounts.append(int(str(raw)))
    return min(amounts)


class WalletPayer:
    """Signs EIP-3009 USDC authorizations for x402 challenges with one private key."""

    def __init__(
        self, private_key: str, *, max_payment_micros: int, test_asset: str | None = None
    ) -> None:
        self.account = Account.from_key(private_key)
        self.max_payment_micros = max_payment_micros
        self.client = register_exact_evm_client(x402Client(), self.account)
        # Official clients pay only assets they know; a devnet or Sepolia deployment
        # advertises its own USDC, allowed here for test networks only.
        self.allowed_assets = (
            [{"network": n, "asset": test_asset} for n in TEST_NETWORKS] if test_asset else None
        )
        self.http = x402HTTPClient(self.client)

    @property
    def address(self) -> str:
        return str(self.account.address)

    async def headers_for(
        self, challenge: PaymentRequired | PaymentRequiredV1, *, cap_micros: int | None = None
    ) -> tuple[dict[str, str], int]:
        """(payment headers, amount) paying `challenge`; PaymentTooHigh above the cap."""
        amount = challenge_amount(challenge)
        cap = self.max_payment_micros if cap_micros is None else cap_micros
        if amount > cap:
            raise PaymentTooHigh(
                f"the payment asked ({micros_to_usd(amount)} USDC) is above the most this "
                f"client pays automatically ({micros_to_usd(cap)} USDC; raise "
                "THE402_MAX_PAYMENT_USD to allow it)",
                amount_micros=amount,
                cap_micros=cap,
            )
        # The official client's own cap (default $1) is set to ours for this payment.
        controls: dict[str, Any] = {"max_amount_per_payment": "$" + micros_to_usd(cap)}
        if self.allowed_assets:
            controls["allowed_assets"] = self.allowed_assets
        self.client.set_spend_controls(controls)  # type: ignore[arg-type]
        payload: Any = await self.http.create_payment_payload(challenge)
        return self.http.encode_payment_signature_header(payload), amount
