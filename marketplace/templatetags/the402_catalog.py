"""Template helpers of the catalog pages: JSON Schemas as readable field tables, pretty
JSON, and a service's prices with the fee. Loaded with `{% load the402_catalog %}`."""

from __future__ import annotations

import json
from typing import Any

from django import template

from the402.lib import money

register = template.Library()

_MAX_DEPTH = 3


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = " or ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_type_of(schema['items'])}"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"][:12])
    text = str(kind or "any")
    if schema.get("format"):
        text += f" ({schema['format']})"
    return text


def _rows(schema: Any, prefix: str, depth: int) -> list[dict[str, Any]]:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return []
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        items = schema.get("items")
        if schema.get("type") == "array" and isinstance(items, dict):
            return _rows(items, f"{prefix}[]", depth + 1)
        return []
    required = set(schema.get("required") or [])
    rows = []
    for name, field in properties.items():
        field = field if isinstance(field, dict) else {}
        path = f"{prefix}.{name}" if prefix else str(name)
        rows.append(
            {
                "name": path,
                "type": _type_of(field),
                "required": name in required,
                "description": str(field.get("description", "")),
                "depth": depth,
            }
        )
        rows.extend(_rows(field, path, depth + 1))
    return rows


@register.filter
def schema_fields(schema: Any) -> list[dict[str, Any]]:
    """A JSON Schema's fields, nested ones as dotted names: name, type, required,
    description. Empty for a schema without properties."""
    return _rows(schema, "", 0)


@register.filter
def pretty_json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False)


@register.filter
def with_fee(micros: int | None) -> int | None:
    """The agent price of a provider price (the price plus the platform fee)."""
    return None if micros is None else money.agent_price(int(micros))


@register.filter
def fee_of(micros: int | None) -> int | None:
    return None if micros is None else money.platform_fee(int(micros))


@register.simple_tag
def fee_pct() -> str:
    return f"{money.PLATFORM_FEE_BPS / 100:g}%"
