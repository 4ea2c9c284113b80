"""the402's MCP server (stdio and streamable HTTP), on the PyPI `mcp` SDK 2.x.

No Django here either: the tools reach the marketplace through `the402_client` over HTTP.
"""

from __future__ import annotations

from the402_mcp.server import OFFICIAL_TOOLS, build_server

__all__ = ["OFFICIAL_TOOLS", "build_server"]
