"""The service-writing rules in `marketplace.services`."""

from __future__ import annotations

import pytest

from marketplace.catalog.services import parse_price, resolve_service_type
from tests.factories import ServiceFactory
from the402.lib.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fulfillment", "service_type"),
    [
        ("instant", "data_api"),
        ("automated", "automated_service"),
        ("human", "human_service"),
        ("async", "automated_service"),
    ],
)
def test_the_service_type_is_inferred_from_the_fulfillment_type(
    fulfillment: str, service_type: str
) -> None:
    assert resolve_service_type(service_type=None, fulfillment_type=fulfillment) == service_type


def test_a_fulfillment_type_that_contradicts_the_service_type_is_refused() -> None:
    with pytest.raises(ApplicationError) as error:
        resolve_service_type(service_type="data_api", fulfillment_type="human")
    assert error.value.code == "inconsistent_service_type"


def test_the_fulfillment_type_follows_the_service_type() -> None:
    assert (
        ServiceFactory(service_type="human_service", price_micros=30_000_000).fulfillment_type
        == "human"
    )


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("25.00", (25_000_000, None)),
        ("$25.00", (25_000_000, None)),
        ({"fixed": "$49.00"}, (49_000_000, None)),
        ({"min": "25", "max": "$500"}, (25_000_000, 500_000_000)),
    ],
)
def test_prices_are_accepted_in_every_documented_form(value: object, parsed: tuple) -> None:
    assert parse_price(value) == parsed


@pytest.mark.parametrize("value", ["free", {"min": "9", "max": "3"}, {"amount": "3"}, "1.0000001"])
def test_a_bad_price_is_refused(value: object) -> None:
    with pytest.raises(ApplicationError) as error:
        parse_price(value)
    assert error.value.code == "invalid_price"


def test_an_invalid_json_schema_is_refused() -> None:
    with pytest.raises(ApplicationError) as error:
        ServiceFactory(input_schema={"type": "object", "properties": {"a": {"type": 12}}})
    assert error.value.code == "invalid_schema"
    assert "input_schema" in error.value.message


def test_a_flat_field_map_becomes_an_object_schema() -> None:
    service = ServiceFactory(deliverable_schema={"report_url": {"type": "string"}})
    assert service.deliverable_schema == {
        "type": "object",
        "properties": {"report_url": {"type": "string"}},
    }


def test_a_fixed_price_service_cannot_have_a_range() -> None:
    with pytest.raises(ApplicationError):
        ServiceFactory(price_max_micros=9_000_000)


def test_a_quoted_service_with_one_figure_gets_a_range_of_that_price() -> None:
    service = ServiceFactory(
        service_type="human_service", pricing_model="quote_required", price_micros=40_000_000
    )
    assert (service.price_micros, service.price_max_micros) == (40_000_000, 40_000_000)


def test_creating_a_service_gives_the_provider_a_reputation_row() -> None:
    service = ServiceFactory()
    assert service.provider.reputation_scores.filter(scope="provider").count() == 1
