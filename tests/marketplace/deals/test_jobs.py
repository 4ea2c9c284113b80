"""Jobs: the table of moves, the provider's updates, verify, dispute and auto-verify, with the
escrowed money following the job on the ledger."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from marketplace.deals.jobs import (
    InvalidJobTransition,
    auto_verify_due,
    job_cancel,
    job_dispute,
    job_update,
    job_verify,
)
from marketplace.models import Job, ServiceType, WebhookDelivery
from payments.ledger import PLATFORM_FEES, agent_account, balance_of, provider_account
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory
from the402.lib.errors import ApplicationError

pytestmark = pytest.mark.django_db
S = Job.Status
PRICE = 1_000_000
FEE = 50_000
REPORT_SCHEMA = {
    "type": "object",
    "properties": {"report": {"type": "string"}},
    "required": ["report"],
}


def escrow_status(job: Job) -> str:
    return Escrow.objects.get(pk=job.escrow_id).status


def test_dispatch_sends_the_provider_a_webhook_with_the_callback_url() -> None:
    service = ServiceFactory(webhook_url="https://provider.example/hooks")
    job = JobFactory(service=service)
    assert job.status == S.DISPATCHED
    event = json.loads(WebhookDelivery.objects.get(event_type="job_dispatch").payload)
    assert event["job_id"] == job.public_id
    assert event["service_id"] == service.public_id
    assert event["callback_url"].endswith(f"/v1/jobs/{job.public_id}/update")


def test_provider_marks_a_job_in_progress() -> None:
    job = JobFactory()
    job_update(job=job, provider=job.provider, status=S.IN_PROGRESS, notes="on it")
    job.refresh_from_db()
    assert (job.status, job.notes) == (S.IN_PROGRESS, "on it")


def test_a_completed_human_job_waits_with_the_money_held() -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"report": "x"})
    job.refresh_from_db()
    assert job.status == S.COMPLETED
    assert job.deliverables == {"report": "x"}
    assert job.completed_at is not None
    assert escrow_status(job) == Escrow.Status.HELD


def test_a_failed_job_refunds_the_buyers_balance() -> None:
    job = JobFactory()
    assert balance_of(agent_account(job.buyer)) == 0
    job_update(job=job, provider=job.provider, status=S.FAILED, notes="source offline")
    job.refresh_from_db()
    assert job.status == S.REFUNDED
    assert escrow_status(job) == Escrow.Status.REFUNDED
    assert balance_of(agent_account(job.buyer)) == PRICE + FEE
    assert balance_of(provider_account(job.provider)) == 0
    assert ledger_problems() == []


def test_deliverables_not_matching_the_schema_are_refused_and_nothing_changes() -> None:
    job = JobFactory(
        service=ServiceFactory(
            service_type=ServiceType.HUMAN_SERVICE, deliverable_schema=REPORT_SCHEMA
        )
    )
    with pytest.raises(ApplicationError) as caught:
        job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"nope": 1})
    assert (caught.value.status_code, caught.value.code) == (400, "invalid_deliverables")
    job.refresh_from_db()
    assert (job.status, job.deliverables) == (S.DISPATCHED, None)


def test_completing_without_deliverables_is_refused() -> None:
    job = JobFactory()
    with pytest.raises(ApplicationError) as caught:
        job_update(job=job, provider=job.provider, status=S.COMPLETED)
    assert caught.value.code == "invalid_deliverables"


def test_an_automated_service_auto_verifies_and_releases_on_completion() -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE))
    fees_before = balance_of(PLATFORM_FEES)
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"a": 1})
    job.refresh_from_db()
    assert job.status == S.RELEASED
    assert job.verified_at is not None
    assert escrow_status(job) == Escrow.Status.RELEASED
    assert balance_of(provider_account(job.provider)) == PRICE
    assert balance_of(PLATFORM_FEES) - fees_before == FEE
    assert ledger_problems() == []


def test_a_human_service_auto_verifies_48_hours_after_completion() -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"a": 1})
    completed = timezone.now()
    assert auto_verify_due(completed + timedelta(hours=47)) == 0
    with time_machine.travel(completed + timedelta(hours=48, minutes=1), tick=False):
        assert auto_verify_due() == 1
    job.refresh_from_db()
    assert job.status == S.RELEASED
    assert balance_of(provider_account(job.provider)) == PRICE
    assert auto_verify_due(completed + timedelta(days=5)) == 0
    assert ledger_problems() == []


def test_the_buyer_verifies_and_the_escrow_is_released_once() -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"a": 1})
    job_verify(job=job, buyer=job.buyer)
    with pytest.raises(InvalidJobTransition):
        job_verify(job=job, buyer=job.buyer)
    job.refresh_from_db()
    assert job.status == S.RELEASED
    assert balance_of(provider_account(job.provider)) == PRICE
    assert ledger_problems() == []


@pytest.mark.parametrize("length", [9, 2001])
def test_a_dispute_reason_must_be_10_to_2000_characters(length: int) -> None:
    job = JobFactory()
    with pytest.raises(ApplicationError) as caught:
        job_dispute(job=job, buyer=job.buyer, reason="x" * length)
    assert (caught.value.status_code, caught.value.code) == (400, "invalid_reason")
    job.refresh_from_db()
    assert job.status == S.DISPATCHED


def test_a_dispute_holds_the_money_and_tells_the_provider() -> None:
    service = ServiceFactory(
        service_type=ServiceType.HUMAN_SERVICE, webhook_url="https://provider.example/hooks"
    )
    job = JobFactory(service=service)
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"a": 1})
    job_dispute(job=job, buyer=job.buyer, reason="The report is about the wrong coast.")
    job.refresh_from_db()
    assert job.status == S.DISPUTED
    assert job.dispute_reason == "The report is about the wrong coast."
    assert escrow_status(job) == Escrow.Status.HELD
    event = json.loads(WebhookDelivery.objects.get(event_type="job_disputed").payload)
    assert event["reason"] == job.dispute_reason
    with pytest.raises(InvalidJobTransition):
        job_verify(job=job, buyer=job.buyer)
    assert ledger_problems() == []


@pytest.mark.parametrize("dispatched", [True, False])
def test_only_a_provider_told_of_a_job_hears_that_the_platform_cancelled_it(
    dispatched: bool,
) -> None:
    service = ServiceFactory(webhook_url="https://provider.example/hooks")
    job = JobFactory(service=service, dispatched=dispatched)
    job_cancel(job=job, actor=None, reason="the escrow expired before the work started")
    cancelled = WebhookDelivery.objects.filter(event_type="job_cancelled")
    assert [json.loads(d.payload)["reason"] for d in cancelled] == (
        ["the escrow expired before the work started"] if dispatched else []
    )
    assert balance_of(agent_account(job.buyer)) == PRICE + FEE


def test_a_provider_is_not_told_of_the_buyers_decline_as_a_cancellation() -> None:
    job = JobFactory(service=ServiceFactory(webhook_url="https://provider.example/hooks"))
    job_cancel(job=job, actor=job.buyer, reason="declined by the buyer")
    assert not WebhookDelivery.objects.filter(event_type="job_cancelled").exists()


def test_others_cannot_act_on_a_job() -> None:
    job = JobFactory()
    stranger = ParticipantFactory(type=Participant.Type.BOTH)
    attempts = [
        lambda: job_update(job=job, provider=stranger, status=S.IN_PROGRESS),
        lambda: job_update(job=job, provider=job.buyer, status=S.IN_PROGRESS),
        lambda: job_verify(job=job, buyer=stranger),
        lambda: job_verify(job=job, buyer=job.provider),
        lambda: job_dispute(job=job, buyer=stranger, reason="not mine but still"),
    ]
    for attempt in attempts:
        with pytest.raises(ApplicationError) as caught:
            attempt()
        assert caught.value.status_code == 403
    job.refresh_from_db()
    assert job.status == S.DISPATCHED


@pytest.mark.django_db(transaction=True)
def test_verify_racing_a_dispute_lets_exactly_one_win_and_moves_money_once() -> None:
    job = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    job_update(job=job, provider=job.provider, status=S.COMPLETED, deliverables={"a": 1})
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(name: str, action: Any) -> None:
        try:
            barrier.wait()
            action()
            outcomes[name] = "won"
        except InvalidJobTransition:
            outcomes[name] = "lost"
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(
                "verify",
                lambda: job_verify(job=Job(pk=job.pk, buyer=job.buyer), buyer=job.buyer),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "dispute",
                lambda: job_dispute(
                    job=Job(pk=job.pk, buyer=job.buyer), buyer=job.buyer, reason="Wrong coast."
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["lost", "won"]
    job.refresh_from_db()
    if outcomes["verify"] == "won":
        assert job.status == S.RELEASED
        assert balance_of(provider_account(job.provider)) == PRICE
    else:
        assert job.status == S.DISPUTED
        assert balance_of(provider_account(job.provider)) == 0
        assert escrow_status(job) == Escrow.Status.HELD
    assert ledger_problems() == []
