"""`referral_code` in `POST /v1/provider/onboard`, as in `POST /v1/register`: an unknown code
is a 400 before any payment; a known one ties the new provider to its referrer and the
answer says so."""

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


def onboard(api: Client, body: dict[str, Any], payer: Any) -> Any:
    def post(**headers: str) -> Any:
        return api.post(
            "/v1/provider/onboard", json.dumps(body), content_type="application/json", **headers
        )

    header, value = payment_header(post(), payer, version=2)
    return post(**{header: value})


def test_an_unknown_code_is_a_400_and_nothing_is_paid(
    api: Client, chain: Any, funded_payer: Callable[[int], Any]
) -> None:
    payer = funded_payer(1_000_000)
    response = onboard(api, {"name": "P", "referral_code": "ref_p_0123456789abcdef"}, payer)
    assert (response.status_code, response.json()["code"]) == (400, "unknown_referral_code")
    assert not X402Payment.objects.exists()
    assert not Participant.objects.filter(wallet__iexact=payer.address).exists()


def test_a_known_code_ties_the_provider_to_its_referrer(
    api: Client, chain: Any, funded_payer: Callable[[int], Any]
) -> None:
    ref, _, code = referrer()
    payer = funded_payer(1_000_000)
    response = onboard(api, {"name": "P", "referral_code": code}, payer)
    assert response.status_code == 201, response.content
    assert response.json()["referral"]["attributed"] is True
    assert response.json()["referral"]["code"] == code
    referral = Referral.objects.get(referee__public_id=response.json()["participant_id"])
    assert referral.referrer == ref


def test_onboarding_without_a_code_has_no_referral(
    api: Client, chain: Any, funded_payer: Callable[[int], Any]
) -> None:
    response = onboard(api, {"name": "P"}, funded_payer(1_000_000))
    assert response.status_code == 201, response.content
    assert "referral" not in response.json()
