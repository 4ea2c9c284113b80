"""The jobs API: who may read and act on a job, and what reading or disputing it costs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from marketplace.models import Job, ServiceType
from payments.ledger import agent_account, balance_of
from payments.ledger_check import ledger_problems
from payments.models import Participant, X402Payment
from payments.services import api_key_issue
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory, deposit
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db
S = Job.Status


def key(participant: Participant) -> str:
    return api_key_issue(participant=participant)


def post(api: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return api.post(path, json.dumps(body), content_type="application/json", **headers)


def test_the_list_holds_only_the_callers_jobs(api: Client) -> None:
    mine = JobFactory()
    JobFactory()
    stranger = ParticipantFactory(type=Participant.Type.AGENT)
    for who in (mine.buyer, mine.provider):
        body = api.get("/v1/jobs", HTTP_X_API_KEY=key(who)).json()
        assert [j["job_id"] for j in body["jobs"]] == [mine.public_id]
        assert body["total"] == 1
    assert api.get("/v1/jobs", HTTP_X_API_KEY=key(stranger)).json()["jobs"] == []


def test_the_list_filters_by_status_and_refuses_a_bad_one(api: Client) -> None:
    job = JobFactory()
    buyer_key = key(job.buyer)
    assert api.get("/v1/jobs?status=completed", HTTP_X_API_KEY=buyer_key).json()["jobs"] == []
    assert len(api.get("/v1/jobs?status=dispatched", HTTP_X_API_KEY=buyer_key).json()["jobs"]) == 1
    assert api.get("/v1/jobs?status=nonsense", HTTP_X_API_KEY=buyer_key).status_code == 400
    assert api.get("/v1/jobs?limit=0", HTTP_X_API_KEY=buyer_key).status_code == 400


def test_an_offset_past_any_list_is_a_400_not_a_database_overflow(api: Client) -> None:
    buyer_key = key(JobFactory().buyer)
    response = api.get(f"/v1/jobs?offset={2**63}", HTTP_X_API_KEY=buyer_key)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")


def test_the_buyer_and_provider_read_a_job_with_their_keys(api: Client) -> None:
    job = JobFactory()
    for who in (job.buyer, job.provider):
        response = api.get(f"/v1/jobs/{job.public_id}", HTTP_X_API_KEY=key(who))
        assert response.status_code == 200
        assert response.json()["job_id"] == job.public_id


def test_another_agent_cannot_read_a_job_and_unknown_ids_are_404(api: Client) -> None:
    job = JobFactory()
    stranger_key = key(ParticipantFactory(type=Participant.Type.AGENT))
    assert api.get(f"/v1/jobs/{job.public_id}", HTTP_X_API_KEY=stranger_key).status_code == 403
    assert api.get("/v1/jobs/job_0000000000000000", HTTP_X_API_KEY=stranger_key).status_code == 404
    assert api.get("/v1/jobs/nonsense", HTTP_X_API_KEY=stranger_key).status_code == 404


def test_the_provider_completes_a_job_through_the_api(api: Client) -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    response = post(
        api,
        f"/v1/jobs/{job.public_id}/update",
        {"status": "completed", "deliverables": {"report": "done"}, "notes": "here you go"},
        HTTP_X_API_KEY=key(job.provider),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert response.json()["deliverables"] == {"report": "done"}


def test_only_the_jobs_provider_can_update_it(api: Client) -> None:
    job = JobFactory()
    other_provider = ParticipantFactory(type=Participant.Type.PROVIDER)
    for who in (job.buyer, other_provider):
        response = post(
            api,
            f"/v1/jobs/{job.public_id}/update",
            {"status": "in_progress"},
            HTTP_X_API_KEY=key(who),
        )
        assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == S.DISPATCHED


@pytest.mark.parametrize(
    "body", [{"status": "verified"}, {}, {"status": "completed", "deliverables": "text"}]
)
def test_a_bad_update_is_a_400(api: Client, body: dict[str, Any]) -> None:
    job = JobFactory()
    response = post(api, f"/v1/jobs/{job.public_id}/update", body, HTTP_X_API_KEY=key(job.provider))
    assert response.status_code == 400
    assert "code" in response.json()


def test_the_buyer_verifies_but_another_agent_cannot(api: Client) -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    post(
        api,
        f"/v1/jobs/{job.public_id}/update",
        {"status": "completed", "deliverables": {"a": 1}},
        HTTP_X_API_KEY=key(job.provider),
    )
    stranger_key = key(ParticipantFactory(type=Participant.Type.AGENT))
    path = f"/v1/jobs/{job.public_id}/verify"
    assert post(api, path, {}, HTTP_X_API_KEY=stranger_key).status_code == 403
    assert post(api, path, {}, HTTP_X_API_KEY=key(job.provider)).status_code == 403
    response = post(api, path, {}, HTTP_X_API_KEY=key(job.buyer))
    assert response.json()["status"] == "released"
    assert post(api, path, {}, HTTP_X_API_KEY=key(job.buyer)).status_code == 409
    assert ledger_problems() == []


def test_the_buyer_disputes_from_its_balance(api: Client) -> None:
    job = JobFactory()
    deposit(job.buyer, 10_000)
    response = post(
        api,
        f"/v1/jobs/{job.public_id}/dispute",
        {"reason": "Nothing has happened for days."},
        HTTP_X_BALANCE_AUTH=key(job.buyer),
    )
    assert response.status_code == 200
    assert response.json()["status"] == "disputed"
    assert balance_of(agent_account(job.buyer)) == 5_000
    assert ledger_problems() == []


@pytest.mark.parametrize("reason", ["too short", "x" * 2001])
def test_a_dispute_reason_of_bad_length_is_400_and_not_charged(api: Client, reason: str) -> None:
    job = JobFactory()
    deposit(job.buyer, 10_000)
    response = post(
        api,
        f"/v1/jobs/{job.public_id}/dispute",
        {"reason": reason},
        HTTP_X_BALANCE_AUTH=key(job.buyer),
    )
    assert response.status_code == 400
    assert balance_of(agent_account(job.buyer)) == 10_000


def test_another_agent_cannot_dispute_and_is_not_charged(api: Client) -> None:
    job = JobFactory()
    stranger = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(stranger, 10_000)
    response = post(
        api,
        f"/v1/jobs/{job.public_id}/dispute",
        {"reason": "I want to dispute this."},
        HTTP_X_BALANCE_AUTH=key(stranger),
    )
    assert response.status_code == 403
    assert balance_of(agent_account(stranger)) == 10_000
    job.refresh_from_db()
    assert job.status == S.DISPATCHED


def test_the_buyers_wallet_reads_a_job_for_a_thousandth(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    buyer = ParticipantFactory(wallet=payer.address, type=Participant.Type.AGENT)
    job = JobFactory(buyer=buyer)
    path = f"/v1/jobs/{job.public_id}"
    challenge = api.get(path)
    assert challenge.status_code == 402
    header, value = payment_header(challenge, payer, version=2)
    response = api.get(path, **{header: value})
    assert response.status_code == 200, response.content
    assert response.json()["job_id"] == job.public_id
    assert ledger_problems() == []


def test_another_wallet_is_refused_without_being_charged(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    job = JobFactory()
    payer = funded_payer(1_000_000)
    path = f"/v1/jobs/{job.public_id}"
    header, value = payment_header(api.get(path), payer, version=2)
    response = api.get(path, **{header: value})
    assert response.status_code == 403
    assert not X402Payment.objects.filter(payer=payer.address.lower()).exists()


def test_provider_earnings_name_the_service_each_released_job_was_for(api: Client) -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    provider_key = key(job.provider)
    post(
        api,
        f"/v1/jobs/{job.public_id}/update",
        {"status": "completed", "deliverables": {}},
        HTTP_X_API_KEY=provider_key,
    )
    assert (
        post(api, f"/v1/jobs/{job.public_id}/verify", {}, HTTP_X_API_KEY=key(job.buyer)).status_code
        == 200
    )
    settlement = api.get("/v1/provider/earnings", HTTP_X_API_KEY=provider_key).json()[
        "recent_settlements"
    ][0]
    assert (settlement["job_id"], settlement["service_id"]) == (
        job.public_id,
        job.service.public_id,
    )
