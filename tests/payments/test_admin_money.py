"""The admin over money: read-only ledgers, escrows, payouts, calls; retrying a chain call."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from payments.chain.usdc import balance_of, mint
from payments.chain_calls import chain_call_enqueue
from payments.models import ChainCall, ReconciliationIssue

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "ledgeraccount",
        "ledgertransaction",
        "x402payment",
        "escrow",
        "chaincall",
        "payout",
        "reconciliationissue",
        "apikey",
        "idempotencyrecord",
    ],
)
def test_money_lists_load(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/payments/{model}/").status_code == 200


@pytest.mark.parametrize("model", ["ledgeraccount", "ledgertransaction", "escrow", "payout"])
def test_money_cannot_be_added_by_hand(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/payments/{model}/add/").status_code == 403


def test_retrying_a_call_from_the_admin_runs_it(
    admin_client: Client, chain: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mint(token=chain.usdc, to=chain.treasury, amount=3_000_000)
    wallet = "0x" + "cd" * 20
    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet run
        call = chain_call_enqueue(
            kind="payout",
            idempotency_key="admin-retry",
            contract=chain.usdc,
            function="transfer",
            args=[wallet, 1_000_000],
            signer="treasury",
        )
    response = admin_client.post(
        "/admin/payments/chaincall/",
        {"action": "retry_now", "_selected_action": [call.pk]},
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.status == ChainCall.Status.CONFIRMED
    assert balance_of(token=chain.usdc, address=wallet) == 1_000_000


def test_issues_can_be_marked_resolved(admin_client: Client) -> None:
    issue = ReconciliationIssue.objects.create(kind="k", subject="s", detail="d", action="a")
    admin_client.post(
        "/admin/payments/reconciliationissue/",
        {"action": "mark_resolved", "_selected_action": [issue.pk]},
    )
    issue.refresh_from_db()
    assert issue.resolved_at is not None
    assert issue.resolved_by == ReconciliationIssue.ResolvedBy.OPERATOR


def test_a_failed_payout_call_is_not_revived_from_the_admin(
    admin_client: Client, chain: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Its failure already returned the amount to the provider: running it again would pay
    twice."""
    mint(token=chain.usdc, to=chain.treasury, amount=3_000_000)
    wallet = "0x" + "ce" * 20
    with django_capture_on_commit_callbacks(execute=False):
        call = chain_call_enqueue(
            kind="payout",
            idempotency_key="admin-failed",
            contract=chain.usdc,
            function="transfer",
            args=[wallet, 1_000_000],
            signer="treasury",
        )
    ChainCall.objects.filter(pk=call.pk).update(status=ChainCall.Status.FAILED)
    admin_client.post(
        "/admin/payments/chaincall/", {"action": "retry_now", "_selected_action": [call.pk]}
    )
    call.refresh_from_db()
    assert call.status == ChainCall.Status.FAILED
    assert balance_of(token=chain.usdc, address=wallet) == 0
