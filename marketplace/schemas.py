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
