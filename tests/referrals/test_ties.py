"""Codes and ties: `ref_<participant id>`, an unknown code or one's own is a 400 before any
payment, a tie is made once and forever, same-person signals are not attributed."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.hooks import ReferralClaim, referral_check
from referrals.models import Referral
from reputation.models import SybilFlag
from reputation.sybil import flag_raise
from tests.referrals.helpers import referrer, signup
from the402.lib.errors import ApplicationError

pytestmark = pytest.mark.django_db


def test_the_code_is_ref_and_the_participant_id(api: Client) -> None:
    ref, key, _ = referrer()
    response = api.get("/v1/referrals/code", HTTP_X_API_KEY=key)
    assert response.status_code == 200
    assert response.json()["code"] == f"ref_{ref.public_id}"


def test_the_code_needs_an_api_key(api: Client) -> None:
    assert api.get("/v1/referrals/code").status_code == 401


@pytest.mark.parametrize("code", ["ref_p_0000000000000000", "p_x", "ref_", "hello"])
def test_an_unknown_code_is_refused_before_payment(code: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        referral_check(ReferralClaim(code=code, wallet=None))
    assert (refused.value.status_code, refused.value.code) == (400, "unknown_referral_code")


def test_ones_own_code_is_refused_before_payment() -> None:
    ref, _, code = referrer()
    with pytest.raises(ApplicationError) as refused:
        referral_check(ReferralClaim(code=code, wallet=ref.wallet.lower()))
    assert refused.value.code == "self_referral"


def test_a_signup_with_a_code_is_tied_to_its_referrer() -> None:
    ref, _, code = referrer()
    registration = signup(code=code)
    assert registration.referral is not None and registration.referral["attributed"]
    referral = Referral.objects.get(referee=registration.participant)
    assert (referral.referrer, referral.status, referral.side) == (ref, "waiting", "agent")


def test_a_tie_is_made_once_and_forever() -> None:
    first, _, first_code = referrer()
    _, _, other_code = referrer()
    registration = signup(code=first_code)
    again = signup(code=other_code, wallet=registration.participant.wallet)

    assert again.referral is not None and again.referral["reason"] == "already_referred"
    assert not again.referral["attributed"]
    assert Referral.objects.get(referee=registration.participant).referrer == first


def test_a_same_person_signal_is_not_attributed() -> None:
    ref, _, code = referrer()
    known = signup()  # known to the sybil detector as one account with the referrer
    flag_raise(
        kind=SybilFlag.Kind.SAME_ACCOUNT,
        party_ids=[ref.pk, known.participant.pk],
        evidence={"summary": "one dashboard account"},
    )
    again = signup(code=code, wallet=known.participant.wallet)

    assert again.referral is not None
    assert (again.referral["attributed"], again.referral["reason"]) == (False, "self_referral")
    assert not Referral.objects.exists()
