"""Dual-mode auth (issue 16, item 2): the job verify takes the buyer's API key or a $0.001
x402 payment, as the seeds' `the402Fetch` sends it; the dispute takes the balance or x402;
a request without credentials is answered so a client knows what to send. The buyer's
optional rating and feedback on a verify reach reputation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from marketplace.deals.jobs import job_update
from marketplace.models import Job, ServiceType
from payments.ledger_check import ledger_problems
from payments.models import Participant, X402Payment
from payments.services import api_key_issue
from reputation.models import Signal
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory
from tests.marketplace.deals.threads.helpers import accepted_human, update
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db
S = Job.Status


def post(api: Client, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    data = json.dumps(body) if body is not None else ""
    return api.post(path, data, content_type="application/json", **headers)


def completed_human_job(**buyer: Any) -> Job:
    job = JobFactory(
        service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE),
        buyer=ParticipantFactory(type=Participant.Type.AGENT, **buyer),
    )
    return job_update(job=job, provider=job.provider, status="completed", deliverables={"a": 1})


def test_verify_without_credentials_is_a_402_naming_the_accepted_headers(
    api: Client, chain: Any
) -> None:
    job = completed_human_job()
    response = post(api, f"/v1/jobs/{job.public_id}/verify")
    assert response.status_code == 402
    assert response.json()["accepts"][0]["maxAmountRequired"] == "1000"
    challenge = response["WWW-Authenticate"]
    for header in ("X-API-Key", "X-BALANCE-AUTH", "PAYMENT-SIGNATURE", "X-PAYMENT"):
        assert f'header="{header}"' in challenge


def test_the_buyers_wallet_verifies_a_job_by_x402_as_the_seeds_do(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    job = completed_human_job(wallet=payer.address)
    path = f"/v1/jobs/{job.public_id}/verify"
    header, value = payment_header(post(api, path), payer, version=2)
    response = post(api, path, **{header: value})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == S.RELEASED
    assert X402Payment.objects.get(payer=payer.address.lower()).amount == 1_000
    assert ledger_problems() == []


def test_another_wallet_cannot_verify_by_x402_and_is_not_charged(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    job = completed_human_job()
    path = f"/v1/jobs/{job.public_id}/verify"
    header, value = payment_header(post(api, path), payer, version=2)
    assert post(api, path, **{header: value}).status_code == 403
    assert not X402Payment.objects.filter(payer=payer.address.lower()).exists()
    job.refresh_from_db()
    assert job.status == S.COMPLETED


def test_the_buyer_disputes_a_job_by_x402(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    job = JobFactory(buyer=ParticipantFactory(type=Participant.Type.AGENT, wallet=payer.address))
    path = f"/v1/jobs/{job.public_id}/dispute"
    body = {"reason": "Nothing has happened for days."}
    challenge = post(api, path, body)
    assert challenge.status_code == 402
    assert 'header="X-BALANCE-AUTH"' in challenge["WWW-Authenticate"]
    assert 'header="X-API-Key"' not in challenge["WWW-Authenticate"]
    header, value = payment_header(challenge, payer, version=1)
    response = post(api, path, body, **{header: value})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == S.DISPUTED
    assert X402Payment.objects.get(payer=payer.address.lower()).amount == 5_000


def test_a_key_only_endpoint_without_a_key_is_401_api_key_required(api: Client) -> None:
    response = api.get("/v1/jobs")
    assert (response.status_code, response.json()["code"]) == (401, "api_key_required")
    assert response["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'


def test_a_wrong_key_stays_invalid_api_key(api: Client) -> None:
    response = api.get("/v1/jobs", HTTP_X_API_KEY="sk_nope")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


# --- the buyer's rating ---------------------------------------------------------------------
def test_a_rating_and_feedback_on_verify_reach_reputation(api: Client) -> None:
    job = completed_human_job()
    key = api_key_issue(participant=job.buyer)
    response = post(
        api,
        f"/v1/jobs/{job.public_id}/verify",
        {"rating": 2, "feedback": "Late, but usable."},
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 200, response.content
    signal = Signal.objects.get(reference=job.public_id)
    assert (signal.rating, signal.feedback, signal.quality) == (2, "Late, but usable.", 0.25)


@pytest.mark.parametrize("body", [{"rating": 6}, {"rating": "5"}, {"feedback": "x" * 2001}])
def test_a_bad_rating_is_a_400_and_verifies_nothing(api: Client, body: dict[str, Any]) -> None:
    job = completed_human_job()
    key = api_key_issue(participant=job.buyer)
    response = post(api, f"/v1/jobs/{job.public_id}/verify", body, HTTP_X_API_KEY=key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_rating")
    job.refresh_from_db()
    assert job.status == S.COMPLETED


def test_a_thread_verify_passes_its_rating_to_reputation(api: Client) -> None:
    deal = accepted_human(api)
    update(api, deal, "completed", deliverables={"a": 1})
    response = post(api, deal.path("/verify"), {"rating": 5}, **deal.buyer.by_key)
    assert response.status_code == 200, response.content
    assert Signal.objects.get(reference=deal.job.public_id).rating == 5
