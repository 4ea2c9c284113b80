"""`GET /v1/provider/earnings`: settled, held and pending, with recent settlements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payments.escrow import escrow_open_ledger, escrow_release
from payments.ledger import WORLD, Posting, agent_account, ledger_record
from payments.services import api_key_issue
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def test_earnings_need_an_api_key(api: Client) -> None:
    assert api.get("/v1/provider/earnings").status_code == 401


def test_a_new_provider_has_earned_nothing(api: Client) -> None:
    key = api_key_issue(participant=ParticipantFactory())
    body = api.get("/v1/provider/earnings", HTTP_X_API_KEY=key).json()
    assert body == {
        "earnings": {"settled_usd": 0, "held_usd": 0, "pending_usd": 0},
        "recent_settlements": [],
    }


def test_held_and_pending_earnings_follow_the_escrows(api: Client) -> None:
    provider, agent = ParticipantFactory(), ParticipantFactory(type="agent")
    ledger_record(
        kind="deposit",
        idempotency_key="d",
        postings=[Posting(WORLD, agent_account(agent), 10_000_000)],
    )
    expires = timezone.now() + timedelta(days=1)
    released = escrow_open_ledger(
        payer=agent,
        payee=provider,
        amount=2_000_000,
        fee=100_000,
        expires_at=expires,
        reference="job_a",
    )
    escrow_open_ledger(
        payer=agent,
        payee=provider,
        amount=3_000_000,
        fee=150_000,
        expires_at=expires,
        reference="job_b",
    )
    escrow_release(released)
    key = api_key_issue(participant=provider)
    body = api.get("/v1/provider/earnings", HTTP_X_API_KEY=key).json()
    assert body["earnings"] == {"settled_usd": 0, "held_usd": 3, "pending_usd": 2}
    settlement = body["recent_settlements"][0]
    assert (settlement["settlement_id"], settlement["job_id"], settlement["status"]) == (
        released.public_id,
        "job_a",
        "payable",
    )
    assert settlement["provider_amount_usd"] == 2
