"""Disputes in the admin: the list of open disputes, the page with the whole thread, and the
resolution (release, refund or split, with a note) going through `job_resolve_dispute`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from marketplace.deals.jobs import job_create, job_dispatch, job_dispute, job_update
from marketplace.deals.threads import message_post, thread_for_purchase
from marketplace.models import Job, ServiceType, ThreadMessage, WebhookDelivery
from payments.escrow import escrow_open_ledger, split_parts
from payments.ledger import (
    PLATFORM_FEES,
    agent_account,
    balance_of,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory, deposit
from the402.lib.money import platform_fee

pytestmark = pytest.mark.django_db
S = Job.Status
PRICE = 2_000_000
FEE = platform_fee(PRICE)  # 100_000: $2.10 held in all
REASON = "The deliverables are wrong: the tide tables are for 2019."
SECRET = "hunter2-do-not-show"
LIST_URL = "/admin/marketplace/dispute/"


def page_url(job: Job) -> str:
    return f"/admin/marketplace/dispute/{job.pk}/change/"


def client_for(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


@pytest.fixture
def admin_client() -> Client:
    return client_for(User.objects.create_superuser("admin", "admin@example.com", "pw"))


def staff_with(*codenames: str) -> Client:
    user = User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="marketplace", codename__in=codenames)
    )
    return client_for(user)


def disputed_job() -> Job:
    """A human-service job paid from the buyer's balance into a ledger escrow, with its
    thread (messages both ways and a credential), in progress, then disputed."""
    service = ServiceFactory(
        service_type=ServiceType.HUMAN_SERVICE,
        price_micros=PRICE,
        webhook_url="https://provider.example/hooks",
    )
    provider = service.provider
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, PRICE + FEE)
    escrow = escrow_open_ledger(
        payer=buyer,
        payee=provider,
        amount=PRICE,
        fee=FEE,
        expires_at=timezone.now() + timedelta(days=7),
    )
    brief = {"topic": "tide tables"}
    thread = thread_for_purchase(service=service, buyer=buyer, brief=brief)
    job = job_dispatch(
        job_create(service=service, buyer=buyer, brief=brief, escrow=escrow, thread=thread)
    )
    message_post(thread=thread, sender=buyer, text="Please use this year's tables.")
    message_post(thread=thread, sender=provider, text="On it, the Brest tables.")
    message_post(thread=thread, sender=buyer, kind=ThreadMessage.Kind.CREDENTIAL, text=SECRET)
    job_update(job=job, provider=provider, status=S.IN_PROGRESS, notes="started")
    return job_dispute(job=job, buyer=buyer, reason=REASON)


def resolve(client: Client, job: Job, **data: str) -> Any:
    return client.post(page_url(job), data)


def assert_nothing_moved(job: Job) -> None:
    job.refresh_from_db()
    assert job.status == S.DISPUTED
    assert job.resolution == ""
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.HELD
    assert balance_of(provider_account(job.provider)) == 0
    assert balance_of(agent_account(job.buyer)) == 0
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.RESOLUTION).exists()
    assert not WebhookDelivery.objects.filter(event_type="dispute_resolved").exists()
    assert ledger_problems() == []


def resolution_event() -> dict[str, Any]:
    return json.loads(WebhookDelivery.objects.get(event_type="dispute_resolved").payload)


# --- the list and the page ------------------------------------------------------------------
def test_the_list_shows_open_disputes_and_not_other_jobs(admin_client: Client) -> None:
    job = disputed_job()
    other = JobFactory(service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    text = response.content.decode()
    assert job.public_id in text
    assert other.public_id not in text
    assert "$2.10" in text  # the amount held: price and fee
    assert REASON[:40] in text
    assert admin_client.get(page_url(other)).status_code == 302  # not a dispute
    facets = admin_client.get(LIST_URL + "?_facets=True&q=Service&o=6")
    assert facets.status_code == 200
    assert "Open (1)" in facets.content.decode()


def test_resolved_disputes_leave_the_default_list_and_show_under_resolved(
    admin_client: Client,
) -> None:
    job = disputed_job()
    response = resolve(admin_client, job, resolution="refund", note="The provider never delivered.")
    admin_client.get(response["Location"])  # shows (and so consumes) the success message
    assert job.public_id not in admin_client.get(LIST_URL).content.decode()
    resolved = admin_client.get(LIST_URL + "?state=resolved").content.decode()
    assert job.public_id in resolved
    assert job.public_id in admin_client.get(LIST_URL + "?state=all").content.decode()


def test_the_list_query_count_does_not_grow_with_rows(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    disputed_job()
    admin_client.get(LIST_URL)
    for _ in range(5):
        disputed_job()
    with django_assert_max_num_queries(10):
        assert admin_client.get(LIST_URL + "?q=Service").status_code == 200


def test_the_page_shows_the_whole_thread_without_credentials(admin_client: Client) -> None:
    job = disputed_job()
    response = admin_client.get(page_url(job))
    assert response.status_code == 200
    text = response.content.decode()
    for expected in (
        job.public_id,
        job.thread.public_id,
        "Please use this year&#x27;s tables.",
        "On it, the Brest tables.",
        REASON,  # the dispute message and the job's reason
        "[credential]",
        "Dispute",  # a message kind
        "provider",
        "buyer",
        "in_progress",  # the job's transitions and the thread's history
        "$2.10",
        'name="resolution"',  # the form
    ):
        assert expected in text, expected
    assert SECRET not in text


# --- resolving ------------------------------------------------------------------------------
def test_release_pays_the_provider_and_tells_the_thread_and_the_provider(
    admin_client: Client,
) -> None:
    job = disputed_job()
    response = resolve(admin_client, job, resolution="release", note="The work was fine.")
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert "is resolved" in page
    assert "Dispute resolved: release. The work was fine." in page
    assert 'name="resolution"' not in page  # no second form
    job.refresh_from_db()
    assert (job.status, job.resolution, job.resolution_note) == (
        S.RELEASED,
        "release",
        "The work was fine.",
    )
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.RELEASED
    assert balance_of(provider_account(job.provider)) == PRICE
    assert balance_of(PLATFORM_FEES) == FEE
    assert balance_of(agent_account(job.buyer)) == 0
    message = ThreadMessage.objects.get(thread=job.thread, kind=ThreadMessage.Kind.RESOLUTION)
    assert message.body == "Dispute resolved: release. The work was fine."
    event = resolution_event()
    assert (event["job_id"], event["resolution"], event["note"]) == (
        job.public_id,
        "release",
        "The work was fine.",
    )
    assert ledger_problems() == []


def test_refund_gives_the_buyer_everything_back(admin_client: Client) -> None:
    job = disputed_job()
    response = resolve(admin_client, job, resolution="refund", note="Nothing was delivered.")
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.resolution) == (S.REFUNDED, "refund")
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.REFUNDED
    assert balance_of(agent_account(job.buyer)) == PRICE + FEE
    assert balance_of(provider_account(job.provider)) == 0
    assert ThreadMessage.objects.filter(
        thread=job.thread, kind=ThreadMessage.Kind.RESOLUTION
    ).exists()
    assert resolution_event()["resolution"] == "refund"
    assert ledger_problems() == []


def test_split_shares_the_escrow_by_the_split_rule(admin_client: Client) -> None:
    job = disputed_job()
    response = resolve(
        admin_client, job, resolution="split", payee_amount="0.75", note="Half the work."
    )
    assert response.status_code == 302
    job.refresh_from_db()
    escrow = Escrow.objects.get(pk=job.escrow_id)
    to_provider, to_fees, to_buyer = split_parts(escrow, 750_000)
    assert (escrow.status, escrow.payee_amount) == (Escrow.Status.SPLIT, 750_000)
    assert (job.status, job.resolution) == (S.RELEASED, "split")
    assert balance_of(provider_account(job.provider)) == to_provider == 750_000
    assert balance_of(PLATFORM_FEES) == to_fees
    assert balance_of(agent_account(job.buyer)) == to_buyer
    assert to_provider + to_fees + to_buyer == PRICE + FEE
    assert resolution_event()["payee_amount_usd"] == 0.75  # a JSON number, as in the API
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"resolution": "release", "note": "  "}, "This field is required."),
        ({"resolution": "split", "note": "Half the work."}, "A split needs the provider"),
        ({"resolution": "split", "payee_amount": "2.01", "note": "Too much."}, "at most $2.00"),
        ({"resolution": "split", "payee_amount": "0.1234567", "note": "Odd."}, "not a US dollar"),
        ({"resolution": "refund", "payee_amount": "1", "note": "Mixed up."}, "Only a split"),
        ({"resolution": "everything", "note": "Unknown."}, "Select a valid choice"),
    ],
)
def test_an_invalid_resolution_is_an_error_and_moves_nothing(
    admin_client: Client, data: dict[str, str], error: str
) -> None:
    job = disputed_job()
    response = resolve(admin_client, job, **data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert_nothing_moved(job)


def test_a_second_resolution_is_an_error_and_money_moves_once(admin_client: Client) -> None:
    job = disputed_job()
    assert resolve(admin_client, job, resolution="release", note="Fine.").status_code == 302
    response = resolve(admin_client, job, resolution="refund", note="Changed my mind.")
    assert response.status_code == 200
    assert "not disputed" in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.resolution) == (S.RELEASED, "release")
    assert balance_of(provider_account(job.provider)) == PRICE
    assert balance_of(agent_account(job.buyer)) == 0
    assert ThreadMessage.objects.filter(kind=ThreadMessage.Kind.RESOLUTION).count() == 1
    assert WebhookDelivery.objects.filter(event_type="dispute_resolved").count() == 1
    assert ledger_problems() == []


# --- who may ------------------------------------------------------------------------------
def test_a_non_staff_user_is_sent_to_the_login_page() -> None:
    job = disputed_job()
    client = client_for(User.objects.create_user("someone", "someone@example.com", "pw"))
    for response in (
        client.get(LIST_URL),
        client.get(page_url(job)),
        resolve(client, job, resolution="release", note="Let me in."),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert_nothing_moved(job)


def test_staff_who_may_only_view_jobs_see_the_dispute_but_cannot_resolve_it() -> None:
    job = disputed_job()
    client = staff_with("view_job")
    assert job.public_id in client.get(LIST_URL).content.decode()
    page = client.get(page_url(job))
    assert page.status_code == 200
    assert REASON in page.content.decode()
    assert 'name="resolution"' not in page.content.decode()
    assert resolve(client, job, resolution="release", note="Sneaky.").status_code == 403
    assert_nothing_moved(job)


def test_staff_with_change_job_can_resolve() -> None:
    job = disputed_job()
    client = staff_with("change_job")
    assert resolve(client, job, resolution="refund", note="Refunded.").status_code == 302
    job.refresh_from_db()
    assert job.status == S.REFUNDED
    assert ledger_problems() == []


def test_staff_without_job_permissions_see_no_disputes() -> None:
    job = disputed_job()
    client = staff_with()
    assert client.get(LIST_URL).status_code == 403
    assert client.get(page_url(job)).status_code == 403
    assert_nothing_moved(job)
