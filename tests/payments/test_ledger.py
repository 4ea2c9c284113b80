"""The double-entry ledger (payments.ledger) and its checker."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from payments.ledger import (
    PLATFORM_FEES,
    WORLD,
    InsufficientFunds,
    Posting,
    agent_account,
    balance_of,
    ledger_record,
)
from payments.ledger_check import ledger_problems
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction
from tests.factories import ParticipantFactory
from the402.lib.errors import Conflict

pytestmark = pytest.mark.django_db


def deposit(code: str, amount: int, key: str) -> LedgerTransaction:
    return ledger_record(
        kind="deposit", idempotency_key=key, postings=[Posting(WORLD, code, amount)]
    )


def test_a_transaction_moves_money_and_sums_to_zero() -> None:
    agent = agent_account(ParticipantFactory())
    record = deposit(agent, 5_000_000, "d1")
    assert balance_of(agent) == 5_000_000
    assert balance_of(WORLD) == -5_000_000
    assert sum(record.entries.values_list("amount", flat=True)) == 0
    assert ledger_problems() == []


def test_an_account_cannot_go_below_zero_and_nothing_is_written() -> None:
    agent = agent_account(ParticipantFactory())
    deposit(agent, 1_000, "d1")
    with pytest.raises(InsufficientFunds):
        ledger_record(
            kind="charge", idempotency_key="c1", postings=[Posting(agent, PLATFORM_FEES, 1_001)]
        )
    assert balance_of(agent) == 1_000
    assert not LedgerTransaction.objects.filter(idempotency_key="c1").exists()
    assert ledger_problems() == []


@pytest.mark.parametrize(
    "account",
    [PLATFORM_FEES, "provider:{participant}", "payouts:in_flight", "escrow:esc_0123456789abcdef"],
)
def test_no_account_but_the_chain_may_go_below_zero(account: str) -> None:
    code = account.format(participant=ParticipantFactory().public_id)
    deposit(code, 1_000, "d1")
    with pytest.raises(InsufficientFunds):
        ledger_record(kind="x", idempotency_key="x1", postings=[Posting(code, WORLD, 1_001)])
    assert balance_of(code) == 1_000


def test_a_short_balance_says_which_account_and_how_much_was_asked() -> None:
    agent = agent_account(ParticipantFactory())
    with pytest.raises(InsufficientFunds) as refused:
        ledger_record(kind="x", idempotency_key="x1", postings=[Posting(agent, WORLD, 1_001)])
    assert refused.value.message == f"{agent} holds less than 1001 µUSDC"
    assert refused.value.status_code == 402


def test_a_long_description_is_kept_to_its_first_300_characters() -> None:
    record = ledger_record(
        kind="deposit",
        idempotency_key="d1",
        postings=[Posting(WORLD, PLATFORM_FEES, 5)],
        description="x" * 299 + "yz",
    )
    record.refresh_from_db()
    assert record.description == "x" * 299 + "y"


def test_a_transaction_without_a_reference_stores_an_empty_one() -> None:
    deposit(PLATFORM_FEES, 5, "d1")
    assert LedgerTransaction.objects.get(idempotency_key="d1").reference == {}


def test_the_same_key_records_once() -> None:
    agent = agent_account(ParticipantFactory())
    first = deposit(agent, 1_000, "same")
    again = deposit(agent, 1_000, "same")
    assert first.pk == again.pk
    assert balance_of(agent) == 1_000


def test_the_same_key_with_other_amounts_is_a_conflict() -> None:
    agent = agent_account(ParticipantFactory())
    deposit(agent, 1_000, "same")
    with pytest.raises(Conflict):
        deposit(agent, 2_000, "same")


def test_postings_must_move_a_positive_amount_between_two_accounts() -> None:
    agent = agent_account(ParticipantFactory())
    with pytest.raises(ValueError):
        ledger_record(kind="x", idempotency_key="k", postings=[Posting(WORLD, agent, 0)])
    with pytest.raises(ValueError):
        ledger_record(kind="x", idempotency_key="k", postings=[Posting(WORLD, agent, -5)])
    with pytest.raises(ValueError):
        ledger_record(kind="x", idempotency_key="k", postings=[Posting(agent, agent, 5)])


def test_postings_that_cancel_out_are_refused_and_nothing_is_written() -> None:
    agent = agent_account(ParticipantFactory())
    there_and_back = [Posting(WORLD, agent, 5), Posting(agent, WORLD, 5)]
    with pytest.raises(ValueError):
        ledger_record(kind="x", idempotency_key="k", postings=there_and_back)
    assert not LedgerTransaction.objects.exists()


def test_a_multi_leg_transaction_nets_per_account() -> None:
    agent = agent_account(ParticipantFactory())
    deposit(agent, 10_000, "d")
    record = ledger_record(
        kind="purchase",
        idempotency_key="p",
        postings=[Posting(agent, PLATFORM_FEES, 500), Posting(agent, PLATFORM_FEES, 250)],
    )
    assert dict(record.entries.values_list("account__code", "amount")) == {
        agent: -750,
        PLATFORM_FEES: 750,
    }


def test_the_checker_finds_a_cached_balance_that_drifted() -> None:
    agent = agent_account(ParticipantFactory())
    deposit(agent, 1_000, "d")
    LedgerAccount.objects.filter(code=agent).update(balance=999)
    assert ledger_problems() == [f"account {agent} caches 999 but its entries sum to 1000"]


def test_the_checker_finds_an_unbalanced_transaction() -> None:
    agent = agent_account(ParticipantFactory())
    record = deposit(agent, 1_000, "d")
    LedgerEntry.objects.filter(transaction=record, amount__gt=0).update(amount=1_001)
    LedgerAccount.objects.filter(code=agent).update(balance=1_001)
    assert f"transaction {record.pk} entries sum to 1, not 0" in ledger_problems()


def test_ledger_check_command_passes_on_a_sound_ledger(capsys: pytest.CaptureFixture) -> None:
    deposit(agent_account(ParticipantFactory()), 1_000, "d")
    call_command("ledger_check", skip_chain=True)
    assert "ledger_check: ok" in capsys.readouterr().out
