"""Discovery for machines: `/health`, `/.well-known/the402.json`, `/.well-known/x402` and
the endpoint list.

The endpoint list is read from the URL configuration: every API view declares
`endpoint_price` and `endpoint_auth`, so the manifest cannot drift from the routes. Paid
operations are those of `PaidView` subclasses whose handler goes through the payment gate;
their terms (`payment_info`) feed `/.well-known/x402` and the OpenAPI `x-payment-info`.
"""

from __future__ import annotations

import inspect
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

from payments.gate import PaidView
from payments.networks import current_network
from payments.selectors import payment_terms
from referrals.selectors import health_summary as referral_health
from the402.lib import money
from the402.lib.errors import error_codes_published
from the402.lib.urls import public_base_url
from the402.metrics import dependency_checks

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
    endpoints: list[dict[str, str]] = []
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


_PAID_METHODS: dict[type, frozenset[str]] = {}


def paid_methods(view_class: type) -> frozenset[str]:
    """The HTTP methods (lower case) of ``view_class`` that charge through the payment gate."""
    if view_class not in _PAID_METHODS:
        _PAID_METHODS[view_class] = _find_paid_methods(view_class)
    return _PAID_METHODS[view_class]


def _find_paid_methods(view_class: type) -> frozenset[str]:
    if not (isinstance(view_class, type) and issubclass(view_class, PaidView)):
        return frozenset()
    paid = set()
    for method in _METHODS:
        handler = getattr(view_class, method, None)
        if handler is None:
            continue
        if handler is PaidView.gate:
            paid.add(method)
            continue
        try:
            source = inspect.getsource(handler)
        except (OSError, TypeError):
            paid.add(method)  # no source to read: a PaidView's handler pays unless shown not to
            continue
        if ".gate(" in source:
            paid.add(method)
    return frozenset(paid)


_FIXED_PRICE = re.compile(r"\$(\d+(?:\.\d{1,6})?)")
# The bounds of a price that depends on the request (a service's price plus the platform
# fee, a proposal's total, a deposit), unless the view narrows them with
# `endpoint_price_min` / `endpoint_price_max` (micro-USDC).
DYNAMIC_PRICE_MIN = 1
DYNAMIC_PRICE_MAX_USD = 100_000


def payment_info(view_class: type) -> dict[str, Any]:
    """The x402 terms of a paid view, in x402scan's `x-payment-info` shape: a fixed price
    (`amount`, USD decimal) or a dynamic one (`min`/`max`)."""
    network = current_network()
    price_text = str(getattr(view_class, "endpoint_price", ""))
    info: dict[str, Any] = {
        "protocols": ["x402"],
        "networks": [network.caip2],
        "asset": "USDC",
        "description": price_text,
    }
    fixed = _FIXED_PRICE.fullmatch(price_text)
    if fixed is not None:
        info["price"] = {"mode": "fixed", "currency": "USD", "amount": fixed.group(1)}
        return info
    max_usd = int(getattr(settings, "MAX_PRICE_USD", DYNAMIC_PRICE_MAX_USD))
    default_max = money.agent_price(max_usd * money.MICROS_PER_USD)
    low = int(getattr(view_class, "endpoint_price_min", DYNAMIC_PRICE_MIN))
    high = int(getattr(view_class, "endpoint_price_max", default_max))
    info["price"] = {
        "mode": "dynamic",
        "currency": "USD",
        "min": money.format_usd(low),
        "max": money.format_usd(high),
    }
    return info


def paid_resources() -> list[dict[str, Any]]:
    """Every paid operation: method, path (`:param` for a path parameter) and view class."""
    return _paid_resources(get_resolver())


@cache
def _paid_resources(resolver: URLResolver) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for route, view_class in _walk(resolver.url_patterns):
        path = "/" + _CONVERTER.sub(r":\1", route.lstrip("^").rstrip("$"))
        description = (view_class.__doc__ or "").strip().splitlines()[0]
        found.extend(
            {"method": method.upper(), "path": path, "description": description, "view": view_class}
            for method in _METHODS
            if method in paid_methods(view_class)
        )
    return found


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
        # The broker, the chain and the queue depth are reported, not gated on: a proxy's
        # health check takes out a web process that cannot reach the database, never every
        # process at once because a shared dependency is down (README "Production").
        dependencies = dependency_checks()
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
                "checks": {"database": "ok" if database_ok else "error", **dependencies},
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
                "referral_program": referral_health(),
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
                # Every error answer is {"error", "code"}; the codes, their statuses and meaning.
                "error_codes": error_codes_published(),
            }
        )


class X402DiscoveryView(APIView):
    """x402 discovery document: the paid resources of this deployment."""

    endpoint_price = "free"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="x402_discovery",
        responses={
            200: inline_serializer(
                "X402Discovery",
                {
                    "version": serializers.IntegerField(),
                    "resources": serializers.ListField(child=serializers.URLField()),
                },
            )
        },
        tags=["discovery"],
    )
    def get(self, request: Request) -> Response:
        """`{version: 1, resources: [urls], instructions}` as x402scan reads it, plus `items`
        with each resource's method and terms. A path with a parameter (`:id`) is listed as
        a template in `items` only: `resources` holds URLs a client can probe as they are."""
        base = public_base_url(request)
        items = [
            {
                "resource": base + entry["path"],
                "type": "http",
                "method": entry["method"],
                "description": entry["description"],
                "route_template": entry["path"] if ":" in entry["path"] else None,
                "payment": payment_info(entry["view"]),
            }
            for entry in paid_resources()
        ]
        resources = sorted({item["resource"] for item in items if not item["route_template"]})
        return Response(
            {
                "version": 1,
                "x402Version": 2,
                "resources": resources,
                "instructions": (
                    "Every resource answers an unpaid request with 402 and x402 payment "
                    "requirements (v1 JSON body, v2 PAYMENT-REQUIRED header with the bazaar "
                    f"discovery extension). Services for sale: {base}/v1/services/catalog; "
                    f"OpenAPI with x-payment-info: {base}/openapi.json."
                ),
                "items": items,
            }
        )
