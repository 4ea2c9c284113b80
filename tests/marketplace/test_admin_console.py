"""The admin as an operator's console: jobs, threads and webhook deliveries found by id,
wallet and service; filtered by status and type; moves shown inline; money as USD; and no
state changed by editing a field (an operator's action goes through `marketplace.jobs`)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from marketplace.deals.jobs import job_create, job_dispatch, job_dispute, job_update
from marketplace.deals.threads import message_post, thread_for_purchase
from marketplace.models import Job, JobTransition, ServiceType, Thread, ThreadMessage
from payments.escrow import escrow_account, escrow_open_ledger
from payments.ledger import agent_account, balance_of
from payments.models import Escrow, LedgerTransaction, Participant
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from the402.lib.admin import usd
from the402.lib.ids import new_public_id
from the402.lib.money import platform_fee

pytestmark = pytest.mark.django_db
S = Job.Status
PRICE = 2_000_000
FEE = platform_fee(PRICE)  # $0.10: $2.10 held
SECRET = "hunter2-never-in-the-admin"
JOBS, THREADS, DELIVERIES = (
    "/admin/marketplace/job/",
    "/admin/marketplace/thread/",
    "/admin/marketplace/webhookdelivery/",
)


def client_for(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


@pytest.fixture
def admin_client() -> Client:
    return client_for(User.objects.create_superuser("admin", "admin@example.com", "pw"))


def paid_job(*, service_type: str = ServiceType.HUMAN_SERVICE, name: str = "Tide tables") -> Job:
    """A job paid from the buyer's balance into a ledger escrow ($2.00 + $0.10), with its
    thread (a message and a credential), dispatched to the provider's webhook."""
    service = ServiceFactory(
        name=name,
        service_type=service_type,
        price_micros=PRICE,
        webhook_url="https://provider.example/hooks",
    )
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, PRICE + FEE)
    escrow = escrow_open_ledger(
        payer=buyer,
        payee=service.provider,
        amount=PRICE,
        fee=FEE,
        expires_at=timezone.now() + timedelta(days=7),
        reference=new_public_id("job"),
    )
    thread = thread_for_purchase(service=service, buyer=buyer, brief={"port": "Brest"})
    job = job_create(
        service=service, buyer=buyer, brief={"port": "Brest"}, escrow=escrow, thread=thread
    )
    message_post(thread=thread, sender=buyer, text="This year's tables, please.")
    message_post(thread=thread, sender=buyer, kind=ThreadMessage.Kind.CREDENTIAL, text=SECRET)
    return job_dispatch(job)


def change_url(base: str, obj: Any) -> str:
    return f"{base}{obj.pk}/change/"


def rows(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- pages load -----------------------------------------------------------------------------
@pytest.mark.parametrize("base", [JOBS, THREADS, DELIVERIES])
def test_the_changelist_and_change_pages_load_with_data(admin_client: Client, base: str) -> None:
    job = paid_job()
    obj = {JOBS: job, THREADS: job.thread, DELIVERIES: job.provider.webhook_deliveries.first()}[
        base
    ]
    assert obj is not None
    assert obj.public_id in rows(admin_client, base)
    assert obj.public_id in rows(admin_client, change_url(base, obj))


def test_the_admin_index_says_webhook_deliveries(admin_client: Client) -> None:
    page = rows(admin_client, "/admin/")
    assert "Webhook deliveries" in page
    assert "eliverys" not in page


def test_every_model_and_inline_in_the_admin_has_a_proper_plural() -> None:
    """No "deliverys" or "entrys": the admin index and every page's inlines."""
    plurals = []
    for model, model_admin in admin.site._registry.items():
        plurals.append(str(model._meta.verbose_name_plural))
        plurals.extend(
            str(inline(model, admin.site).verbose_name_plural) for inline in model_admin.inlines
        )
    assert "webhook deliveries" in plurals
    wrong = [p for p in plurals if re.search(r"([^aeiou]ys|(s|x|ch|sh)s)$", p)]
    assert wrong == []


# --- search and filters ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "term",
    [
        lambda job: job.public_id,
        lambda job: job.buyer.wallet,
        lambda job: job.buyer.wallet.lower(),
        lambda job: job.provider.wallet,
        lambda job: job.service.public_id,
        lambda job: "Lighthouse",
        lambda job: job.thread.public_id,
        lambda job: job.escrow.public_id,
    ],
    ids=[
        "id",
        "buyer-wallet",
        "wallet-lowercase",
        "provider-wallet",
        "service-id",
        "service-name",
        "thread-id",
        "escrow-id",
    ],
)
def test_job_search_finds_the_row_and_not_others(admin_client: Client, term: Any) -> None:
    job = paid_job(name="Lighthouse logs")
    other = paid_job(name="Tide tables")
    page = rows(admin_client, JOBS + "?q=" + term(job))
    assert job.public_id in page
    assert other.public_id not in page


@pytest.mark.parametrize(
    "term",
    [
        lambda thread: thread.public_id,
        lambda thread: thread.buyer.wallet,
        lambda thread: thread.provider.wallet,
        lambda thread: thread.service.public_id,
        lambda thread: thread.job.public_id,
    ],
    ids=["id", "buyer-wallet", "provider-wallet", "service-id", "job-id"],
)
def test_thread_search_finds_the_row_and_not_others(admin_client: Client, term: Any) -> None:
    thread = paid_job().thread
    other = paid_job().thread
    page = rows(admin_client, THREADS + "?q=" + term(thread))
    assert thread.public_id in page
    assert other.public_id not in page


def test_delivery_search_by_wallet_finds_the_row(admin_client: Client) -> None:
    job, other = paid_job(), paid_job()
    page = rows(admin_client, DELIVERIES + "?q=" + job.provider.wallet)
    mine = list(job.provider.webhook_deliveries.values_list("public_id", flat=True))
    theirs = list(other.provider.webhook_deliveries.values_list("public_id", flat=True))
    assert mine and theirs
    assert all(public_id in page for public_id in mine)
    assert not any(public_id in page for public_id in theirs)


def test_jobs_filter_by_status_and_service_type(admin_client: Client) -> None:
    human = paid_job()
    automated = paid_job(service_type=ServiceType.AUTOMATED_SERVICE)
    job_update(job=human, provider=human.provider, status=S.IN_PROGRESS)
    in_progress = rows(admin_client, JOBS + "?status__exact=in_progress")
    assert human.public_id in in_progress
    assert automated.public_id not in in_progress
    typed = rows(admin_client, JOBS + "?service_type=automated_service")
    assert automated.public_id in typed
    assert human.public_id not in typed


def test_threads_filter_by_status(admin_client: Client) -> None:
    paid = paid_job().thread
    service = ServiceFactory(service_type=ServiceType.HUMAN_SERVICE)
    inquiry = thread_for_purchase(
        service=service, buyer=ParticipantFactory(type=Participant.Type.AGENT), brief={}
    )
    Thread.objects.filter(pk=inquiry.pk).update(status=Thread.Status.INQUIRY)  # unpaid
    page = rows(admin_client, THREADS + f"?status__exact={paid.status}")
    assert paid.public_id in page
    assert inquiry.public_id not in page


# --- what a page shows ------------------------------------------------------------------
def test_amounts_show_as_usd_on_the_lists_and_pages(admin_client: Client) -> None:
    job = paid_job()
    for url, expected in (
        (JOBS, ("$2.00", "$0.10")),
        (change_url(JOBS, job), ("$2.00", "$0.10", "$2.10")),
        (THREADS, ("$2.10",)),
        ("/admin/payments/escrow/", ("$2.00", "$0.10")),
        (change_url("/admin/payments/escrow/", job.escrow), ("$2.00", "$0.10")),
        ("/admin/payments/ledgeraccount/?q=" + job.escrow.public_id, ("$2.10",)),
        ("/admin/marketplace/service/?q=" + job.service.public_id, ("$2.00",)),
    ):
        page = rows(admin_client, url)
        for amount in expected:
            assert amount in page, (url, amount)
        assert "2000000" not in page and "2,000,000" not in page, url


def test_a_ledger_transaction_shows_its_legs_in_usd(admin_client: Client) -> None:
    job = paid_job()
    funding = LedgerTransaction.objects.get(entries__account__code=escrow_account(job.escrow))
    page = rows(admin_client, change_url("/admin/payments/ledgertransaction/", funding))
    assert "-$2.10" in page
    assert "$2.10" in page


def test_the_usd_helper() -> None:
    assert (usd(2_100_000), usd(1), usd(-500_000), usd(0), usd(None)) == (
        "$2.10",
        "$0.000001",
        "-$0.50",
        "$0.00",
        "—",
    )


def test_the_job_page_shows_its_moves_inline(admin_client: Client) -> None:
    job = paid_job()
    job_update(job=job, provider=job.provider, status=S.IN_PROGRESS, notes="Started on Brest.")
    page = rows(admin_client, change_url(JOBS, job))
    assert "moves (the job" in page.lower() or "Moves (the job" in page
    assert "Started on Brest." in page  # the note of the move
    assert "dispatched to the provider" in page
    assert str(job.provider) in page  # the actor of the provider's move


def test_a_disputed_job_links_to_its_dispute_page(admin_client: Client) -> None:
    job = paid_job()
    job_update(job=job, provider=job.provider, status=S.IN_PROGRESS)
    job_dispute(job=job, buyer=job.buyer, reason="Nothing was delivered in the end.")
    page = rows(admin_client, change_url(JOBS, job))
    assert f'href="/admin/marketplace/dispute/{job.pk}/change/"' in page
    assert "Resolve the dispute" in page


def test_the_thread_page_shows_moves_and_messages_but_never_a_credential(
    admin_client: Client,
) -> None:
    thread = paid_job().thread
    page = rows(admin_client, change_url(THREADS, thread))
    assert "This year&#x27;s tables, please." in page
    assert "[credential]" in page
    assert SECRET not in page
    assert thread.job.public_id in page
    assert "$2.10" in page


# --- no rule bypassed -------------------------------------------------------------------------
def test_every_job_field_is_read_only_in_the_form(admin_client: Client) -> None:
    job = paid_job()
    response = admin_client.get(change_url(JOBS, job))
    form = response.context["adminform"].form
    assert "status" not in form.fields
    assert set(form.fields) <= {"operator_action", "operator_note"}
    page = response.content.decode()
    assert 'name="status"' not in page
    assert 'name="operator_action"' in page  # the one thing an operator may do: cancel


def test_posting_a_status_to_a_job_changes_nothing(admin_client: Client) -> None:
    job = paid_job()
    moves = JobTransition.objects.filter(job=job).count()
    response = admin_client.post(
        change_url(JOBS, job),
        {
            "status": S.RELEASED,
            "resolution": "release",
            "deliverables": '{"forged": true}',
            "transitions-TOTAL_FORMS": "0",
            "transitions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.resolution, job.deliverables) == (S.DISPATCHED, "", None)
    assert JobTransition.objects.filter(job=job).count() == moves
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.HELD


def test_staff_who_may_only_view_jobs_cannot_post_to_one() -> None:
    job = paid_job()
    user = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    client = client_for(user)
    assert client.get(change_url(JOBS, job)).status_code == 200
    response = client.post(
        change_url(JOBS, job), {"operator_action": "cancel", "operator_note": "Sneaky."}
    )
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == S.DISPATCHED


def test_an_operator_cancel_goes_through_the_service_and_refunds_the_buyer(
    admin_client: Client,
) -> None:
    job = paid_job()
    response = admin_client.post(
        change_url(JOBS, job),
        {
            "operator_action": "cancel",
            "operator_note": "The provider is unreachable.",
            "transitions-TOTAL_FORMS": "0",
            "transitions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert "is cancelled" in rows(admin_client, response["Location"])
    job.refresh_from_db()
    assert job.status == S.CANCELLED
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.REFUNDED
    assert balance_of(agent_account(job.buyer)) == PRICE + FEE
    move = JobTransition.objects.filter(job=job).last()
    assert move is not None
    assert (move.to_status, move.actor_id) == (S.CANCELLED, None)
    assert "The provider is unreachable." in move.note
    assert job.provider.webhook_deliveries.filter(event_type="job_cancelled").exists()


def test_a_job_under_way_cannot_be_cancelled_from_the_admin(admin_client: Client) -> None:
    job = paid_job()
    job_update(job=job, provider=job.provider, status=S.IN_PROGRESS)
    page = rows(admin_client, change_url(JOBS, job))
    assert 'name="operator_action"' not in page  # no action offered
    assert 'name="_save"' not in page
    response = admin_client.post(
        change_url(JOBS, job),
        {
            "operator_action": "cancel",
            "operator_note": "Trying anyway.",
            "transitions-TOTAL_FORMS": "0",
            "transitions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "settled by a dispute" in response.content.decode()
    job.refresh_from_db()
    assert job.status == S.IN_PROGRESS
    assert Escrow.objects.get(pk=job.escrow_id).status == Escrow.Status.HELD


def test_the_cancel_action_cancels_only_jobs_not_started(admin_client: Client) -> None:
    waiting, working = paid_job(), paid_job()
    job_update(job=working, provider=working.provider, status=S.IN_PROGRESS)
    response = admin_client.post(
        JOBS, {"action": "cancel_not_started", "_selected_action": [waiting.pk, working.pk]}
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    working.refresh_from_db()
    assert (waiting.status, working.status) == (S.CANCELLED, S.IN_PROGRESS)
    assert balance_of(agent_account(waiting.buyer)) == PRICE + FEE
    assert Escrow.objects.get(pk=working.escrow_id).status == Escrow.Status.HELD


def test_a_service_price_is_typed_in_dollars_and_saved_through_the_service(
    admin_client: Client,
) -> None:
    service = ServiceFactory(price_micros=PRICE)
    page = admin_client.get(change_url("/admin/marketplace/service/", service))
    form = page.context["adminform"].form
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data.update({"price_micros": "2.50", "tags": "[]"})
    for name in ("input_schema", "deliverable_schema"):
        data[name] = data[name] or "null"
    response = admin_client.post(change_url("/admin/marketplace/service/", service), data)
    assert response.status_code == 302, [
        line for line in response.content.decode().splitlines() if "error" in line
    ]
    service.refresh_from_db()
    assert service.price_micros == 2_500_000
    # A schema the catalog's rules refuse: nothing of the save is written.
    data.update({"price_micros": "3.00", "input_schema": "[1, 2]"})
    response = admin_client.post(change_url("/admin/marketplace/service/", service), data)
    assert "input_schema must be a JSON object" in rows(admin_client, response["Location"])
    service.refresh_from_db()
    assert (service.price_micros, service.input_schema) == (2_500_000, None)


# --- query counts -----------------------------------------------------------------------------
@pytest.mark.parametrize(("base", "queries"), [(JOBS, 7), (THREADS, 7)])
def test_the_changelist_query_count_is_pinned(
    admin_client: Client, django_assert_num_queries: Any, base: str, queries: int
) -> None:
    paid_job()
    admin_client.get(base)  # the session and the permission caches warm up
    for _ in range(6):
        paid_job()
    with django_assert_num_queries(queries):
        assert admin_client.get(base).status_code == 200
