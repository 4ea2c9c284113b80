"""`PaidView.accepts_api_key`: "API key, or a $0.001 x402 payment from the owning wallet"."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from payments.gate import Paid, PaidView, Price
from payments.ledger import PLATFORM_FEES
from payments.services import api_key_issue
from tests.factories import ParticipantFactory
from tests.payments.x402_client import payment_header

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class WhoAmI(PaidView):
    """Test endpoint: says who called and how it was paid."""

    endpoint_price = "$0.001"
    accepts_api_key = True

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(1_000, "Who am I", PLATFORM_FEES)

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        return Response({"participant": paid.participant.public_id, "method": paid.method})

    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


urlpatterns = [path("whoami", WhoAmI.as_view())]


def test_an_api_key_is_served_free(api: Client, chain: Any) -> None:
    participant = ParticipantFactory()
    key = api_key_issue(participant=participant)
    response = api.post("/whoami", "{}", content_type="application/json", HTTP_X_API_KEY=key)
    assert response.json() == {"participant": participant.public_id, "method": "api_key"}


def test_a_bad_api_key_is_a_401_not_a_402(api: Client, chain: Any) -> None:
    response = api.post("/whoami", "{}", content_type="application/json", HTTP_X_API_KEY="sk_bad")
    assert response.status_code == 401


def test_without_a_key_the_wallet_pays_a_thousandth(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    challenge = api.post("/whoami", "{}", content_type="application/json")
    assert challenge.json()["accepts"][0]["maxAmountRequired"] == "1000"
    header, value = payment_header(challenge, payer, version=2)
    response = api.post(
        "/whoami", json.dumps({}), content_type="application/json", **{header: value}
    )
    assert response.json()["method"] == "x402"
