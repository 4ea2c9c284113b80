"""MCP over streamable HTTP, stateless with JSON answers: each POST is one exchange, so
any process can serve any request (no sessions to pin), behind any proxy.

* `asgi_app(...)`: a Starlette app serving `/mcp`, for `the402-mcp --http` (uvicorn) or any
  ASGI server, in production behind `/mcp` at the proxy.
* `handle(server, scope, body)`: one request through the SDK's session manager, used by the
  Django view that serves `/mcp` on the API's own port (`the402.mcp_view`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx
from mcp.server import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from the402_client import Settings
from the402_mcp.server import build_server


def asgi_app(
    settings: Settings | None = None,
    *,
    path: str = "/mcp",
    host: str = "127.0.0.1",
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Callers authenticate with their own `X-API-Key` (or `Authorization: Bearer`); the
    process holds no key and no wallet."""
    server = build_server(settings, from_headers=True, transport=transport)
    return server.streamable_http_app(
        streamable_http_path=path, stateless_http=True, json_response=True, host=host
    )


async def handle(server: MCPServer, scope: dict[str, Any], body: bytes) -> tuple[int, list, bytes]:
    """Run one HTTP exchange through a fresh stateless session manager; (status, headers,
    body). The host was already checked by the caller (Django's ALLOWED_HOSTS)."""
    manager = StreamableHTTPSessionManager(
        app=server._lowlevel_server,  # the SDK's documented way to mount a server elsewhere
        stateless=True,
        json_response=True,
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    sent = False
    status, headers, chunks = 500, [], []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return status, headers, b"".join(chunks)
