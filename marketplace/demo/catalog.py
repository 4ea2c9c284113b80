"""The demo catalog (`catalog.json`): its format, and the loader that validates it.

Ten providers with distinct specialities (SEO, WordPress, security, data APIs, content and
translation, design, devops, finance and legal research, web3 audits, marketing) and their
listings across all three service types and both pricing models. `manage.py seed_demo` lists
them on devnet; the demo provider (`marketplace.demo.provider`) answers for them.

The file is one object: `{"providers": [...], "services": [...]}`.

* A provider has `key` (a short slug services refer to), `name`, `description`, `wallet`
  (`"0x"` + 40 lowercase hex characters, a made-up placeholder, unique) and `type`
  (`"provider"` or `"both"`).
* A service has `provider` (a provider's `key`), `name` (at most 100 characters, unique),
  `description`, `category` (a lowercase slug), `service_type` (`"data_api"`,
  `"automated_service"` or `"human_service"`) and optionally `pricing_model` (`"fixed"`, the
  default, or `"quote_required"`), `tags` (strings), `estimated_delivery`, `input_schema` and
  `deliverable_schema` (JSON Schema, draft 2020-12, objects).
* Prices are the provider's price in US dollars as decimal strings (`"25.00"`, at most 6
  decimals): a fixed-price service sets `price`, a quote-required one `price_min` and
  `price_max` instead.

Anything else (an unknown field, a wrong type, a price written as a number) stops the load with
a `CatalogError` naming the entry and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypedDict, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from marketplace.models import PricingModel, ServiceType
from payments.models import Participant
from the402.lib import money

CATALOG_PATH = Path(__file__).with_name("catalog.json")


class DemoProvider(TypedDict):
    key: str
    name: str
    description: str
    wallet: str
    type: str


class DemoService(TypedDict, total=False):
    provider: str
    name: str
    description: str
    category: str
    tags: list[str]
    service_type: str
    pricing_model: str
    price: str
    price_min: str
    price_max: str
    estimated_delivery: str
    input_schema: dict[str, Any]
    deliverable_schema: dict[str, Any]


@dataclass(frozen=True)
class Catalog:
    providers: list[DemoProvider]
    services: list[DemoService]


class CatalogError(ValueError):
    """The demo catalog is malformed; the message names the entry and the field."""


_PROVIDER_FIELDS: dict[str, type] = {
    "key": str,
    "name": str,
    "description": str,
    "wallet": str,
    "type": str,
}
_SERVICE_FIELDS: dict[str, type] = {
    "provider": str,
    "name": str,
    "description": str,
    "category": str,
    "tags": list,
    "service_type": str,
    "pricing_model": str,
    "price": object,  # checked by _prices: a decimal string
    "price_min": object,
    "price_max": object,
    "estimated_delivery": str,
    "input_schema": dict,
    "deliverable_schema": dict,
}
_SERVICE_REQUIRED = ("provider", "name", "description", "category", "service_type")
_PRICE_FIELDS = {
    PricingModel.FIXED: ("price",),
    PricingModel.QUOTE_REQUIRED: ("price_min", "price_max"),
}
_PROVIDER_TYPES = (Participant.Type.PROVIDER.value, Participant.Type.BOTH.value)
_JSON_TYPES: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_WALLET = re.compile(r"^0x[0-9a-f]{40}$")
_PRICE = re.compile(r"^\d{1,12}(\.\d{1,6})?$")
_MAX_NAME = 100


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    """Read and validate a demo catalog file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise CatalogError(f"{path.name}: not valid JSON: {exc}") from None
    return parse_catalog(data, source=path.name)


@cache
def demo_catalog() -> Catalog:
    """The bundled demo catalog, validated once per process."""
    return load_catalog()


def parse_catalog(data: Any, *, source: str = "catalog.json") -> Catalog:
    """Validate a parsed demo catalog; raise `CatalogError` naming the first bad entry."""
    if not isinstance(data, dict) or set(data) != {"providers", "services"}:
        raise CatalogError(f'{source}: must be an object with "providers" and "services" only')
    for part in ("providers", "services"):
        if not isinstance(data[part], list):
            raise CatalogError(f"{source}: {part} must be a list")
    providers = [
        _provider(entry, f"{source}: providers[{i}]") for i, entry in enumerate(data["providers"])
    ]
    _unique(providers, "key", source, "providers")
    _unique(providers, "wallet", source, "providers")
    keys = {provider["key"] for provider in providers}
    services = [
        _service(entry, _where(f"{source}: services[{i}]", entry), keys)
        for i, entry in enumerate(data["services"])
    ]
    _unique(services, "name", source, "services")
    return Catalog(providers=providers, services=services)


def _where(prefix: str, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"{prefix} ({name!r})" if isinstance(name, str) else prefix


def _fields(entry: Any, where: str, allowed: dict[str, type], required: tuple[str, ...]) -> None:
    """Check an entry's shape: an object, no unknown field, required fields, field types."""
    if not isinstance(entry, dict):
        raise CatalogError(f"{where}: must be an object")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise CatalogError(f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(allowed)})")
    for field in required:
        if field not in entry:
            raise CatalogError(f"{where}: {field} is required")
    for field, value in entry.items():
        kind = allowed[field]
        if not isinstance(value, kind):
            raise CatalogError(
                f"{where}: {field} must be {_JSON_TYPES[kind]}, not {json.dumps(value)}"
            )
        if field in required and isinstance(value, str) and not value.strip():
            raise CatalogError(f"{where}: {field} must not be empty")


def _provider(entry: Any, where: str) -> DemoProvider:
    where = _where(where, entry)
    _fields(entry, where, _PROVIDER_FIELDS, tuple(_PROVIDER_FIELDS))
    if not _SLUG.match(entry["key"]):
        raise CatalogError(f"{where}: key must be a lowercase slug, not {entry['key']!r}")
    if not _WALLET.match(entry["wallet"]):
        raise CatalogError(f'{where}: wallet must be "0x" and 40 lowercase hex characters')
    if entry["type"] not in _PROVIDER_TYPES:
        raise CatalogError(f"{where}: type must be one of {', '.join(_PROVIDER_TYPES)}")
    return cast(DemoProvider, entry)


def _service(entry: Any, where: str, provider_keys: set[str]) -> DemoService:
    _fields(entry, where, _SERVICE_FIELDS, _SERVICE_REQUIRED)
    if entry["provider"] not in provider_keys:
        raise CatalogError(f"{where}: provider {entry['provider']!r} is not a provider's key")
    if len(entry["name"]) > _MAX_NAME:
        raise CatalogError(f"{where}: name is longer than {_MAX_NAME} characters")
    if not _SLUG.match(entry["category"]):
        raise CatalogError(f"{where}: category must be a lowercase slug")
    if not all(isinstance(tag, str) for tag in entry.get("tags", [])):
        raise CatalogError(f"{where}: tags must be a list of strings")
    if entry["service_type"] not in ServiceType.values:
        raise CatalogError(
            f"{where}: service_type must be one of {', '.join(ServiceType.values)}, "
            f"not {entry['service_type']!r}"
        )
    _prices(entry, where)
    for field in ("input_schema", "deliverable_schema"):
        if field in entry:
            _schema(entry[field], f"{where}: {field}")
    return cast(DemoService, entry)


def _prices(entry: dict[str, Any], where: str) -> None:
    model = entry.get("pricing_model", PricingModel.FIXED)
    if model not in PricingModel.values:
        raise CatalogError(
            f"{where}: pricing_model must be one of {', '.join(PricingModel.values)}, not {model!r}"
        )
    expected = _PRICE_FIELDS[PricingModel(model)]
    if any(field not in entry for field in expected):
        raise CatalogError(f"{where}: a {model} service needs {' and '.join(expected)}")
    for field in ("price", "price_min", "price_max"):
        if field not in expected and field in entry:
            raise CatalogError(f"{where}: {field} is not for a {model} service")
    for field in expected:
        value = entry[field]
        if not (isinstance(value, str) and _PRICE.match(value)):
            raise CatalogError(
                f'{where}: {field} must be a decimal string of US dollars such as "25.00" '
                f"(at most 6 decimals), not {json.dumps(value)}"
            )
    if model == PricingModel.QUOTE_REQUIRED and money.parse_usd(
        entry["price_max"]
    ) < money.parse_usd(entry["price_min"]):
        raise CatalogError(f"{where}: price_max is below price_min")


def _schema(schema: dict[str, Any], where: str) -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(part) for part in exc.path)
        raise CatalogError(
            f"{where} is not a valid JSON Schema{f' at {path}' if path else ''}: {exc.message}"
        ) from None


def _unique(entries: list[Any], field: str, source: str, part: str) -> None:
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry[field] in seen:
            raise CatalogError(
                f"{source}: {part}[{i}] ({entry['name']!r}): {field} {entry[field]!r} "
                "is already used"
            )
        seen.add(entry[field])
