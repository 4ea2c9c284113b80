"""Provider payouts on a real anvil: the USDC leaves the treasury once, the ledger follows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django_q.models import Schedule
from web3 import Web3

from payments.chain.client import clear_caches, treasury_relayer
from payments.chain.devnet import ANVIL_DEV_KEYS, Deployment
from payments.chain.usdc import balance_of, mint
from payments.ledger import WORLD, Posting, ledger_record, provider_account
from payments.ledger import balance_of as ledger_balance
from payments.ledger_check import ledger_problems
from payments.models import ChainCall, Participant, Payout
from payments.payouts import PAYOUTS_IN_FLIGHT, payout_retry, payouts_run
from tests.conftest import ONE_USDC
from tests.factories import ParticipantFactory
from the402.lib.errors import Conflict

pytestmark = pytest.mark.django_db

THRESHOLD = 10 * ONE_USDC
CaptureOnCommit = Callable[..., Any]


@pytest.fixture(autouse=True)
def _ledger_stays_sound(db: None) -> Iterator[None]:
    yield
    assert ledger_problems() == []


def _owed(provider: Participant, amount: int, *, chain: Deployment | None) -> None:
    """Credit ``provider``'s payable and, with ``chain``, mint the USDC behind it to the
    treasury (as a payment would have brought it)."""
    ledger_record(
        kind="test",
        idempotency_key=f"owed:{provider.public_id}:{amount}",
        postings=[Posting(WORLD, provider_account(provider), amount)],
    )
    if chain is not None:
        mint(token=chain.usdc, to=chain.treasury, amount=amount)


def _usdc(chain: Deployment, address: str) -> int:
    return balance_of(token=chain.usdc, address=address)


def test_a_provider_owed_the_threshold_is_paid_from_the_treasury(
    chain: Deployment, w3: Web3, settings: Any, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    settings.PAYOUT_THRESHOLD = THRESHOLD
    provider = ParticipantFactory()
    _owed(provider, 12 * ONE_USDC, chain=chain)
    treasury = _usdc(chain, chain.treasury)

    with django_capture_on_commit_callbacks(execute=True):
        payouts = payouts_run()

    assert [p.provider_id for p in payouts] == [provider.pk]
    payout = Payout.objects.get()
    assert payout.public_id.startswith("po_")
    assert (payout.status, payout.amount, payout.wallet) == (
        Payout.Status.CONFIRMED,
        12 * ONE_USDC,
        provider.wallet,
    )
    assert payout.confirmed_at is not None
    call = payout.chain_call
    assert call is not None and call.status == ChainCall.Status.CONFIRMED
    assert w3.eth.get_transaction_receipt(call.tx_hash)["from"] == chain.treasury  # type: ignore[arg-type]
    assert _usdc(chain, provider.wallet) == 12 * ONE_USDC
    assert _usdc(chain, chain.treasury) == treasury - 12 * ONE_USDC
    assert ledger_balance(provider_account(provider)) == 0
    assert ledger_balance(PAYOUTS_IN_FLIGHT) == 0


def test_a_provider_owed_less_than_the_threshold_is_not_paid(chain: Deployment) -> None:
    provider = ParticipantFactory()
    _owed(provider, THRESHOLD - 1, chain=None)

    assert payouts_run(threshold=THRESHOLD) == []

    assert not Payout.objects.exists()
    assert ledger_balance(provider_account(provider)) == THRESHOLD - 1


@pytest.mark.django_db(transaction=True)
def test_two_payout_workers_at_once_pay_each_provider_once(chain: Deployment) -> None:
    amounts = [11 * ONE_USDC, 12 * ONE_USDC, 13 * ONE_USDC]
    providers = [ParticipantFactory() for _ in amounts]
    for provider, amount in zip(providers, amounts, strict=True):
        _owed(provider, amount, chain=chain)
    treasury = _usdc(chain, chain.treasury)
    start = threading.Barrier(2)

    def worker(_: int) -> int:
        try:
            start.wait()
            return len(payouts_run(threshold=THRESHOLD))  # transfers run inline after commit
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        made = list(pool.map(worker, range(2)))

    assert sum(made) == len(providers)
    for provider, amount in zip(providers, amounts, strict=True):
        payout = Payout.objects.get(provider=provider)
        assert (payout.status, payout.amount) == (Payout.Status.CONFIRMED, amount)
        assert _usdc(chain, provider.wallet) == amount
        assert ledger_balance(provider_account(provider)) == 0
    assert ledger_balance(PAYOUTS_IN_FLIGHT) == 0
    assert _usdc(chain, chain.treasury) == treasury - sum(amounts)


def test_a_failed_transfer_is_owed_again_and_paid_by_the_next_run(
    chain: Deployment, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    provider = ParticipantFactory()
    amount = _usdc(chain, chain.treasury) + THRESHOLD  # more than the treasury holds
    _owed(provider, amount, chain=None)

    with django_capture_on_commit_callbacks(execute=True):
        [failed] = payouts_run(threshold=THRESHOLD)

    failed.refresh_from_db()
    assert failed.status == Payout.Status.FAILED
    assert failed.chain_call is not None
    assert "exceeds balance" in failed.chain_call.last_error
    assert ledger_balance(provider_account(provider)) == amount
    assert ledger_balance(PAYOUTS_IN_FLIGHT) == 0
    assert _usdc(chain, provider.wallet) == 0

    mint(token=chain.usdc, to=chain.treasury, amount=amount)
    with django_capture_on_commit_callbacks(execute=True):
        [paid] = payouts_run(threshold=THRESHOLD)

    paid.refresh_from_db()
    assert paid.pk != failed.pk and paid.status == Payout.Status.CONFIRMED
    assert _usdc(chain, provider.wallet) == amount
    assert ledger_balance(provider_account(provider)) == 0
    assert ledger_balance(PAYOUTS_IN_FLIGHT) == 0


def test_retrying_a_pending_payout_completes_it(
    chain: Deployment,
    w3: Web3,
    settings: Any,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    settings.SETTLE_TIMEOUT = 0.3
    provider = ParticipantFactory()
    _owed(provider, THRESHOLD, chain=chain)
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            [payout] = payouts_run(threshold=THRESHOLD)
        payout.refresh_from_db()
        assert payout.status == Payout.Status.PENDING
        assert ledger_balance(PAYOUTS_IN_FLIGHT) == THRESHOLD
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    with django_capture_on_commit_callbacks(execute=True):
        payout_retry(payout)

    payout.refresh_from_db()
    assert payout.status == Payout.Status.CONFIRMED
    assert _usdc(chain, provider.wallet) == THRESHOLD
    assert ledger_balance(PAYOUTS_IN_FLIGHT) == 0
    with pytest.raises(Conflict):
        payout_retry(payout)


def test_off_devnet_payouts_need_the_treasury_key(chain: Deployment, settings: Any) -> None:
    settings.NETWORK = "base-sepolia"
    settings.RELAYER_KEY = ANVIL_DEV_KEYS[0]
    settings.PAY_TO = chain.treasury
    settings.TREASURY_KEY = ""
    clear_caches()
    with pytest.raises(ImproperlyConfigured, match="THE402_TREASURY_KEY"):
        treasury_relayer()

    settings.TREASURY_KEY = ANVIL_DEV_KEYS[2]  # not the treasury's key
    clear_caches()
    with pytest.raises(ImproperlyConfigured, match="payouts must be sent from the treasury"):
        treasury_relayer()

    settings.TREASURY_KEY = ANVIL_DEV_KEYS[1]
    clear_caches()
    assert treasury_relayer().address == chain.treasury


def test_setup_schedules_installs_the_hourly_payouts() -> None:
    call_command("setup_schedules", verbosity=0)
    schedule = Schedule.objects.get(name="payouts")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "payments.tasks.run_payouts",
        Schedule.MINUTES,
        60,
    )
