"""Example values derived from JSON Schemas for the bazaar extension's `info`."""

from __future__ import annotations

import jsonschema
import pytest

from payments.x402.examples import NO_EXAMPLE, example_for

SCHEMAS = [
    {
        "type": "object",
        "required": ["url", "depth"],
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "depth": {"type": "integer", "minimum": 3, "maximum": 9},
            "ratio": {"type": "number", "exclusiveMinimum": 0.5},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 2},
            "note": {"type": ["string", "null"], "minLength": 10},
        },
    },
    {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    {"allOf": [{"type": "object", "properties": {"q": {"type": "string"}}}], "required": ["q"]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_derived_example_is_valid_under_its_schema(schema: dict) -> None:
    example = example_for(schema)

    assert example is not NO_EXAMPLE
    jsonschema.validate(example, schema)


def test_the_schemas_own_example_wins() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "example": "Lisbon"}}}

    assert example_for(schema) == {"city": "Lisbon"}


def test_no_example_rather_than_a_wrong_one() -> None:
    assert example_for({"type": "string", "pattern": "^[0-9]+$"}) is NO_EXAMPLE
