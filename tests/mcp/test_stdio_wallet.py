"""`the402-mcp` over stdio, as Claude Desktop runs it, with an API key and a wallet: a human
service takes no balance, so the server pays it from the wallet with the official x402
client (never above THE402_MAX_PAYMENT_USD), and the buyer verifies the delivered job."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anyio
import pytest

from marketplace.catalog.schemas import schema_error
from marketplace.demo.provider import sample
from marketplace.models import Job, Service, ServiceType
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger_check import ledger_problems
from tests.mcp.fixtures import ONE, Demo, data, error, funded_key, stdio_session, until

pytestmark = pytest.mark.django_db(transaction=True)


def human_services() -> list[tuple[Service, dict]]:
    """The demo's fixed-price human services with a sampled brief, cheapest first."""
    out = []
    for service in Service.objects.filter(
        service_type=ServiceType.HUMAN_SERVICE, pricing_model="fixed"
    ).order_by("price_micros"):
        props = (service.input_schema or {}).get("properties") or {}
        required = set((service.input_schema or {}).get("required", []))
        brief = {k: sample(v) for k, v in props.items() if k in required}
        if schema_error(service.input_schema, brief) is None:
            out.append((service, brief))
    return out


def test_the_wallet_pays_a_human_service_up_to_the_cap(
    demo: Demo, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    services = human_services()
    (cheap, brief), (dear, dear_brief) = services[0], services[-1]
    buyer, key = funded_key(ONE)
    payer = funded_payer(500 * ONE)
    buyer.wallet = payer.address
    buyer.save(update_fields=["wallet"])
    cap = Decimal(cheap.price_micros) * Decimal("1.06") / ONE
    env = {
        "THE402_API_BASE": demo.url,
        "THE402_API_KEY": key,
        "THE402_WALLET_PRIVATE_KEY": payer.key.hex(),
        "THE402_MAX_PAYMENT_USD": f"{cap:.2f}",
    }

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with stdio_session(env) as s:
            refused = await s.call_tool(
                "purchase_service",
                {"service_id": dear.public_id, "brief": json.dumps(dear_brief)},
            )
            out["refused"] = error(refused)
            out["after_refusal"] = chain_balance(token=chain.usdc, address=payer.address)
            paid = await s.call_tool(
                "purchase_service", {"service_id": cheap.public_id, "brief": json.dumps(brief)}
            )
            out["bought"], out["receipt"] = data(paid), paid.meta["x402/payment-response"]
            job_id = out["bought"]["job_id"]

            async def completed() -> Any:
                job = data(await s.call_tool("get_job", {"job_id": job_id}))
                return job if job["status"] == "completed" else None

            out["completed"] = await until(completed)
            out["verified"] = data(await s.call_tool("verify_job", {"job_id": job_id}))
            out["twice"] = error(await s.call_tool("verify_job", {"job_id": job_id}))
            out["minted"] = data(await s.call_tool("devnet_faucet", {"amount": "1"}))
        return out

    out = anyio.run(main)
    assert out["refused"]["code"] == "payment_above_cap"
    assert out["after_refusal"] == 500 * ONE  # nothing signed, nothing paid
    assert out["receipt"]["success"] is True
    agent_price = cheap.price_micros + -(-cheap.price_micros * 5 // 100)
    assert out["completed"]
    assert out["verified"]["status"] in ("verified", "released")
    assert out["twice"]["status"] in (400, 409)
    assert Job.objects.get(public_id=out["bought"]["job_id"]).status == Job.Status.RELEASED
    assert chain_balance(token=chain.usdc, address=payer.address) == 501 * ONE - agent_price
    assert ledger_problems() == []
