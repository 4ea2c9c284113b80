"""At most 10 referrals a day per referrer: the 11th sign-up succeeds, unattributed, and
its answer says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from referrals.models import Referral
from tests.referrals.helpers import referrer, signup

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


def test_the_eleventh_signup_of_the_day_is_not_attributed() -> None:
    ref, _, code = referrer()
    with time_machine.travel(DAY, tick=False):
        answers = [signup(code=code).referral for _ in range(10)]
        eleventh = signup(code=code)

    assert all(a is not None and a["attributed"] for a in answers)
    assert eleventh.created and eleventh.api_key
    assert eleventh.referral is not None
    assert (eleventh.referral["attributed"], eleventh.referral["reason"]) == (False, "daily_limit")
    assert Referral.objects.filter(referrer=ref).count() == 10
    assert not Referral.objects.filter(referee=eleventh.participant).exists()


def test_the_limit_starts_again_the_next_day() -> None:
    ref, _, code = referrer()
    with time_machine.travel(DAY, tick=False):
        for _ in range(10):
            signup(code=code)
    with time_machine.travel(DAY + timedelta(days=1), tick=False):
        answer = signup(code=code).referral

    assert answer is not None and answer["attributed"]
    assert Referral.objects.filter(referrer=ref).count() == 11
