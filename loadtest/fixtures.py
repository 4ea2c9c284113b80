"""The load test's participants, made over HTTP the way real ones join: agents register and
deposit with x402, the provider onboards with its webhook on the loopback provider and lists
a data API and an automated service."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from loadtest.provider import Provider
from loadtest.x402pay import faucet, new_wallet, payer, payment_headers

PRICE = "0.01"
DEPOSIT = "2.00"


def _paid(client: httpx.Client, http: Any, path: str, **kwargs: Any) -> httpx.Response:
    """A set-up payment, sent until it has a final answer: a pending settlement or a 5xx is
    replayed with the same payment, a refused one (the chain was busy) paid afresh."""
    for _ in range(30):
        challenge = client.post(path, **kwargs)
        if challenge.status_code != 402:
            raise RuntimeError(f"{path}: {challenge.status_code} {challenge.text[:300]}")
        headers = payment_headers(http, challenge, str(client.base_url.join(path)))
        answer = client.post(path, headers=headers, **kwargs)
        while answer.status_code == 202 or answer.status_code >= 500:
            time.sleep(1)
            answer = client.post(path, headers=headers, **kwargs)
        if answer.status_code in (200, 201):
            return answer
        print(f"set-up {path}: {answer.status_code} {answer.text[:200]}; paying again")
        time.sleep(1)
    raise RuntimeError(f"{path}: no success after 30 payments")


def _agent(base_url: str, index: int) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        account = new_wallet()
        faucet(client, account.address, "100")
        http = payer(account)
        answer = _paid(client, http, "/v1/register", json={"name": f"load agent {index}"})
        key = answer.json()["api_key"]
        _paid(client, http, f"/v1/balance/deposit?amount={DEPOSIT}")
        return {
            "key": key,
            "id": answer.json()["participant_id"],
            "private_key": account.key.hex(),
            "deposited": DEPOSIT,
        }


def prepare(base_url: str, provider: Provider, agents: int) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        account = new_wallet()
        faucet(client, account.address, "10")
        onboarded = _paid(
            client,
            payer(account),
            "/v1/provider/onboard",
            json={"name": "load provider", "webhook_url": provider.url},
        )
        provider.secret = onboarded.json()["webhook_secret"]
        key = onboarded.json()["api_key"]
        services = {}
        for kind in ("data_api", "automated_service"):
            created = client.post(
                "/v1/services",
                headers={"X-API-Key": key},
                json={
                    "name": f"Load test {kind.replace('_', ' ')}",
                    "description": "A service the load test buys, served on loopback.",
                    "category": "data",
                    "price": PRICE,
                    "service_type": kind,
                },
            )
            created.raise_for_status()
            services[kind] = created.json()["id"]
        catalog = client.get("/v1/services/catalog", params={"limit": 50}).json()
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda i: _agent(base_url, i), range(agents)))
    return {
        "provider": {"key": key, "id": onboarded.json()["participant_id"]},
        "services": services,
        "catalog_ids": [s["id"] for s in catalog["services"]],
        "agents": made,
    }
