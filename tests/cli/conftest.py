from __future__ import annotations

from tests.mcp.fixtures import demo  # noqa: F401 - a shared fixture
