"""the402's HTTP client, shared by the `the402` command line and the `the402-mcp` server.

A top-level package that imports no Django and none of the402's apps.
"""

from __future__ import annotations

from the402_client.client import ApiResult, The402Client
from the402_client.config import Settings
from the402_client.errors import (
    ApiError,
    ConfigurationNeeded,
    PaymentRequired,
    PaymentTooHigh,
    The402Error,
)

__all__ = [
    "ApiError",
    "ApiResult",
    "ConfigurationNeeded",
    "PaymentRequired",
    "PaymentTooHigh",
    "Settings",
    "The402Client",
    "The402Error",
]
