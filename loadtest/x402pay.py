"""x402 payments with the official Python client (PyPI `x402`), as an agent pays."""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from x402 import x402ClientSync
from x402.http import x402HTTPClientSync
from x402.mechanisms.evm.exact import register_exact_evm_client


def new_wallet() -> LocalAccount:
    return Account.create()


def payer(account: LocalAccount) -> x402HTTPClientSync:
    client = register_exact_evm_client(x402ClientSync(), account)
    client.set_spend_controls({"max_amount_per_payment": "$100"})
    return x402HTTPClientSync(client)


def payment_headers(
    http: x402HTTPClientSync, challenge: httpx.Response, url: str
) -> dict[str, str]:
    """The headers paying the 402 `challenge` (replaying them re-sends the same payment)."""
    headers, _ = http.handle_402_response(dict(challenge.headers), challenge.content, url)
    return dict(headers)


def faucet(client: httpx.Client, address: str, amount: str) -> None:
    answer = client.post("/v1/devnet/faucet", json={"address": address, "amount": amount})
    answer.raise_for_status()


def paid_post(
    client: httpx.Client, http: x402HTTPClientSync, path: str, **kwargs: Any
) -> httpx.Response:
    """POST `path`, pay its 402 and send it again with the payment."""
    first = client.post(path, **kwargs)
    if first.status_code != 402:
        return first
    headers = payment_headers(http, first, str(client.base_url.join(path)))
    return client.post(path, headers={**kwargs.pop("headers", {}), **headers}, **kwargs)
