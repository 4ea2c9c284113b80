"""A purchase's and an accept's 402 carry the service's schemas in the x402 bazaar
extension (read with the official SDK's helpers): an example brief valid under its
input_schema, and its deliverable_schema as the output."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from django.test import Client
from x402.extensions.bazaar import validate_discovery_extension
from x402.http.utils import decode_payment_required_header

from marketplace.models import ServiceType
from tests.factories import ServiceFactory
from tests.marketplace.deals.threads.helpers import negotiated

pytestmark = pytest.mark.django_db

INPUT = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
OUTPUT = {"type": "object", "properties": {"forecast": {"type": "string"}}}


def bazaar(response: Any) -> dict[str, Any]:
    assert response.status_code == 402, response.content
    required = decode_payment_required_header(response["PAYMENT-REQUIRED"])
    assert required.extensions is not None
    return required.extensions["bazaar"]


def test_a_purchase_402_has_an_example_brief_and_the_deliverable_schema(
    api: Client, chain: Any
) -> None:
    service = ServiceFactory(
        input_schema=INPUT,
        deliverable_schema=OUTPUT,
        service_type=ServiceType.AUTOMATED_SERVICE,
    )
    response = api.post(
        f"/v1/services/{service.public_id}/purchase", {}, content_type="application/json"
    )
    extension = bazaar(response)
    assert validate_discovery_extension(extension).valid
    jsonschema.validate(extension["info"]["input"]["body"], INPUT)
    assert "city" in extension["info"]["input"]["body"]
    jsonschema.validate(extension["info"]["output"]["example"], OUTPUT)
    assert response.json()["accepts"][0]["outputSchema"]["output"] == OUTPUT


def test_an_accept_402_describes_its_deliverable(api: Client, chain: Any) -> None:
    deal = negotiated(api)
    deal_service = deal.thread.service
    deal_service.deliverable_schema = OUTPUT
    deal_service.save(update_fields=["deliverable_schema"])
    response = api.post(deal.path("/accept"), {}, content_type="application/json")
    assert response.json()["accepts"][0]["outputSchema"]["output"] == OUTPUT
    assert validate_discovery_extension(bazaar(response)).valid
