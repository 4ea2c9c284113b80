"""Sybil detection: rings, a provider funding its buyer on the real chain, and what
confirming or dismissing a flag does to reputation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from eth_account.signers.local import LocalAccount

from marketplace.deals.jobs import job_update
from marketplace.models import Job, ServiceType
from payments.chain.usdc import settle_transfer_with_authorization
from payments.models import Participant
from reputation import sybil
from reputation.hooks import FlagConfirmed, on_flag_confirmed
from reputation.models import FundingCheck, ReputationScore, SybilFlag, SybilWhitelist
from reputation.services import record_job_end
from tests.conftest import ONE_USDC
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory
from the402.lib.errors import ApplicationError

pytestmark = pytest.mark.django_db
_jobs = iter(range(1, 1_000_000))


def trade(buyer: Participant, provider: Participant, times: int = 2) -> None:
    """`buyer` bought `times` $1 jobs from `provider`, all verified."""
    for _ in range(times):
        record_job_end(
            provider_id=provider.pk,
            buyer_id=buyer.pk,
            service_public_id=f"svc_{provider.pk:016x}",
            service_type="data_api",
            job_public_id=f"job_{next(_jobs):016x}",
            outcome="released",
            amount_micros=ONE_USDC,
        )


def jobs_counted(participant: Participant) -> int:
    return ReputationScore.objects.get(
        participant=participant, scope="provider", scope_key=""
    ).total_jobs


@pytest.fixture
def ring() -> list[Participant]:
    a, b, c = (ParticipantFactory(type=Participant.Type.BOTH) for _ in range(3))
    trade(a, b)
    trade(b, c)
    trade(c, a)
    return [a, b, c]


@pytest.fixture
def operator() -> User:
    return User.objects.create_user("operator", password="pw", is_staff=True)


def test_cycles_of_two_to_four_wallets_are_found_once_each() -> None:
    edges = [(1, 2), (2, 1), (3, 4), (4, 5), (5, 3), (6, 7), (7, 8), (8, 9), (9, 6)]
    edges += [(10, 11), (11, 12), (12, 13), (13, 14), (14, 10)]  # five: too long
    assert sorted(sybil.find_cycles(edges)) == [(1, 2), (3, 4, 5), (6, 7, 8, 9)]


def test_a_ring_of_three_wallets_trading_is_flagged_and_stops_counting(
    ring: list[Participant],
) -> None:
    assert [jobs_counted(p) for p in ring] == [2, 2, 2]
    report = sybil.scan(check_chain=False)
    flag = SybilFlag.objects.get()
    assert report.flags == [flag.public_id]
    assert (flag.kind, flag.status) == ("circular", "open")
    assert set(flag.parties.all()) == set(ring)
    assert [edge["jobs"] for edge in flag.evidence["edges"]] == [2, 2, 2]
    assert set(flag.evidence["cycle"]) == {p.wallet for p in ring}
    assert [jobs_counted(p) for p in ring] == [0, 0, 0]


def test_a_ring_is_caught_when_the_job_closing_it_ends(
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, b, c = (ParticipantFactory(type=Participant.Type.BOTH) for _ in range(3))
    trade(a, b)
    trade(b, c)
    with django_capture_on_commit_callbacks(execute=True):
        trade(c, a)
    assert SybilFlag.objects.get().kind == "circular"


def test_occasional_trade_both_ways_is_not_a_ring() -> None:
    a, b = ParticipantFactory(), ParticipantFactory()
    trade(a, b, times=1)
    trade(b, a, times=1)
    assert sybil.scan(check_chain=False).flags == []


def test_new_trade_between_flagged_parties_does_not_count_while_open(
    ring: list[Participant],
) -> None:
    sybil.scan(check_chain=False)
    a, b, _ = ring
    trade(a, b)
    assert jobs_counted(b) == 0


def test_a_dismissed_flag_counts_the_jobs_again_and_whitelists_its_pairs(
    ring: list[Participant], operator: User
) -> None:
    sybil.scan(check_chain=False)
    flag = SybilFlag.objects.get()
    sybil.flag_decide(flag=flag, to="dismissed", user=operator, note="a real supply chain")
    flag.refresh_from_db()
    assert (flag.status, flag.decided_by, flag.note) == (
        "dismissed",
        operator,
        "a real supply chain",
    )
    assert flag.decided_at is not None
    assert [jobs_counted(p) for p in ring] == [2, 2, 2]
    assert SybilWhitelist.objects.count() == 3
    a, b, _ = ring
    trade(b, a)  # now a two-wallet cycle inside the cleared ring
    assert sybil.scan(check_chain=False).flags == []


def test_a_confirmed_flag_keeps_the_jobs_out_and_tells_the_apps_above(
    ring: list[Participant], operator: User
) -> None:
    sybil.scan(check_chain=False)
    flag = SybilFlag.objects.get()
    heard: list[FlagConfirmed] = []
    with on_flag_confirmed.installed(heard.append):
        sybil.flag_decide(flag=flag, to="confirmed", user=operator, note="same operator")
    assert [(e.flag_public_id, e.decided_by, set(e.wallets)) for e in heard] == [
        (flag.public_id, "operator", {p.wallet for p in ring})
    ]
    assert [jobs_counted(p) for p in ring] == [0, 0, 0]
    assert list(flag.transitions.values_list("from_status", "to_status", "actor")) == [
        ("", "open", None),
        ("open", "confirmed", operator.pk),
    ]


def test_a_handler_failing_undoes_the_confirmation(ring: list[Participant], operator: User) -> None:
    sybil.scan(check_chain=False)
    flag = SybilFlag.objects.get()

    def refuse(event: FlagConfirmed) -> None:
        raise RuntimeError("referrals unavailable")

    with on_flag_confirmed.installed(refuse), pytest.raises(RuntimeError):
        sybil.flag_decide(flag=flag, to="confirmed", user=operator, note="same operator")
    flag.refresh_from_db()
    assert flag.status == "open"


def test_a_decision_needs_a_note_and_a_dismissed_flag_stays_dismissed(
    ring: list[Participant], operator: User
) -> None:
    sybil.scan(check_chain=False)
    flag = SybilFlag.objects.get()
    with pytest.raises(ApplicationError):
        sybil.flag_decide(flag=flag, to="confirmed", user=operator, note="  ")
    sybil.flag_decide(flag=flag, to="dismissed", user=operator, note="fine")
    with pytest.raises(sybil.InvalidFlagTransition):
        sybil.flag_decide(flag=flag, to="confirmed", user=operator, note="changed my mind")


def test_a_provider_buying_its_own_service_through_a_wallet_it_funded(
    chain: Any,
    funded_payer: Callable[[int], LocalAccount],
    authorize: Callable[..., Any],
) -> None:
    provider_key, buyer_key = funded_payer(2 * ONE_USDC), funded_payer(0)
    authorization, signature = authorize(provider_key, buyer_key.address, ONE_USDC)
    funding = settle_transfer_with_authorization(
        token=chain.usdc, authorization=authorization, signature=signature
    )
    assert funding.status == "settled"
    provider = ParticipantFactory(wallet=provider_key.address)
    buyer = ParticipantFactory(wallet=buyer_key.address, type=Participant.Type.AGENT)
    service = ServiceFactory(provider=provider, service_type=ServiceType.AUTOMATED_SERVICE)
    job = JobFactory(service=service, buyer=buyer)
    job_update(job=job, provider=provider, status=Job.Status.COMPLETED, deliverables={})
    assert jobs_counted(provider) == 1

    report = sybil.scan()
    flag = SybilFlag.objects.get()
    assert report.flags == [flag.public_id]
    assert flag.kind == "funded_by_provider"
    assert [(t["tx"], t["amount_micros"]) for t in flag.evidence["transfers"]] == [
        (funding.tx_hash, ONE_USDC)
    ]
    assert flag.evidence["job_ids"] == [job.public_id]
    assert jobs_counted(provider) == 0


def test_the_funding_search_is_cached_and_continues_from_the_last_block(
    chain: Any, funded_payer: Callable[[int], LocalAccount]
) -> None:
    provider = ParticipantFactory(wallet=funded_payer(0).address)
    buyer = ParticipantFactory(wallet=funded_payer(0).address, type=Participant.Type.AGENT)
    trade(buyer, provider, times=1)
    assert sybil.scan().flags == []
    first = FundingCheck.objects.get(funder=provider, funded=buyer)
    assert first.transfers == []
    funded_payer(ONE_USDC)  # a new block
    sybil.scan()
    assert FundingCheck.objects.get(pk=first.pk).checked_through_block > first.checked_through_block


def test_without_a_chain_the_scan_says_it_did_not_check_funding() -> None:
    buyer, provider = ParticipantFactory(), ParticipantFactory()
    trade(buyer, provider, times=1)
    report = sybil.scan()
    assert (report.chain_checked, report.flags) == (False, [])
    assert not FundingCheck.objects.exists()
