"""`referral_code` in `POST /v1/register`, paid with x402 on the devnet chain: an unknown code
is a 400 before the payment settles; a known one is recorded and the answer says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from payments.models import Participant, X402Payment
from referrals.models import Referral
from tests.payments.x402_client import payment_header
from tests.referrals.helpers import referrer

pytestmark = pytest.mark.django_db


def register(api: Client, body: dict[str, Any], payer: Any) -> Any:
    def post(**headers: str) -> Any:
        return api.post(
            "/v1/register", json.dumps(body), content_type="application/json", **headers
        )

    header, value = payment_header(post(), payer, version=1)
    return post(**{header: value})


def test_an_unknown_code_is_a_400_and_nothing_is_paid(
    api: Client, chain: Any, funded_payer: Callable[[int], Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = register(api, {"name": "A", "referral_code": "ref_p_0123456789abcdef"}, payer)

    assert (response.status_code, response.json()["code"]) == (400, "unknown_referral_code")
    assert not X402Payment.objects.exists()
    assert not Participant.objects.filter(wallet__iexact=payer.address).exists()


def test_a_known_code_is_recorded_and_the_answer_says_so(
    api: Client, chain: Any, funded_payer: Callable[[int], Any]
) -> None:
    ref, _, code = referrer()
    payer = funded_payer(1_000_000)
    response = register(api, {"name": "A", "referral_code": code}, payer)

    assert response.status_code == 201, response.content
    assert response.json()["referral"]["attributed"] is True
    referral = Referral.objects.get(referee__public_id=response.json()["participant_id"])
    assert referral.referrer == ref
