"""The tools: the official server's 30 with their names and required parameters (from
`@the402/mcp-server` v1.0.2, section 7 of the API reference), and ours beyond them; each
with a description, input and output schemas and annotations. Listed through the SDK's
client over stdio (the `the402-mcp` console script) and over HTTP (`/mcp`)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.mcp.fixtures import Demo, http_session, stdio_session

pytestmark = pytest.mark.django_db(transaction=True)

# name -> required parameters, as the official server declares them.
OFFICIAL: dict[str, set[str]] = {
    "search_catalog": set(),
    "get_service": {"service_id"},
    "get_platform_info": set(),
    "inquire_service": {"service_id", "brief"},
    "list_threads": set(),
    "get_thread": {"thread_id"},
    "send_message": {"thread_id", "message"},
    "propose_price": {"thread_id", "price"},
    "accept_proposal": {"thread_id"},
    "verify_delivery": {"thread_id"},
    "decline_thread": {"thread_id"},
    "purchase_service": {"service_id", "brief"},
    "purchase_product": {"product_id"},
    "create_service": {"name", "description", "category", "price"},
    "update_service": {"service_id"},
    "delete_service": {"service_id"},
    "list_plans": set(),
    "subscribe_to_plan": {"plan_id"},
    "manage_subscription": {"subscription_id", "action"},
    "create_plan": {"name", "description", "price", "billing_period", "service_ids"},
    "manage_plan": {"plan_id", "action"},
    "browse_products": set(),
    "list_purchases": set(),
    "manage_product": {"action"},
    "check_balance": set(),
    "balance_history": set(),
    "provider_earnings": set(),
    "referrals": {"action"},
    "get_participant": {"participant_id"},
    "update_profile": {"participant_id"},
}
# Optional parameters of the official tools, which ours keep under the same names.
OFFICIAL_OPTIONAL: dict[str, set[str]] = {
    "search_catalog": {
        "query", "category", "service_type", "sort", "min_reputation", "limit", "offset",
    },
    "list_threads": {"status", "limit", "offset"},
    "propose_price": {"message"},
    "decline_thread": {"reason"},
    "create_service": {
        "pricing_model", "service_type", "fulfillment_type", "estimated_delivery", "tags",
        "input_schema", "webhook_url",
    },
    "update_service": {
        "name", "description", "price", "status", "estimated_delivery", "tags",
        "input_schema", "webhook_url",
    },
    "list_plans": {"limit", "offset"},
    "manage_plan": {"name", "description", "price"},
    "browse_products": {"query", "limit", "offset"},
    "manage_product": {"product_id", "name", "description", "price", "category"},
    "balance_history": {"limit", "offset"},
    "update_profile": {"name", "description"},
}  # fmt: skip
OURS: dict[str, set[str]] = {
    "deposit": {"amount"},
    "list_jobs": set(),
    "get_job": {"job_id"},
    "update_job": {"job_id", "status"},
    "verify_job": {"job_id"},
    "dispute_job": {"job_id", "reason"},
    "lookup_reputation": {"wallet"},
    "download_product": {"product_id"},
    "devnet_faucet": set(),
}


def check_tools(tools: list[Any]) -> None:
    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == set(OFFICIAL) | set(OURS)
    for name, required in {**OFFICIAL, **OURS}.items():
        tool = by_name[name]
        schema = tool.input_schema
        assert set(schema.get("required", [])) == required, name
        assert OFFICIAL_OPTIONAL.get(name, set()) <= set(schema["properties"]), name
        assert len(tool.description) > 40, name
        assert tool.output_schema["type"] == "object", name
        hints = tool.annotations
        assert hints.read_only_hint is not None and hints.idempotent_hint is not None, name
        assert hints.destructive_hint is not None, name
    read_only = {n for n, t in by_name.items() if t.annotations.read_only_hint}
    assert {"search_catalog", "get_service", "check_balance", "get_thread"} <= read_only
    assert by_name["delete_service"].annotations.destructive_hint is True
    assert by_name["purchase_service"].annotations.read_only_hint is False


def test_the_tools_over_stdio_are_the_official_ones_and_ours(demo: Demo) -> None:
    async def main() -> list[Any]:
        async with stdio_session({"THE402_API_BASE": demo.url}) as session:
            return (await session.list_tools()).tools

    check_tools(anyio.run(main))


def test_the_tools_over_http_are_the_same(demo: Demo) -> None:
    async def main() -> list[Any]:
        async with http_session(demo.url) as session:
            return (await session.list_tools()).tools

    check_tools(anyio.run(main))
