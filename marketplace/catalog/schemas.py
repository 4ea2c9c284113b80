"""JSON Schemas that providers attach to services (`input_schema`, `deliverable_schema`)."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from the402.lib.errors import ApplicationError

MAX_SCHEMA_BYTES = 64 * 1024
_SCHEMA_KEYWORDS = {"type", "properties", "$schema", "$ref", "anyOf", "oneOf", "allOf", "enum"}


def normalize_schema(schema: Any, *, field: str) -> dict[str, Any] | None:
    """Validate a provider's schema and return it as a JSON Schema object.

    Accepts a full JSON Schema, or the flat `{"field": {"type": ..., "description": ...}}`
    map many providers write, which becomes an object schema with those properties.
    """
    if schema is None or schema == {}:
        return None
    if not isinstance(schema, dict):
        raise ApplicationError(f"{field} must be a JSON object", code="invalid_schema")
    if len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise ApplicationError(f"{field} is larger than 64 KB", code="invalid_schema")
    if not _SCHEMA_KEYWORDS & schema.keys() and all(
        isinstance(v, dict) and "type" in v for v in schema.values()
    ):
        schema = {"type": "object", "properties": schema}
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.path)
        where = f" at {path}" if path else ""
        raise ApplicationError(
            f"{field} is not a valid JSON Schema{where}: {exc.message}", code="invalid_schema"
        ) from None
    return schema


def schema_error(schema: dict[str, Any] | None, value: Any) -> str | None:
    """Why `value` does not match `schema` (the first problem, with its path), or None."""
    if not schema:
        return None
    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    if error is None:
        return None
    path = "/".join(str(p) for p in error.path)
    return f"{error.message} (at {path})" if path else error.message


def contains_nul(value: Any) -> bool:
    """Whether a parsed JSON value holds a NUL character anywhere (PostgreSQL's jsonb
    refuses them). Iterative: the value may nest deeply."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
