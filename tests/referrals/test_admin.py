"""Admin: referral links and rewards, revoked through the service."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from payments.ledger import balance_of
from payments.ledger_check import ledger_problems
from referrals.models import ReferralReward
from referrals.services import referral_account, rewards_scan
from tests.provider_server import Provider
from tests.referrals.helpers import FEE, buy, buyer, data_api, referrer

pytestmark = pytest.mark.django_db


def test_an_operator_revokes_a_credited_reward(api: Client, provider_server: Provider) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    buy(api, data_api(provider_server), key, times=3)
    rewards_scan()
    reward = ReferralReward.objects.first()
    assert reward is not None
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))

    response = admin.post(
        "/admin/referrals/referralreward/",
        {"action": "revoke", "_selected_action": [reward.pk]},
    )

    assert response.status_code == 302
    reward.refresh_from_db()
    assert reward.status == "revoked"
    assert balance_of(referral_account(ref)) == 2 * FEE * 20 // 100
    assert ledger_problems() == []


def test_the_admin_pages_list_referrals_and_rewards(api: Client) -> None:
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@example.com", "pw"))
    assert admin.get("/admin/referrals/referral/").status_code == 200
    assert admin.get("/admin/referrals/referralreward/").status_code == 200
