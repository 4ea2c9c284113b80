"""Escrowed purchases count once their escrow is released: the reward is a share of the fee
the platform received."""

from __future__ import annotations

import pytest

from marketplace.models import ServiceType
from payments.escrow import escrow_release
from payments.ledger_check import ledger_problems
from referrals.models import ReferralReward
from referrals.services import rewards_scan
from tests.factories import JobFactory, ServiceFactory
from tests.referrals.helpers import FEE, PRICE, buyer, referrer

pytestmark = pytest.mark.django_db


def test_a_released_escrow_rewards_the_buyers_referrer() -> None:
    ref, _, code = referrer()
    agent, _ = buyer(code)
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE, price_micros=PRICE)
    jobs = [JobFactory(service=service, buyer=agent) for _ in range(3)]
    rewards_scan()
    assert ReferralReward.objects.count() == 0  # held in escrow: not final yet
    for job in jobs:
        escrow_release(job.escrow)

    rewards_scan()

    rewards = ReferralReward.objects.filter(referrer=ref)
    assert {(r.source, r.fee_micros, r.amount_micros, r.status) for r in rewards} == {
        ("purchase", FEE, FEE * 20 // 100, "credited")
    }
    assert {r.reference for r in rewards} == {job.public_id for job in jobs}
    assert ledger_problems() == []
