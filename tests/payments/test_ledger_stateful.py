"""A stateful property test of the money model: Hypothesis runs random sequences of
deposits, balance charges, retried charges, escrow holds and their endings (release, refund,
split, and a second ending that must be refused) against the real ledger, and after every
step compares every balance with a plain Python model and runs the ledger's own invariant
checks. A poor man's simulation test: seeded, repeatable, shrunk to the shortest failing
sequence when something breaks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from payments.escrow import (
    InvalidTransition,
    escrow_open_ledger,
    escrow_refund,
    escrow_release,
    escrow_split,
)
from payments.ledger import (
    PLATFORM_FEES,
    InsufficientFunds,
    Posting,
    agent_account,
    balance_of,
    ledger_record,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from tests.factories import ParticipantFactory, deposit
from the402.lib.ids import new_public_id
from the402.lib.money import platform_fee

pytestmark = pytest.mark.django_db

amounts = st.integers(min_value=1, max_value=50_000_000)


class MoneyMachine(RuleBasedStateMachine):
    agents = Bundle("agents")
    providers = Bundle("providers")
    charges = Bundle("charges")
    open_escrows = Bundle("open_escrows")
    closed_escrows = Bundle("closed_escrows")

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at its end, so every example starts
        # from the same empty ledger and the invariant checks stay small.
        self.example = transaction.atomic()
        self.example.__enter__()
        self.model: dict[str, int] = {}
        self.fees_before = balance_of(PLATFORM_FEES)

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.example.__exit__(None, None, None)

    def _add(self, code: str, delta: int) -> None:
        self.model[code] = self.model.get(code, 0) + delta

    def _affordable(self, data: st.DataObject, agent: Participant) -> int:
        """Mostly an amount the agent can pay (so the happy paths run), sometimes more."""
        held = self.model.get(agent_account(agent), 0)
        within = st.integers(min_value=1, max_value=max(1, held * 95 // 100))
        return data.draw(st.one_of(within, within, within, amounts), label="amount")

    # --- participants and balances ----------------------------------------------------
    @initialize(target=agents, amount=amounts)
    def first_agent(self, amount: int) -> Participant:
        return self.new_agent(amount)

    @initialize(target=providers)
    def first_provider(self) -> Participant:
        return self.new_provider()

    @rule(target=agents, amount=amounts)
    def new_agent(self, amount: int) -> Participant:
        """An agent arrives with a first deposit."""
        agent = ParticipantFactory(type=Participant.Type.AGENT)
        self.deposit(agent, amount)
        return agent

    @rule(target=providers)
    def new_provider(self) -> Participant:
        return ParticipantFactory(type=Participant.Type.PROVIDER)

    @rule(agent=agents, amount=amounts)
    def deposit(self, agent: Participant, amount: int) -> None:
        deposit(agent, amount)
        self._add(agent_account(agent), amount)

    @rule(target=charges, agent=agents, data=st.data())
    def charge(self, agent: Participant, data: st.DataObject) -> Any:
        """A balance-paid request: charged in full, or refused with nothing written."""
        amount = self._affordable(data, agent)
        key, code = new_public_id("chg"), agent_account(agent)
        try:
            ledger_record(
                kind="charge", idempotency_key=key, postings=[Posting(code, PLATFORM_FEES, amount)]
            )
        except InsufficientFunds:
            assert self.model.get(code, 0) < amount
            return multiple()  # nothing was charged
        self._add(code, -amount)
        self._add(PLATFORM_FEES, amount)
        return (key, code, amount)

    @rule(charge=charges)
    def retry_a_charge(self, charge: tuple[str, str, int]) -> None:
        """The same idempotency key again moves nothing more."""
        key, code, amount = charge
        ledger_record(
            kind="charge", idempotency_key=key, postings=[Posting(code, PLATFORM_FEES, amount)]
        )

    # --- escrows ------------------------------------------------------------------------
    @rule(target=open_escrows, agent=agents, provider=providers, data=st.data())
    def hold(self, agent: Participant, provider: Participant, data: st.DataObject) -> Any:
        amount = self._affordable(data, agent)
        fee = platform_fee(amount)
        code = agent_account(agent)
        try:
            escrow = escrow_open_ledger(
                payer=agent,
                payee=provider,
                amount=amount,
                fee=fee,
                expires_at=timezone.now() + timedelta(days=1),
            )
        except InsufficientFunds:
            assert self.model.get(code, 0) < amount + fee
            return multiple()  # no escrow to add
        self._add(code, -(amount + fee))
        self._add(f"escrow:{escrow.public_id}", amount + fee)
        return escrow

    def _settled(self, escrow: Escrow, to_provider: int, to_fees: int, to_agent: int) -> None:
        self._add(f"escrow:{escrow.public_id}", -(to_provider + to_fees + to_agent))
        self._add(provider_account(escrow.payee), to_provider)
        self._add(PLATFORM_FEES, to_fees)
        self._add(agent_account(escrow.payer), to_agent)

    @rule(target=closed_escrows, escrow=consumes(open_escrows))
    def release(self, escrow: Escrow) -> Escrow:
        escrow_release(escrow)
        self._settled(escrow, escrow.amount, escrow.fee, 0)
        return escrow

    @rule(target=closed_escrows, escrow=consumes(open_escrows))
    def refund(self, escrow: Escrow) -> Escrow:
        escrow_refund(escrow)
        self._settled(escrow, 0, 0, escrow.total)
        return escrow

    @rule(target=closed_escrows, escrow=consumes(open_escrows), data=st.data())
    def split(self, escrow: Escrow, data: st.DataObject) -> Escrow:
        payee_amount = data.draw(st.integers(min_value=0, max_value=escrow.amount))
        escrow_split(escrow, payee_amount=payee_amount)
        # The fee follows the provider's share, rounded down; the agent gets the rest.
        fee_part = escrow.fee * payee_amount // escrow.amount
        self._settled(escrow, payee_amount, fee_part, escrow.total - payee_amount - fee_part)
        return escrow

    @rule(escrow=closed_escrows, ending=st.sampled_from(["release", "refund", "split"]))
    def end_again(self, escrow: Escrow, ending: str) -> None:
        """A finished escrow cannot be finished again (and nothing moves)."""
        with pytest.raises(InvalidTransition):
            if ending == "split":
                escrow_split(escrow, payee_amount=0)
            else:
                {"release": escrow_release, "refund": escrow_refund}[ending](escrow)

    # --- after every step -----------------------------------------------------------------
    @invariant()
    def balances_match_the_model(self) -> None:
        for code, expected in self.model.items():
            base = self.fees_before if code == PLATFORM_FEES else 0
            assert balance_of(code) == base + expected, code

    @invariant()
    def the_ledger_is_sound(self) -> None:
        assert ledger_problems() == []


def test_random_sequences_of_money_movements_keep_the_ledger_exact() -> None:
    run_state_machine_as_test(
        MoneyMachine, settings=settings(max_examples=50, stateful_step_count=30, deadline=None)
    )
