"""Escrowed purchases: x402 pays The402Escrow; a balance holds a ledger escrow."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from payments.chain.escrow_state import escrow_record
from payments.chain.usdc import balance_of
from payments.escrow import escrow_open_ledger, escrow_open_on_chain
from payments.gate import Paid, PaidView, Price
from payments.ledger import WORLD, Posting, agent_account, ledger_record
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from payments.reconcile import reconcile
from payments.services import api_key_issue
from tests.factories import ParticipantFactory
from tests.payments.x402_client import payment_header

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
AMOUNT, FEE = 1_000_000, 50_000


class BuyJob(PaidView):
    """Test endpoint: an escrowed $1.05 job for the provider named in the path."""

    endpoint_price = "$1.05"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(AMOUNT + FEE, "A job", None, escrow=True)

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        payee = Participant.objects.get(public_id=kwargs["provider"])
        terms = {
            "payer": paid.participant,
            "payee": payee,
            "amount": AMOUNT,
            "fee": FEE,
            "expires_at": timezone.now() + timedelta(days=2),
            "reference": "job_x",
        }
        if paid.payment is not None:
            escrow = escrow_open_on_chain(payment=paid.payment, **terms)
        else:
            escrow = escrow_open_ledger(**terms)
        return Response({"escrow": escrow.public_id, "status": escrow.status}, status=201)

    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


urlpatterns = [path("buy/<str:provider>", BuyJob.as_view())]


def test_the_402_asks_to_pay_the_escrow_contract(api: Client, chain: Any) -> None:
    provider = ParticipantFactory()
    accepts = api.post(f"/buy/{provider.public_id}").json()["accepts"][0]
    assert (accepts["payTo"], accepts["maxAmountRequired"]) == (chain.escrow, "1050000")


def test_an_x402_purchase_is_funded_into_escrow_right_after_settlement(
    api: Client,
    chain: Any,
    funded_payer: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    provider = ParticipantFactory()
    payer = funded_payer(5_000_000)
    url = f"/buy/{provider.public_id}"
    header, value = payment_header(api.post(url), payer, version=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, **{header: value})
    assert response.status_code == 201, response.content
    escrow = Escrow.objects.get(public_id=response.json()["escrow"])
    assert escrow.status == "held"
    assert escrow_record(escrow.chain_id)["state"] == "Held"
    assert balance_of(token=chain.usdc, address=payer.address) == 5_000_000 - AMOUNT - FEE
    assert reconcile() == []
    assert ledger_problems() == []


def test_a_balance_purchase_holds_a_ledger_escrow(api: Client, chain: Any) -> None:
    provider, agent = ParticipantFactory(), ParticipantFactory(type="agent")
    ledger_record(
        kind="deposit",
        idempotency_key="d",
        postings=[Posting(WORLD, agent_account(agent), 2_000_000)],
    )
    key = api_key_issue(participant=agent)
    response = api.post(f"/buy/{provider.public_id}", HTTP_X_BALANCE_AUTH=key)
    assert response.status_code == 201
    escrow = Escrow.objects.get(public_id=response.json()["escrow"])
    assert (escrow.backing, escrow.status) == ("ledger", "held")
    assert ledger_balance(agent_account(agent)) == 2_000_000 - AMOUNT - FEE
    assert ledger_problems() == []


def test_a_short_balance_for_an_escrow_falls_through_to_the_402(api: Client, chain: Any) -> None:
    provider, agent = ParticipantFactory(), ParticipantFactory(type="agent")
    key = api_key_issue(participant=agent)
    response = api.post(
        f"/buy/{provider.public_id}",
        json.dumps({}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=key,
    )
    assert (response.status_code, response.json()["code"]) == (402, "insufficient_balance")
    assert not Escrow.objects.exists()
