"""What the server asks for: the 402 response in both x402 wire versions.

A single `PaymentOption` renders to the v1 body entry and the v2 header entry, so the price,
recipient and asset in the two can never drift apart. Official v2 clients read the
`PAYMENT-REQUIRED` header; v1 clients only ever see the JSON body; we send both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eth_utils import to_checksum_address

from payments.eip3009 import TokenDomain
from payments.networks import Network

from .encoding import encode_json
from .errors import INVALID_PAYMENT_REQUIREMENTS, UNSUPPORTED_SCHEME, X402Error
from .examples import NO_EXAMPLE, example_for

SCHEME = "exact"
QUERY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class PaymentOption:
    """What the server accepts for one request (one entry of `accepts[]`).

    Addresses are normalised to EIP-55 on construction because the v2 reference server
    compares requirements as strings: a stable casing keeps echoed `accepted` objects equal.
    """

    network: Network
    asset: str
    asset_name: str
    asset_version: str
    pay_to: str
    amount: int
    resource: str
    description: str = ""
    mime_type: str = "application/json"
    max_timeout_seconds: int = 300
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    method: str = "POST"

    def __post_init__(self) -> None:
        object.__setattr__(self, "asset", to_checksum_address(self.asset))
        object.__setattr__(self, "pay_to", to_checksum_address(self.pay_to))
        object.__setattr__(self, "method", self.method.upper())
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            raise ValueError("amount must be a positive integer of atomic units")
        if self.max_timeout_seconds <= 0:
            raise ValueError("max_timeout_seconds must be positive")
        if self.method not in QUERY_METHODS | BODY_METHODS:
            raise ValueError(f"unsupported HTTP method {self.method!r}")
        url = urlsplit(self.resource)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError("resource must be an absolute http(s) URL")

    def domain(self) -> TokenDomain:
        """The EIP-712 domain the payer signs under (must match the token on-chain)."""
        return TokenDomain(
            name=self.asset_name,
            version=self.asset_version,
            chain_id=self.network.chain_id,
            address=self.asset,
        )

    def v1_requirements(self) -> dict[str, Any]:
        """PaymentRequirementsV1, with the v1 discovery carrier `outputSchema` (never null:
        the legacy npm client's zod schema declares it `.optional()`, which rejects null)."""
        return {
            "scheme": SCHEME,
            "network": self.network.x402_name,
            "maxAmountRequired": str(self.amount),
            "resource": self.resource,
            "description": self.description,
            "mimeType": self.mime_type,
            "payTo": self.pay_to,
            "maxTimeoutSeconds": self.max_timeout_seconds,
            "asset": self.asset,
            "outputSchema": self._v1_output_schema(),
            "extra": self._extra(),
        }

    def v2_requirements(self) -> dict[str, Any]:
        """PaymentRequirementsV2 (resource metadata lives in the enclosing PaymentRequired)."""
        return {
            "scheme": SCHEME,
            "network": self.network.caip2,
            "amount": str(self.amount),
            "asset": self.asset,
            "payTo": self.pay_to,
            "maxTimeoutSeconds": self.max_timeout_seconds,
            "extra": self._extra(),
        }

    def bazaar_extension(self) -> dict[str, Any]:
        """The v2 `bazaar` discovery extension: `{info, schema}`, `info` valid under `schema`.

        `info.input` names the method and carries an example body (POST/PUT/PATCH) or example
        query parameters (GET/HEAD/DELETE) derived from `input_schema`, which `schema` uses to
        describe it; `info.output` carries an example of `output_schema`. An example that
        cannot be derived is left out, and `schema` then does not require it.
        """
        input_info, input_schema = self._bazaar_input()
        info: dict[str, Any] = {"input": input_info}
        properties: dict[str, Any] = {"input": input_schema}
        if self.output_schema is not None:
            output: dict[str, Any] = {"type": "json"}
            example = example_for(self.output_schema)
            if example is not NO_EXAMPLE:
                output["example"] = example
            info["output"] = output
            properties["output"] = {
                "type": "object",
                "properties": {"type": {"type": "string"}, "example": self.output_schema},
                "required": ["type"],
            }
        schema = {
            "$schema": JSON_SCHEMA_DIALECT,
            "type": "object",
            "properties": properties,
            "required": ["input"],
        }
        return {"info": info, "schema": schema}

    def _extra(self) -> dict[str, str]:
        return {"name": self.asset_name, "version": self.asset_version}

    def _bazaar_input(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """`info.input` and the JSON Schema of it."""
        described = self.input_schema if self.input_schema is not None else {"type": "object"}
        example = example_for(described)
        info: dict[str, Any] = {"type": "http", "method": self.method}
        properties: dict[str, Any] = {
            "type": {"type": "string", "const": "http"},
            "method": {"type": "string", "enum": [self.method]},
        }
        required = ["type", "method"]
        if self.method in BODY_METHODS:
            info["bodyType"] = "json"
            properties["bodyType"] = {"type": "string", "enum": ["json"]}
            properties["body"] = described
            required.append("bodyType")
            if example is not NO_EXAMPLE:
                info["body"] = example
                required.append("body")
        else:
            properties["queryParams"] = {"type": "object", **described}
            if example is not NO_EXAMPLE and example:
                info["queryParams"] = example
        schema = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        return info, schema

    def _v1_output_schema(self) -> dict[str, Any]:
        """The v1 bazaar carrier: `{input: {type, method, discoverable, …}, output}`."""
        described = self.input_schema if self.input_schema is not None else {}
        v1_input: dict[str, Any] = {"type": "http", "method": self.method, "discoverable": True}
        if self.method in BODY_METHODS:
            v1_input["bodyType"] = "json"
            v1_input["bodyFields"] = described
        else:
            v1_input["queryParams"] = described
        carrier: dict[str, Any] = {"input": v1_input}
        if self.output_schema is not None:
            carrier["output"] = self.output_schema
        return carrier


def payment_required_body(options: list[PaymentOption], error: str) -> dict[str, Any]:
    """The v1 `PaymentRequirementsResponse`, sent as the JSON body of every 402."""
    _require_options(options)
    return {
        "x402Version": 1,
        "error": error,
        "accepts": [option.v1_requirements() for option in options],
    }


def payment_required_header(options: list[PaymentOption], error: str) -> str:
    """The v2 `PAYMENT-REQUIRED` header value: base64(JSON PaymentRequired).

    Resource metadata and discovery come from the first option: all options describe the same
    resource and differ only in how it may be paid for.
    """
    _require_options(options)
    first = options[0]
    payment_required: dict[str, Any] = {
        "x402Version": 2,
        "error": error,
        "resource": {
            "url": first.resource,
            "description": first.description,
            "mimeType": first.mime_type,
        },
        "accepts": [option.v2_requirements() for option in options],
    }
    payment_required["extensions"] = {"bazaar": first.bazaar_extension()}
    return encode_json(payment_required)


def _require_options(options: list[PaymentOption]) -> None:
    """x402 requires at least one entry in accepts[]; an empty list is a server bug."""
    if not options:
        raise ValueError("a 402 needs at least one payment option")


def _atomic_amount(value: Any) -> int:
    """An atomic token amount: a string of ASCII digits (the spec) or a JSON integer.

    `int()` alone would also read "٣", full-width digits, "1_000" or " 5 " as numbers.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 78:
        return int(value)
    raise ValueError(f"{value!r} is not an amount in atomic units (ASCII digits)")


def option_from_requirements(
    requirements: dict[str, Any], *, version: int, network: Network
) -> PaymentOption:
    """Rebuild an option from requirements a client sent to a facilitator (v1 or v2 shape).

    `network` is the caller's resolution of the requirements' network name. Raises X402Error
    (`invalid_payment_requirements`) for anything missing or malformed.
    """
    amount_key = "maxAmountRequired" if version == 1 else "amount"
    extra = requirements.get("extra")
    try:
        if requirements.get("scheme") != "exact":
            raise X402Error(UNSUPPORTED_SCHEME, "only the exact scheme is supported")
        if not isinstance(extra, dict):
            raise ValueError("extra must carry the token's EIP-712 name and version")
        return PaymentOption(
            network=network,
            asset=str(requirements["asset"]),
            asset_name=str(extra["name"]),
            asset_version=str(extra["version"]),
            pay_to=str(requirements["payTo"]),
            amount=_atomic_amount(requirements[amount_key]),
            resource=str(requirements.get("resource") or "http://facilitator.invalid/"),
            max_timeout_seconds=int(requirements.get("maxTimeoutSeconds") or 300),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise X402Error(INVALID_PAYMENT_REQUIREMENTS, f"bad paymentRequirements: {exc}") from None
