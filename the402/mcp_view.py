"""`/mcp` on the API's own port: MCP over streamable HTTP (stateless, JSON answers).

The MCP server (`the402_mcp`) is a client of this deployment's HTTP API, so this view runs
one MCP exchange through the SDK (an ASGI app, driven here from the WSGI request) and the
tools call the API back on the URL the caller used. Callers authenticate with their own
`X-API-Key`; free tools need nothing. Production may instead run `the402-mcp --http`
as its own ASGI process behind `/mcp` at the proxy: the same tools, the same answers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from the402.lib.urls import public_base_url


@lru_cache(maxsize=8)
def _server(api_base: str) -> Any:
    from the402_client import Settings
    from the402_mcp.server import build_server

    return build_server(Settings(api_base=api_base), from_headers=True)


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        # Stateless: no server-initiated stream (GET) and no session to delete (DELETE).
        refusal = JsonResponse(
            {
                "error": "MCP over streamable HTTP: POST JSON-RPC messages here",
                "code": "method_not_allowed",
            },  # noqa: E501
            status=405,
        )
        refusal["Allow"] = "POST"
        return refusal
    from the402_mcp.http import handle

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers.items()
        ],
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
        "server": (request.get_host(), 0),
    }
    server = _server(public_base_url(request))
    status, headers, body = async_to_sync(handle)(server, scope, request.body)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        key = name.decode("latin-1")
        if key.lower() not in ("content-length", "connection", "transfer-encoding"):
            response[key] = value.decode("latin-1")
    return response
