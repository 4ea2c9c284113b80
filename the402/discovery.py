"""Discovery for machines: `/health`, `/.well-known/the402.json` and the endpoint list.

The endpoint list is read from the URL configuration: every API view declares
`endpoint_price` and `endpoint_auth`, so the manifest cannot drift from the routes.
"""

from __future__ import annotations

import re
import time
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.selectors import payment_terms
from the402.lib.urls import public_base_url

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view_class = getattr(entry.callback, "view_class", None)
            if view_class is not None and hasattr(view_class, "endpoint_price"):
                found.append((prefix + str(entry.pattern), view_class))
    return found


def api_endpoints() -> list[dict[str, str]]:
    """Every public API endpoint with its method, path, price, auth and description."""
    return _endpoints(get_resolver())


@cache
def _endpoints(resolver: URLResolver) -> list[dict[str, str]]:
    # The URL configuration does not change while a process runs; walk it once per resolver.
    endpoints = []
    for route, view_class in _walk(resolver.url_patterns):
        path = "/" + _CONVERTER.sub(r":\1", route.lstrip("^").rstrip("$"))
        description = (view_class.__doc__ or "").strip().splitlines()[0]
        endpoints.extend(
            {
                "method": method.upper(),
                "path": path,
                "price": view_class.endpoint_price,
                "auth": view_class.endpoint_auth,
                "description": description,
            }
            for method in _METHODS
            if hasattr(view_class, method)
        )
    return endpoints


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means unhealthy; the reason is in the server log
        return False


class HealthView(APIView):
    """Deployment status, network, treasury address and the list of endpoints."""

    endpoint_price = "free"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="health",
        responses={200: inline_serializer("Health", {"status": serializers.CharField()})},
        tags=["discovery"],
    )
    def get(self, request: Request) -> Response:
        base = public_base_url(request)
        terms = payment_terms()
        database_ok = _database_ok()
        return Response(
            {
                "status": "ok" if database_ok else "degraded",
                "service": "the402-api",
                "network": terms["network"],
                "network_caip2": terms["caip2"],
                "chain_id": terms["chain_id"],
                "deployment": settings.NETWORK,
                "pay_to": terms["pay_to"],
                "asset": terms["asset"],
                "timestamp": int(time.time() * 1000),
                "paused": False,
                "checks": {"database": "ok" if database_ok else "error"},
                "platform": {
                    "description": (
                        "the402 is a marketplace where AI agents discover and buy services "
                        "and pay per request in USDC via x402."
                    ),
                    "catalog": f"{base}/v1/services/catalog",
                    "register": f"{base}/v1/register",
                    "docs": {
                        "overview": f"{base}/",
                        "api": f"{base}/docs",
                        "manifest": f"{base}/.well-known/the402.json",
                    },
                },
                "referral_program": {
                    "enabled": False,
                    "description": "The referral programme is not enabled on this deployment.",
                },
                "openapi_spec": "/openapi.json",
                "bazaar": {
                    "discovery": True,
                    "note": (
                        "Paid routes answer 402 with x402 requirements before validating input."
                    ),
                },
                "endpoints": api_endpoints(),
            },
            status=200 if database_ok else 503,
        )


class ManifestView(APIView):
    """Machine-readable discovery manifest."""

    endpoint_price = "free"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="manifest",
        responses={200: inline_serializer("Manifest", {"name": serializers.CharField()})},
        tags=["discovery"],
    )
    def get(self, request: Request) -> Response:
        base = public_base_url(request)
        terms = payment_terms()
        return Response(
            {
                "name": "the402",
                "description": (
                    "Marketplace where AI agents discover and buy data APIs, automated "
                    "services and human services, paying per request in USDC on Base via x402."
                ),
                "version": "1",
                "api_base": base,
                "catalog": f"{base}/v1/services/catalog",
                "service_detail": f"{base}/v1/services/{{id}}",
                "openapi": f"{base}/openapi.json",
                "docs": f"{base}/docs",
                "health": f"{base}/health",
                "payment": {
                    "protocols": ["x402"],
                    "x402_versions": [1, 2],
                    "schemes": ["exact"],
                    "networks": [
                        {
                            "network": terms["network"],
                            "caip2": terms["caip2"],
                            "chain_id": terms["chain_id"],
                            "asset": "USDC",
                            "asset_address": terms["asset"],
                            "decimals": 6,
                        }
                    ],
                    "pay_to": terms["pay_to"],
                    "platform_fee_pct": 5,
                    "headers": {
                        "pay": ["PAYMENT-SIGNATURE", "X-PAYMENT"],
                        "balance": "X-BALANCE-AUTH",
                        "api_key": "X-API-Key",
                        "receipt": ["PAYMENT-RESPONSE", "X-PAYMENT-RESPONSE"],
                    },
                },
                "service_types": ["data_api", "automated_service", "human_service"],
                "endpoints": api_endpoints(),
            }
        )
