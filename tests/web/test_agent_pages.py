"""The public catalog pages and the agent's dashboard, through Django's test client: what
each page shows, who may see it (another user's thread or job is a 404), forged and bad
input refused with nothing changed, every action charged as the API charges it (the same
view and gate), and the number of queries each page makes, pinned."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from marketplace.catalog.models import PricingModel, ServiceType
from marketplace.deals.jobs import job_update
from marketplace.deals.threads import proposal_make, thread_open
from marketplace.models import Job, Service, Thread, ThreadMessage
from payments.accounts import web_account_for_user
from payments.ledger import agent_account, balance_of
from payments.models import Participant
from payments.services import participant_update
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory, deposit
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
PRICE, FEE = 1_000_000, 50_000


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # providers here listen on 127.0.0.1
    settings.DATA_API_TIMEOUT = 2


def signed_in(email: str = "agent@example.com") -> tuple[Client, Participant]:
    user = User.objects.create_user(username=email, email=email, password="pw-123456789")
    participant = web_account_for_user(user=user).account.participant
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client, participant


@pytest.fixture
def agent() -> tuple[Client, Participant]:
    return signed_in()


@pytest.fixture
def stranger() -> tuple[Client, Participant]:
    return signed_in("stranger@example.com")


def quoted_service() -> Service:
    return ServiceFactory(
        name="Custom research",
        service_type=ServiceType.AUTOMATED_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=5_000_000,
        price_max_micros=50_000_000,
    )


def open_thread(buyer: Participant, service: Service | None = None) -> Thread:
    return thread_open(
        buyer=buyer, service=service or quoted_service(), message="How much?", brief=None
    )


def proposed(thread: Thread, price: int = 10_000_000) -> Any:
    return proposal_make(
        thread=thread, provider=thread.provider, price_micros=price, message="Ten dollars"
    )


def delivered(buyer: Participant) -> Job:
    job = JobFactory(buyer=buyer, service=ServiceFactory(service_type=ServiceType.HUMAN_SERVICE))
    return job_update(job=job, provider=job.provider, status="completed", deliverables={"a": 1})


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- public pages ------------------------------------------------------------------------


def test_the_home_page_shows_live_figures_and_searches_the_web_catalog(client: Client) -> None:
    ServiceFactory(category="seo")
    ServiceFactory(category="data")
    page = client.get("/")
    assert page.status_code == 200
    assert page.context["figures"]["services"] == 2
    assert page.context["figures"]["categories"] == 2
    assert b'action="/services/"' in page.content


def test_the_catalog_page_uses_the_api_search_with_filters_sorting_and_paging(
    client: Client,
) -> None:
    for n in range(3):
        ServiceFactory(name=f"Tide tables {n}", price_micros=(n + 1) * PRICE)
    ServiceFactory(name="Weather", price_micros=PRICE)

    page = client.get("/services/?q=tide&sort=price_desc&limit=2")

    assert page.status_code == 200
    names = [s.name for s in page.context["page"].services]
    assert names == ["Tide tables 2", "Tide tables 1"]
    assert page.context["total"] == 3
    assert page.context["next_url"] == "?q=tide&sort=price_desc&limit=2&offset=2"
    second = client.get("/services/" + page.context["next_url"])
    assert [s.name for s in second.context["page"].services] == ["Tide tables 0"]


def test_a_bad_catalog_query_is_a_400_page_naming_the_problem(client: Client) -> None:
    page = client.get("/services/?sort=sideways&max_price=lots")
    assert page.status_code == 400
    assert "sort" in page.context["error"] and "max_price" in page.context["error"]


def test_the_service_page_shows_prices_with_the_fee_schemas_and_how_to_buy(
    client: Client,
) -> None:
    service = ServiceFactory(
        price_micros=PRICE,
        input_schema={
            "type": "object",
            "properties": {"city": {"type": "string", "description": "Where"}},
            "required": ["city"],
        },
    )
    page = client.get(f"/services/{service.public_id}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "$1.05" in text and "$0.05" in text  # the agent price and the fee
    assert ">city<" in text and "Where" in text  # the schema as a table
    assert f"/v1/services/{service.public_id}/purchase" in text  # the curl snippet
    assert [label for label, _ in page.context["reputation"]][2] == "The provider overall"


def test_unknown_service_and_provider_pages_are_404(client: Client) -> None:
    assert client.get("/services/svc_nothing/").status_code == 404
    assert client.get("/providers/p_nothing/").status_code == 404
    assert client.get("/providers/" + "x" * 300 + "/").status_code == 404


def test_the_provider_page_lists_its_active_services(client: Client) -> None:
    service = ServiceFactory(name="Tide tables")
    page = client.get(f"/providers/{service.provider.public_id}/")
    assert page.status_code == 200
    assert [s.name for s in page.context["services"]] == ["Tide tables"]


# --- sign-in required --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/balance/",
        "/dashboard/threads/",
        "/dashboard/jobs/",
        "/dashboard/threads/thr_x/",
        "/dashboard/jobs/job_x/",
    ],
)
def test_dashboard_pages_send_visitors_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_actions_are_refused_without_a_csrf_token(agent: tuple[Client, Participant]) -> None:
    _, participant = agent
    forged = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    forged.force_login(participant.web_account.user)
    deposit(participant, 10 * PRICE)
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE)
    response = forged.post(f"/services/{service.public_id}/buy/", {"brief": "{}"})
    assert response.status_code == 403
    assert not Job.objects.exists()


# --- ownership -----------------------------------------------------------------------------


def test_another_users_thread_is_a_404_for_every_action(
    agent: tuple[Client, Participant], stranger: tuple[Client, Participant]
) -> None:
    _, owner = agent
    thread = open_thread(owner)
    proposal = proposed(thread)
    client, other = stranger
    deposit(other, 100 * PRICE)
    base = f"/dashboard/threads/{thread.public_id}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/message/", {"message": "hi"}).status_code == 404
    assert client.post(f"{base}/accept/", {"proposal_id": proposal.public_id}).status_code == 404
    assert client.post(f"{base}/decline/", {"reason": "no"}).status_code == 404
    thread.refresh_from_db()
    assert thread.status == Thread.Status.NEGOTIATING
    assert thread.messages.filter(body="hi").count() == 0
    assert balance_of(agent_account(other)) == 100 * PRICE


def test_another_users_job_is_a_404_for_every_action(
    agent: tuple[Client, Participant], stranger: tuple[Client, Participant]
) -> None:
    _, owner = agent
    job = delivered(owner)
    client, other = stranger
    deposit(other, PRICE)
    base = f"/dashboard/jobs/{job.public_id}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/verify/").status_code == 404
    assert client.post(f"{base}/dispute/", {"reason": "not what I asked"}).status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED


def test_a_thread_the_user_provides_is_not_on_their_agent_pages(
    stranger: tuple[Client, Participant],
) -> None:
    client, provider_participant = stranger
    service = ServiceFactory(provider=provider_participant, pricing_model=PricingModel.FIXED)
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    thread = open_thread(buyer, service=quoted_service())
    assert client.get(f"/dashboard/threads/{thread.public_id}/").status_code == 404
    assert service.pk  # the provider's own pages are issue 19's


def test_malformed_ids_are_404_not_500(agent: tuple[Client, Participant]) -> None:
    client, _ = agent
    for path in (
        "/dashboard/threads/'%20or%201=1/",
        "/dashboard/jobs/" + "j" * 500 + "/",
        "/dashboard/balance/deposits/pay_nothing/",
        "/dashboard/threads/thr_x/messages/msg_y/attachment/",
    ):
        assert client.get(path).status_code == 404, path


# --- buying ----------------------------------------------------------------------------


def test_buying_a_data_api_charges_the_balance_and_shows_the_result(
    agent: tuple[Client, Participant], provider_server: Provider
) -> None:
    client, participant = agent
    deposit(participant, 10 * PRICE)
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    provider_server.reply = b'{"tide": "high at 6"}'
    service = ServiceFactory(provider=provider, price_micros=PRICE)

    response = client.post(
        f"/services/{service.public_id}/buy/",
        {"brief": '{"port": "Brest"}', "max_price": "1.05"},
        follow=True,
    )

    job = Job.objects.get(buyer=participant)
    assert response.redirect_chain[-1][0] == f"/dashboard/jobs/{job.public_id}/"
    assert "high at 6" in response.content.decode()
    assert balance_of(agent_account(participant)) == 10 * PRICE - PRICE - FEE
    assert json.loads(provider_server.received[0].body)["brief"] == {"port": "Brest"}


def test_a_purchase_above_the_price_shown_is_refused_and_not_charged(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    deposit(participant, 10 * PRICE)
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE, price_micros=PRICE)

    response = client.post(
        f"/services/{service.public_id}/buy/", {"brief": "{}", "max_price": "0.50"}, follow=True
    )

    assert any("above your max_price" in m for m in messages_of(response))
    assert not Job.objects.exists()
    assert balance_of(agent_account(participant)) == 10 * PRICE


def test_a_purchase_with_a_short_balance_says_to_deposit(
    agent: tuple[Client, Participant], chain: Any
) -> None:
    client, _ = agent
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE, price_micros=PRICE)
    response = client.post(
        f"/services/{service.public_id}/buy/", {"brief": "{}", "max_price": "1.05"}, follow=True
    )
    assert any("balance is too low" in m for m in messages_of(response))
    assert not Job.objects.exists()


def test_a_brief_not_matching_the_schema_is_refused(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    deposit(participant, 10 * PRICE)
    service = ServiceFactory(
        service_type=ServiceType.AUTOMATED_SERVICE,
        input_schema={"type": "object", "required": ["city"]},
    )
    response = client.post(f"/services/{service.public_id}/buy/", {"brief": "{}"}, follow=True)
    assert any("input_schema" in m for m in messages_of(response))
    assert not Job.objects.exists()


def test_buying_a_quoted_or_unknown_service_is_refused(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    deposit(participant, 100 * PRICE)
    response = client.post(f"/services/{quoted_service().public_id}/buy/", follow=True)
    assert any("Quote required" in m for m in messages_of(response))
    assert client.post("/services/svc_nothing/buy/").status_code == 404
    assert client.get(f"/services/{quoted_service().public_id}/buy/").status_code == 405


def test_inquiring_opens_a_thread_for_a_thousandth_of_a_dollar(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    deposit(participant, PRICE)
    service = quoted_service()
    response = client.post(
        f"/services/{service.public_id}/inquire/", {"message": "A report on tides?"}
    )
    thread = Thread.objects.get(buyer=participant)
    assert response["Location"] == f"/dashboard/threads/{thread.public_id}/"
    assert thread.messages.filter(body="A report on tides?").exists()
    assert balance_of(agent_account(participant)) == PRICE - 1_000


def test_an_empty_inquiry_is_refused(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    deposit(participant, PRICE)
    response = client.post(f"/services/{quoted_service().public_id}/inquire/", {}, follow=True)
    assert any("send a message" in m for m in messages_of(response))
    assert not Thread.objects.exists()


# --- threads ---------------------------------------------------------------------------


def test_accepting_the_shown_proposal_pays_its_total_into_escrow(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    deposit(participant, 20 * PRICE)
    thread = open_thread(participant)
    proposal = proposed(thread, 10 * PRICE)

    page = client.get(f"/dashboard/threads/{thread.public_id}/")
    assert "$10.50" in page.content.decode()  # price plus the fee
    response = client.post(
        f"/dashboard/threads/{thread.public_id}/accept/", {"proposal_id": proposal.public_id}
    )

    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.status == Thread.Status.ACCEPTED
    assert balance_of(agent_account(participant)) == 20 * PRICE - 10_500_000


def test_accepting_a_superseded_proposal_is_refused_and_not_charged(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    deposit(participant, 20 * PRICE)
    thread = open_thread(participant)
    old = proposed(thread, 10 * PRICE)
    proposed(thread, 12 * PRICE)

    response = client.post(
        f"/dashboard/threads/{thread.public_id}/accept/",
        {"proposal_id": old.public_id},
        follow=True,
    )

    assert any("not accepted" in m for m in messages_of(response))
    assert balance_of(agent_account(participant)) == 20 * PRICE
    assert not Job.objects.exists()


def test_messages_text_credential_and_file_are_posted_to_the_thread(
    agent: tuple[Client, Participant],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client, participant = agent
    thread = open_thread(participant)
    base = f"/dashboard/threads/{thread.public_id}"
    client.post(f"{base}/message/", {"message": "Any news?"})
    client.post(f"{base}/message/", {"message": "hunter2", "type": "credential"})
    client.post(
        f"{base}/message/",
        {"message": "", "file": SimpleUploadedFile("notes.txt", b"tides", "text/plain")},
    )

    kinds = list(
        thread.messages.filter(sender=participant).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["text", "text", "credential", "attachment"]
    page = client.get(f"{base}/")
    assert "hunter2" in page.content.decode()  # shown to its party
    attachment = thread.messages.get(kind=ThreadMessage.Kind.ATTACHMENT)
    download = client.get(f"{base}/messages/{attachment.public_id}/attachment/")
    assert b"".join(download.streaming_content) == b"tides"


def test_a_bad_message_is_refused(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    thread = open_thread(participant)
    response = client.post(
        f"/dashboard/threads/{thread.public_id}/message/",
        {"message": "", "type": "text"},
        follow=True,
    )
    assert any("not sent" in m for m in messages_of(response))
    assert thread.messages.count() == 1  # the inquiry's own


def test_declining_cancels_the_thread(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    thread = open_thread(participant)
    client.post(f"/dashboard/threads/{thread.public_id}/decline/", {"reason": "Too slow"})
    thread.refresh_from_db()
    assert thread.status == Thread.Status.CANCELLED


# --- jobs ------------------------------------------------------------------------------


def test_verifying_a_delivered_job_releases_it(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    job = delivered(participant)
    client.post(f"/dashboard/jobs/{job.public_id}/verify/", {"rating": "5"})
    job.refresh_from_db()
    assert job.status == Job.Status.RELEASED


def test_a_bad_rating_is_refused_and_the_job_stays_completed(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    job = delivered(participant)
    client.post(f"/dashboard/jobs/{job.public_id}/verify/", {"rating": "eleven"})
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED


def test_disputing_charges_the_api_fee_and_records_the_reason(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    job = delivered(participant)
    deposit(participant, PRICE)
    client.post(f"/dashboard/jobs/{job.public_id}/dispute/", {"reason": "The report is missing"})
    job.refresh_from_db()
    assert job.status == Job.Status.DISPUTED
    assert job.dispute_reason == "The report is missing"
    assert balance_of(agent_account(participant)) == PRICE - 5_000


def test_a_dispute_with_too_short_a_reason_is_refused_and_not_charged(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent
    job = delivered(participant)
    deposit(participant, PRICE)
    response = client.post(
        f"/dashboard/jobs/{job.public_id}/dispute/", {"reason": "bad"}, follow=True
    )
    assert any("not opened" in m for m in messages_of(response))
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert balance_of(agent_account(participant)) == PRICE


# --- balance ---------------------------------------------------------------------------


def test_the_balance_history_links_each_row_to_its_job(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    job = JobFactory(buyer=participant, service=ServiceFactory(service_type="automated_service"))
    page = client.get("/dashboard/balance/")
    links = [row.link for row in page.context["rows"]]
    assert f"/dashboard/jobs/{job.public_id}/" in links
    assert [row.label for row in page.context["rows"]] == ["Paid into escrow", "Deposit"]


def test_a_deposit_amount_out_of_bounds_is_refused(agent: tuple[Client, Participant]) -> None:
    client, participant = agent
    for amount in ("0", "-5", "lots", "100000"):
        response = client.post("/dashboard/balance/deposit/", {"amount": amount}, follow=True)
        assert any("amount" in m for m in messages_of(response)), amount
    assert balance_of(agent_account(participant)) == 0


def test_a_browser_deposit_signed_by_another_wallet_is_refused(
    agent: tuple[Client, Participant],
) -> None:
    client, _ = agent
    response = client.post(
        "/dashboard/balance/deposit/submit/",
        json.dumps(
            {
                "authorization": {
                    "from": "0x" + "1" * 40,
                    "to": "0x" + "2" * 40,
                    "value": "1000000",
                    "validAfter": "0",
                    "validBefore": "99999999999",
                    "nonce": "0x" + "3" * 64,
                },
                "signature": "0x" + "4" * 130,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wallet_mismatch"


def test_deposit_endpoints_refuse_visitors_and_bad_json(client: Client) -> None:
    assert (
        client.post("/dashboard/balance/deposit/prepare/", "{}", "application/json").status_code
        == 401
    )
    user_client, _ = signed_in("json@example.com")
    bad = user_client.post("/dashboard/balance/deposit/submit/", "[1]", "application/json")
    assert bad.status_code == 400


# --- query counts ------------------------------------------------------------------------


@pytest.fixture
def lived_in(agent: tuple[Client, Participant]) -> tuple[Client, Participant]:
    """An agent with a few jobs and threads, so the counts cover lists that are not empty."""
    _, participant = agent
    for _ in range(3):
        JobFactory(buyer=participant, service=ServiceFactory(service_type="automated_service"))
        proposed(open_thread(participant))
    return agent


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        ("/dashboard/", 7),
        ("/dashboard/balance/", 10),
        ("/dashboard/threads/", 6),
        ("/dashboard/jobs/", 5),
    ],
)
def test_dashboard_pages_make_a_fixed_number_of_queries(
    lived_in: tuple[Client, Participant],
    django_assert_num_queries: Callable[..., Any],
    path: str,
    queries: int,
) -> None:
    client, _ = lived_in
    with django_assert_num_queries(queries):
        assert client.get(path).status_code == 200


def test_thread_and_job_pages_make_a_fixed_number_of_queries(
    lived_in: tuple[Client, Participant], django_assert_num_queries: Callable[..., Any]
) -> None:
    client, participant = lived_in
    thread = Thread.objects.filter(buyer=participant).first()
    job = Job.objects.filter(buyer=participant).first()
    assert thread is not None and job is not None
    with django_assert_num_queries(12):
        assert client.get(f"/dashboard/threads/{thread.public_id}/").status_code == 200
    with django_assert_num_queries(5):
        assert client.get(f"/dashboard/jobs/{job.public_id}/").status_code == 200


@pytest.mark.parametrize(("path", "queries"), [("/", 4), ("/services/", 3)])
def test_public_pages_make_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: Callable[..., Any], path: str, queries: int
) -> None:
    for _ in range(3):
        ServiceFactory()
    with django_assert_num_queries(queries):
        assert client.get(path).status_code == 200


def test_service_and_provider_pages_make_a_fixed_number_of_queries(
    client: Client, django_assert_num_queries: Callable[..., Any]
) -> None:
    service = ServiceFactory()
    with django_assert_num_queries(2):
        assert client.get(f"/services/{service.public_id}/").status_code == 200
    with django_assert_num_queries(3):
        assert client.get(f"/providers/{service.provider.public_id}/").status_code == 200
