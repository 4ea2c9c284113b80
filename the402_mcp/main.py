"""`the402-mcp`: the MCP server over stdio (default; for Claude Desktop, Cursor...) or
streamable HTTP (`--http`)."""

from __future__ import annotations

import argparse
import sys

from the402_client import Settings
from the402_client.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="the402-mcp",
        description="the402 marketplace as MCP tools. Configured by THE402_API_BASE, "
        "THE402_API_KEY, THE402_WALLET_PRIVATE_KEY (or THE402_WALLET_KEY_FILE) and "
        "THE402_MAX_PAYMENT_USD.",
    )
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--path", default="/mcp")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"the402-mcp: {exc}", file=sys.stderr)
        return 2
    if args.http:
        import uvicorn

        from the402_mcp.http import asgi_app

        app = asgi_app(settings, path=args.path, host=args.host)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
        return 0
    from the402_mcp.server import build_server

    build_server(settings).run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
