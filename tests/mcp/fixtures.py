"""Shared by the MCP and CLI tests: a live server with the demo catalog (its providers
answer through the built-in demo provider, as under `make run`), a funded buyer, and MCP
sessions through the SDK's own client over stdio (spawning `the402-mcp`) and HTTP (`/mcp`).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.core.management import call_command
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from marketplace.demo.provider import sample
from marketplace.models import Service
from payments.ledger import WORLD, Posting, agent_account, ledger_record
from payments.models import Participant
from payments.services import api_key_issue
from tests.factories import ParticipantFactory

BIN = Path(sys.executable).parent
ONE = 1_000_000


@dataclass
class Demo:
    url: str


@pytest.fixture
def demo(live_server: Any, settings: Any) -> Demo:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.PUBLIC_URL = live_server.url
    call_command("seed_demo", webhook_url=f"{live_server.url}/demo/provider", verbosity=0)
    return Demo(live_server.url)


def funded_key(amount: int = 500 * ONE, **kwargs: Any) -> tuple[Participant, str]:
    """A participant with an API key and `amount` µUSDC of prepaid balance."""
    participant = ParticipantFactory(**kwargs)
    if amount:
        ledger_record(
            kind="deposit",
            idempotency_key=f"dep-{participant.public_id}",
            postings=[Posting(WORLD, agent_account(participant), amount)],
        )
    return participant, api_key_issue(participant=participant)


def demo_service(service_type: str, pricing_model: str = "fixed") -> tuple[Service, dict]:
    """A demo service of this kind and a brief that satisfies its input_schema."""
    from marketplace.catalog.schemas import schema_error

    for service in Service.objects.filter(
        service_type=service_type, pricing_model=pricing_model, status="active"
    ).order_by("id"):
        schema = service.input_schema or {}
        required = set(schema.get("required", []))
        brief = {
            name: sample(sub)
            for name, sub in (schema.get("properties") or {}).items()
            if name in required
        }
        if schema_error(service.input_schema, brief) is None:
            return service, brief
    raise AssertionError(f"no demo {service_type} takes a sampled brief")


@contextlib.asynccontextmanager
async def http_session(url: str, api_key: str | None = None) -> AsyncIterator[ClientSession]:
    """The SDK's streamable HTTP client on `<url>/mcp`, with the caller's API key header."""
    headers = {"X-API-Key": api_key} if api_key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def stdio_session(env: dict[str, str]) -> AsyncIterator[ClientSession]:
    """`the402-mcp` spawned from the venv's bin, as Claude Desktop runs it."""
    params = StdioServerParameters(command=str(BIN / "the402-mcp"), args=[], env=env)
    with open(Path("/dev/null"), "w") as errlog:  # noqa: ASYNC230 - a file handle only
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def data(result: Any) -> dict[str, Any]:
    """A successful tool result's structured content (its text says the same)."""
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def error(result: Any) -> dict[str, Any]:
    """A tool error: structured `{"error", "code", ...}`, never a crash of the server."""
    assert result.is_error, result.structured_content
    content = result.structured_content
    assert isinstance(content, dict) and isinstance(content.get("error"), str), result.content
    return content


async def until(check: Callable[[], Any], seconds: float = 15) -> Any:
    import anyio

    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await anyio.sleep(0.1)


async def pay_in_mcp(
    session: ClientSession, name: str, arguments: dict[str, Any], payer: Any, usdc: str
) -> tuple[Any, Any]:
    """Call a paid tool as an x402 MCP client does (the PyPI `x402` package's `mcp`
    convention): the first call's error result carries the x402 terms; the official client
    signs them and the call is made again with the payment in `_meta["x402/payment"]`.
    Returns (first result, paid result)."""
    from x402 import x402Client
    from x402.mcp.utils import _extract_payment_required_from_object
    from x402.mechanisms.evm.exact import register_exact_evm_client

    first = await session.call_tool(name, arguments)
    assert first.is_error, first.structured_content
    terms = _extract_payment_required_from_object(first.structured_content)
    assert terms is not None, first.structured_content
    client = register_exact_evm_client(x402Client(), payer)
    client.set_spend_controls(
        {
            "max_amount_per_payment": False,
            "allowed_assets": [{"network": "eip155:84532", "asset": usdc}],
        }
    )
    payload = await client.create_payment_payload(terms)
    meta = {"x402/payment": payload.model_dump(by_alias=True, exclude_none=True)}
    return first, await session.call_tool(name, arguments, meta=meta)


def invalid(result: Any, argument: str) -> str:
    """Arguments refused by the tool's input schema (checked by the SDK before any call):
    a tool error naming the argument."""
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert "validation error" in text and argument in text, text
    return text
