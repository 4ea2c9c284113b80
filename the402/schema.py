"""Shared OpenAPI pieces, and the schema class that adds authentication and x402 terms."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry

from the402.lib.errors import error_codes_published

# --- payment terms and authentication in the OpenAPI document ------------------------------
# Header-borne credentials, declared so the /docs page can send them ("Authorize").
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The API key `POST /v1/register` returned.",
    },
    "BalanceAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "X-BALANCE-AUTH",
        "description": "Your API key, to pay a paid endpoint from your prepaid balance.",
    },
    "X402Payment": {
        "type": "apiKey",
        "in": "header",
        "name": "X-PAYMENT",
        "description": "x402 v1: base64 of the signed payment for the 402's requirements.",
    },
    "X402PaymentSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "PAYMENT-SIGNATURE",
        "description": "x402 v2: base64 of the signed payment for PAYMENT-REQUIRED.",
    },
}

PAYMENT_REQUIRED_RESPONSE: dict[str, Any] = {
    "description": (
        "Payment required: x402 v1 requirements in the JSON body; x402 v2 `PaymentRequired` "
        "(with the bazaar discovery extension) base64-encoded in the PAYMENT-REQUIRED and "
        "X-PAYMENT-REQUIRED headers."
    ),
    "headers": {
        name: {"schema": {"type": "string"}, "description": "base64 JSON PaymentRequired (v2)"}
        for name in ("PAYMENT-REQUIRED", "X-PAYMENT-REQUIRED")
    },
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def _security(view_class: type, paid: bool) -> list[dict[str, list[str]]]:
    auth = str(getattr(view_class, "endpoint_auth", "")).lower()
    options: list[dict[str, list[str]]] = []
    if auth.startswith("none") and "x-api-key" in auth:
        options.append({})  # anonymous, or with a key for more
    if "x-api-key" in auth or getattr(view_class, "accepts_api_key", False):
        options.append({"ApiKey": []})
    if paid:
        if "balance" in auth:
            options.append({"BalanceAuth": []})
        options += [{"X402PaymentSignature": []}, {"X402Payment": []}]
    return options


class The402AutoSchema(AutoSchema):
    """drf-spectacular's schema plus, per operation, the header credentials it takes and, for
    a paid one, its x402 terms (`x-payment-info`, as x402scan reads it) and its 402 answer."""

    def get_operation(
        self,
        path: str,
        path_regex: str,
        path_prefix: str,
        method: str,
        registry: ComponentRegistry,
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        from the402.discovery import paid_methods, payment_info

        view_class = type(self.view)
        paid = method.lower() in paid_methods(view_class)
        security = _security(view_class, paid)
        if security:
            operation["security"] = security
        if paid:
            operation["x-payment-info"] = payment_info(view_class)
            operation.setdefault("responses", {}).setdefault("402", PAYMENT_REQUIRED_RESPONSE)
        return operation


def add_security_schemes(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: declare the header credentials, and publish the
    error codes (`the402.lib.errors.ERROR_CODES`): as `x-error-codes` (status and meaning of
    each) and as the enum of the `Error` schema's `code`."""
    components = result.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    codes = error_codes_published()
    result["x-error-codes"] = codes
    error = components.get("schemas", {}).get("Error", {}).get("properties", {}).get("code")
    if error is not None:
        error["enum"] = list(codes)
    return result
