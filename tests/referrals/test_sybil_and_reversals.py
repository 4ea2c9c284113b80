"""A confirmed sybil flag on either party revokes the rewards not yet withdrawn and stops new
ones; a transaction refunded after it was final reverses its rewards not yet withdrawn."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from payments.ledger import PLATFORM_FEES, balance_of
from payments.ledger_check import ledger_problems
from referrals import sources
from referrals.models import Referral, ReferralReward
from referrals.services import earnings_withdraw, referral_account, rewards_scan
from reputation.models import SybilFlag
from reputation.sybil import flag_decide, flag_raise
from tests.provider_server import Provider
from tests.referrals.helpers import FEE, buy, buyer, data_api, referrer

pytestmark = pytest.mark.django_db
REWARD = FEE * 20 // 100


def confirm(*participants: object) -> None:
    flag = flag_raise(
        kind=SybilFlag.Kind.SAME_ACCOUNT,
        party_ids=[p.pk for p in participants],  # type: ignore[attr-defined]
        evidence={"summary": "one person"},
    )
    assert flag is not None
    operator = get_user_model().objects.create_user("operator")
    flag_decide(flag=flag, to=SybilFlag.Status.CONFIRMED, user=operator, note="same person")


def test_a_confirmed_flag_on_the_referee_revokes_its_credited_rewards(
    api: Client, provider_server: Provider
) -> None:
    ref, _, code = referrer()
    agent, key = buyer(code)
    service = data_api(provider_server)
    buy(api, service, key, times=3)
    rewards_scan()
    fees = balance_of(PLATFORM_FEES)

    confirm(agent, service.provider)

    assert set(ReferralReward.objects.values_list("status", flat=True)) == {"revoked"}
    assert Referral.objects.get(referee=agent).status == "revoked"
    assert balance_of(referral_account(ref)) == 0
    assert balance_of(PLATFORM_FEES) == fees + 3 * REWARD
    assert ledger_problems() == []


def test_a_revoked_referral_earns_nothing_new(api: Client, provider_server: Provider) -> None:
    ref, _, code = referrer()
    agent, key = buyer(code)
    service = data_api(provider_server)
    buy(api, service, key, times=3)
    rewards_scan()
    confirm(ref, service.provider)  # the referrer is flagged

    buy(api, service, key)
    rewards_scan()

    assert ReferralReward.objects.count() == 3
    assert balance_of(referral_account(ref)) == 0
    assert ledger_problems() == []


def test_a_flag_leaves_withdrawn_rewards_paid(api: Client, provider_server: Provider) -> None:
    ref, _, code = referrer()
    agent, key = buyer(code)
    service = data_api(provider_server)
    buy(api, service, key, times=3)
    rewards_scan()
    earnings_withdraw(ref)

    confirm(agent, service.provider)

    assert set(ReferralReward.objects.values_list("status", flat=True)) == {"withdrawn"}
    assert ledger_problems() == []


class Refunds:
    """A source whose transactions were refunded after they were final (as a product sale
    or a subscription period refunded will be)."""

    name = "refund_test"

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def final_since(self, since: datetime) -> Iterable[sources.FeeEvent]:
        return ()

    def reversed_since(self, since: datetime) -> Iterable[sources.Reversal]:
        return [sources.Reversal(key=key, reason="refunded") for key in self.keys]


@pytest.fixture
def refunds() -> Iterator[Refunds]:
    source = Refunds([])
    sources.register_source(source)
    yield source
    sources.SOURCES.pop(source.name, None)


def test_a_refund_after_the_credit_reverses_the_reward(
    api: Client, provider_server: Provider, refunds: Refunds
) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    bought = buy(api, data_api(provider_server), key, times=3)
    rewards_scan()
    refunds.keys.append(f"job:{bought[0]['job_id']}")

    report = rewards_scan()

    assert report.reversed == 1
    reward = ReferralReward.objects.get(reference=bought[0]["job_id"])
    assert (reward.status, reward.reason) == ("reversed", "refunded")
    assert balance_of(referral_account(ref)) == 2 * REWARD
    assert ledger_problems() == []


def test_a_refund_after_the_withdrawal_leaves_the_reward_paid(
    api: Client, provider_server: Provider, refunds: Refunds
) -> None:
    ref, _, code = referrer()
    _, key = buyer(code)
    bought = buy(api, data_api(provider_server), key, times=3)
    rewards_scan()
    earnings_withdraw(ref)
    refunds.keys.append(f"job:{bought[0]['job_id']}")

    assert rewards_scan().reversed == 0
    assert ReferralReward.objects.get(reference=bought[0]["job_id"]).status == "withdrawn"
    assert ledger_problems() == []
