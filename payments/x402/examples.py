"""An example value for a JSON Schema, for the bazaar discovery extension's `info`.

Discovery wants a concrete request body (and response) next to their schemas: a facilitator
validates `info` against `schema`, and a catalog shows the example to agents. Services only
give us schemas, so an example is derived: the schema's own `example`/`examples`/`default`/
`const`/`enum` where it has one, else a plain value of its type within its bounds. A derived
example that does not validate against its schema (a `pattern`, a `not`, ...) is dropped
rather than published wrong: `example_for` then returns `NO_EXAMPLE`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError

NO_EXAMPLE: Any = object()
_MAX_DEPTH = 6
_STRING_FORMATS = {
    "uri": "https://example.com",
    "url": "https://example.com",
    "email": "agent@example.com",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def example_for(schema: Any) -> Any:
    """A value valid under `schema`, or `NO_EXAMPLE` when none could be derived."""
    if not isinstance(schema, dict):
        return NO_EXAMPLE
    value = _example(schema, 0)
    if value is NO_EXAMPLE:
        return NO_EXAMPLE
    try:
        validator = validators.validator_for(schema)(schema)
        return value if validator.is_valid(value) else NO_EXAMPLE
    except (SchemaError, TypeError, ValueError):
        return NO_EXAMPLE


def _example(schema: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return NO_EXAMPLE
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return options[0]
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _example(options[0], depth + 1)
    parts = schema.get("allOf")
    if isinstance(parts, list) and parts:
        # Shallow merge: good enough for the common "base object + extra fields"; a merge
        # that is wrong fails the final validation and is dropped.
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            if isinstance(part, dict):
                merged = {**part, **merged}
        return _example(merged, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    return _BY_TYPE.get(str(kind), _unknown)(schema, depth)


def _object(schema: dict[str, Any], depth: int) -> Any:
    properties = schema.get("properties")
    result: dict[str, Any] = {}
    if isinstance(properties, dict):
        for name, subschema in properties.items():
            value = _example(subschema, depth + 1)
            if value is not NO_EXAMPLE:
                result[str(name)] = value
    return result


def _array(schema: dict[str, Any], depth: int) -> Any:
    item = _example(schema.get("items", {}), depth + 1)
    minimum = int(schema.get("minItems", 0) or 0)
    if item is NO_EXAMPLE:
        return [] if minimum == 0 else NO_EXAMPLE
    return [item] * max(minimum, 1)


def _string(schema: dict[str, Any], depth: int) -> Any:
    text = _STRING_FORMATS.get(str(schema.get("format", "")), "example")
    minimum = int(schema.get("minLength", 0) or 0)
    maximum = schema.get("maxLength")
    if len(text) < minimum:
        text = text + "x" * (minimum - len(text))
    if isinstance(maximum, int) and len(text) > maximum:
        text = text[:maximum]
    return text


def _number(schema: dict[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    integer = kind == "integer" or (isinstance(kind, list) and "integer" in kind)
    low = schema.get("minimum")
    if low is None and isinstance(schema.get("exclusiveMinimum"), int | float):
        low = schema["exclusiveMinimum"] + 1
    high = schema.get("maximum")
    if high is None and isinstance(schema.get("exclusiveMaximum"), int | float):
        high = schema["exclusiveMaximum"] - 1
    value = low if low is not None else (min(high, 1) if high is not None else 1)
    if integer and not isinstance(value, int):
        value = math.ceil(value)  # a bound of 2.5 on an integer: 3 (an example, not money)
    return value


def _boolean(schema: dict[str, Any], depth: int) -> Any:
    return False


def _null(schema: dict[str, Any], depth: int) -> Any:
    return None


def _unknown(schema: dict[str, Any], depth: int) -> Any:
    return NO_EXAMPLE


_BY_TYPE: dict[str, Callable[[dict[str, Any], int], Any]] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": _number,
    "number": _number,
    "boolean": _boolean,
    "null": _null,
}
