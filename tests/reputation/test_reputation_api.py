"""`GET /v1/reputation/:wallet` ($0.005) and `POST /v1/reputation/batch` ($0.02)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from payments.ledger import WORLD, Posting, agent_account, ledger_record
from payments.services import api_key_issue
from reputation.models import ReputationScore
from reputation.scoring import tier
from reputation.services import record_job_end
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer_key() -> str:
    buyer = ParticipantFactory()
    ledger_record(
        kind="deposit",
        idempotency_key="d",
        postings=[Posting(WORLD, agent_account(buyer), 1_000_000)],
    )
    return api_key_issue(participant=buyer)


def test_a_lookup_costs_half_a_cent(api: Client, chain: Any) -> None:
    response = api.get(f"/v1/reputation/{'0x' + 'ab' * 20}")
    assert response.status_code == 402
    assert response.json()["accepts"][0]["maxAmountRequired"] == "5000"


def test_an_unknown_wallet_has_the_new_provider_defaults(api: Client, buyer_key: str) -> None:
    body = api.get(f"/v1/reputation/{'0x' + 'ab' * 20}", HTTP_X_BALANCE_AUTH=buyer_key).json()
    assert (body["composite"], body["confidence"], body["is_new_provider"]) == (75.0, 0.0, True)
    assert body["participant_id"] is None
    assert api.get("/v1/balance", HTTP_X_API_KEY=buyer_key).json()["balance_usd"] == 0.995


def test_stored_scores_are_reported_with_service_types(api: Client, buyer_key: str) -> None:
    provider = ParticipantFactory()
    ReputationScore.objects.create(participant=provider, composite=91.5, confidence=0.8)
    ReputationScore.objects.create(
        participant=provider, scope="service_type", scope_key="data_api", composite=88.0
    )
    body = api.get(f"/v1/reputation/{provider.wallet}", HTTP_X_BALANCE_AUTH=buyer_key).json()
    assert (body["composite"], body["is_new_provider"]) == (91.5, False)
    assert body["by_service_type"] == {"data_api": 88.0}


def test_a_malformed_wallet_is_a_400_and_not_charged(api: Client, buyer_key: str) -> None:
    response = api.get("/v1/reputation/not-a-wallet", HTTP_X_BALANCE_AUTH=buyer_key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_wallet")
    assert api.get("/v1/balance", HTTP_X_API_KEY=buyer_key).json()["balance_usd"] == 1


def test_a_batch_answers_each_wallet_once(api: Client, buyer_key: str) -> None:
    wallets = ["0x" + "ab" * 20, "0x" + "cd" * 20, "0x" + "AB" * 20]
    response = api.post(
        "/v1/reputation/batch",
        json.dumps({"wallets": wallets}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=buyer_key,
    )
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2
    assert api.get("/v1/balance", HTTP_X_API_KEY=buyer_key).json()["balance_usd"] == 0.98


def test_a_batch_of_more_than_twenty_is_a_400(api: Client, buyer_key: str) -> None:
    wallets = ["0x" + f"{i:040x}" for i in range(21)]
    response = api.post(
        "/v1/reputation/batch",
        json.dumps({"wallets": wallets}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=buyer_key,
    )
    assert response.status_code == 400


def test_a_lookup_carries_tier_counts_and_each_service_type(api: Client, buyer_key: str) -> None:
    provider, agent = ParticipantFactory(), ParticipantFactory()
    for n, outcome in enumerate(["released", "released", "failed"]):
        record_job_end(
            provider_id=provider.pk,
            buyer_id=agent.pk,
            service_public_id="svc_00000000000000aa",
            service_type="data_api",
            job_public_id=f"job_{n:016x}",
            outcome=outcome,
        )
    body = api.get(f"/v1/reputation/{provider.wallet}", HTTP_X_BALANCE_AUTH=buyer_key).json()
    assert set(body) == {
        "wallet",
        "participant_id",
        "composite",
        "tier",
        "dimensions",
        "confidence",
        "is_new",
        "is_new_provider",
        "total_jobs",
        "completed_jobs",
        "completion_rate",
        "by_service_type",
        "service_types",
    }
    assert (body["total_jobs"], body["completed_jobs"], body["completion_rate"]) == (3, 2, 66.7)
    assert body["tier"] == tier(body["composite"])
    assert body["by_service_type"] == {"data_api": body["service_types"]["data_api"]["composite"]}
    assert body["service_types"]["data_api"]["total_jobs"] == 3
    assert body["dimensions"]["reliability"] < 75 < body["dimensions"]["quality"]
