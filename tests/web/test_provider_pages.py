"""The provider's dashboard through the Django client: onboarding, the service form (the
same rules as the API), the inbox's actions, who may do what, and pinned query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from marketplace.catalog.models import Service, ServiceType
from marketplace.deals.models import Job
from marketplace.notify.models import WebhookDelivery
from payments.models import Participant, WebAccount
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long password 1"
SCHEMA = (
    '{"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}'
)


def _signed_in(django_user_model: Any, name: str) -> tuple[Client, Participant]:
    user = django_user_model.objects.create_user(name, f"{name}@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 200
    return client, WebAccount.objects.select_related("participant").get(user=user).participant


@pytest.fixture
def agent(django_user_model: Any) -> tuple[Client, Participant]:
    """A signed-in account that is not a provider."""
    return _signed_in(django_user_model, "agnes")


def _onboard(client: Client, name: str) -> Participant:
    response = client.post(
        "/dashboard/provider/onboard/", {"name": name, "description": "Hand-made reports"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return WebAccount.objects.get(user__username=response.wsgi_request.user.username).participant


@pytest.fixture
def provider(django_user_model: Any) -> tuple[Client, Participant]:
    client, _ = _signed_in(django_user_model, "paula")
    return client, _onboard(client, "Paula's reports")


@pytest.fixture
def other(django_user_model: Any) -> tuple[Client, Participant]:
    client, _ = _signed_in(django_user_model, "oscar")
    return client, _onboard(client, "Oscar's reports")


def service_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Competitor teardown",
        "description": "A person reads your competitor's site and writes a teardown.",
        "category": "research",
        "tags": "seo, research",
        "service_type": ServiceType.HUMAN_SERVICE,
        "pricing_model": "fixed",
        "price": "40.00",
        "price_max": "",
        "estimated_delivery": "2 days",
        "input_schema": "",
        "deliverable_schema": SCHEMA,
        "webhook_url": "",
        "status": "active",
        **overrides,
    }


# --- onboarding -------------------------------------------------------------------------------
def test_an_account_that_is_not_a_provider_sees_the_onboarding_form(
    agent: tuple[Client, Participant],
) -> None:
    client, _ = agent
    page = client.get("/dashboard/provider/")

    assert page.status_code == 200
    assert b"Become a provider" in page.content
    assert client.get("/dashboard/provider/jobs/")["Location"] == "/dashboard/provider/"


def test_onboarding_makes_the_account_a_provider_with_the_typed_profile(
    agent: tuple[Client, Participant],
) -> None:
    client, participant = agent

    response = client.post(
        "/dashboard/provider/onboard/", {"name": "Agnes Audits", "description": "SEO by hand"}
    )

    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.type == Participant.Type.BOTH
    assert (participant.name, participant.description) == ("Agnes Audits", "SEO by hand")
    page = client.get("/dashboard/provider/").content.decode()
    assert "Rotate the secret" in page


def test_rotating_the_webhook_secret_changes_what_signs_webhooks(
    provider: tuple[Client, Participant],
) -> None:
    from payments.services import webhook_secret

    client, participant = provider
    before = webhook_secret(participant)

    assert client.post("/dashboard/provider/webhook/rotate/").status_code == 302

    participant.refresh_from_db()
    assert webhook_secret(participant) not in (None, before)


# --- the service form -------------------------------------------------------------------------
def test_the_form_lists_a_service_by_the_api_rules(provider: tuple[Client, Participant]) -> None:
    client, participant = provider

    response = client.post("/dashboard/provider/services/new/", service_form())

    assert response.status_code == 302
    service = Service.objects.get(provider=participant)
    assert (service.price_micros, service.tags) == (40_000_000, ["seo", "research"])
    assert service.deliverable_schema["required"] == ["summary"]
    assert client.get("/dashboard/provider/services/").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deliverable_schema", '{"type": "object", "properties": '),
        ("deliverable_schema", '{"type": "nonsense"}'),
        ("price", "twelve"),
        ("price_max", "10.00"),  # a range on a fixed price
    ],
)
def test_a_bad_field_is_shown_at_the_field_and_nothing_is_saved(
    provider: tuple[Client, Participant], field: str, value: str
) -> None:
    client, participant = provider

    response = client.post("/dashboard/provider/services/new/", service_form(**{field: value}))

    assert response.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in response.content
    assert not Service.objects.filter(provider=participant).exists()


def test_editing_a_service_changes_it(provider: tuple[Client, Participant]) -> None:
    client, participant = provider
    service = ServiceFactory(provider=participant, service_type=ServiceType.HUMAN_SERVICE)

    response = client.post(
        f"/dashboard/provider/services/{service.public_id}/",
        service_form(pricing_model="quote_required", price="20", price_max="80"),
    )

    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.price_micros, service.price_max_micros) == (20_000_000, 80_000_000)


def test_deactivate_then_archive(provider: tuple[Client, Participant]) -> None:
    client, participant = provider
    service = ServiceFactory(provider=participant)
    path = f"/dashboard/provider/services/{service.public_id}/status/"

    client.post(path, {"action": "deactivate"})
    service.refresh_from_db()
    assert service.status == Service.Status.INACTIVE
    client.post(path, {"action": "archive"})
    assert not Service.objects.filter(pk=service.pk, status__in=["active", "inactive"]).exists()


# --- the inbox --------------------------------------------------------------------------------
def test_start_and_deliver_with_generated_fields(provider: tuple[Client, Participant]) -> None:
    client, participant = provider
    service = ServiceFactory(
        provider=participant,
        service_type=ServiceType.HUMAN_SERVICE,
        deliverable_schema={
            "type": "object",
            "properties": {"summary": {"type": "string"}, "pages": {"type": "integer"}},
            "required": ["summary"],
        },
    )
    job = JobFactory(service=service)
    base = f"/dashboard/provider/jobs/{job.public_id}/"

    assert b"d_summary" in client.get(base).content
    assert client.post(base + "start/").status_code == 302
    refused = client.post(base + "deliver/", {"d_pages": "3"})
    assert refused.status_code == 400
    assert b'data-testid="error-d_summary"' in refused.content
    assert client.post(base + "deliver/", {"d_summary": "Done", "d_pages": "3"}).status_code == 302

    job.refresh_from_db()
    assert (job.status, job.deliverables) == (Job.Status.COMPLETED, {"summary": "Done", "pages": 3})


def test_fail_refunds_the_buyer(provider: tuple[Client, Participant]) -> None:
    client, participant = provider
    job = JobFactory(service=ServiceFactory(provider=participant))

    client.post(f"/dashboard/provider/jobs/{job.public_id}/fail/", {"reason": "Cannot"})

    job.refresh_from_db()
    assert job.status == Job.Status.REFUNDED
    assert job.escrow is not None and job.escrow.status == "refunded"


# --- who may do what --------------------------------------------------------------------------
def _others_paths(other: Participant) -> list[tuple[str, str, dict[str, str]]]:
    service = ServiceFactory(provider=other, service_type=ServiceType.HUMAN_SERVICE)
    job = JobFactory(service=service)
    delivery = WebhookDelivery.objects.create(
        event_id="evt_0123456789abcdef",
        event_type="test",
        participant=other,
        url="https://example.com/hook",
        payload="{}",
        status=WebhookDelivery.Status.FAILED,
    )
    s, j = service.public_id, job.public_id
    return [
        ("get", f"/dashboard/provider/services/{s}/", {}),
        ("post", f"/dashboard/provider/services/{s}/", service_form()),
        ("post", f"/dashboard/provider/services/{s}/status/", {"action": "deactivate"}),
        ("post", f"/dashboard/provider/services/{s}/test/", {}),
        ("get", f"/dashboard/provider/jobs/{j}/", {}),
        ("get", f"/dashboard/provider/jobs/{j}/thread/", {}),
        ("post", f"/dashboard/provider/jobs/{j}/start/", {}),
        ("post", f"/dashboard/provider/jobs/{j}/message/", {"text": "hi"}),
        ("post", f"/dashboard/provider/jobs/{j}/deliver/", {"deliverables": "{}"}),
        ("post", f"/dashboard/provider/jobs/{j}/fail/", {}),
        ("post", f"/dashboard/provider/webhooks/{delivery.public_id}/retry/", {}),
    ]


def test_every_action_on_another_providers_objects_is_a_404_and_changes_nothing(
    provider: tuple[Client, Participant], other: tuple[Client, Participant]
) -> None:
    client, _ = provider
    paths = _others_paths(other[1])
    before = list(Job.objects.values_list("status", flat=True))

    for method, path, data in paths:
        response = getattr(client, method)(path, data)
        assert response.status_code == 404, (method, path, response.status_code)

    assert list(Job.objects.values_list("status", flat=True)) == before
    assert Service.objects.filter(status="active").count() == 1


def test_an_agent_account_is_refused_every_provider_action(
    agent: tuple[Client, Participant], other: tuple[Client, Participant]
) -> None:
    client, _ = agent
    for method, path, data in _others_paths(other[1]):
        response = getattr(client, method)(path, data)
        if method == "get":
            assert response.status_code == 302, path  # to the onboarding form
        else:
            assert response.status_code == 403, path
    for path in ("/dashboard/provider/services/new/", "/dashboard/provider/webhook/rotate/"):
        assert client.post(path, service_form()).status_code == 403


def test_a_visitor_is_sent_to_sign_in() -> None:
    response = Client().get("/dashboard/provider/jobs/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- query counts -----------------------------------------------------------------------------
def _count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/provider/jobs/",
        "/dashboard/provider/jobs/?tab=finished",
        "/dashboard/provider/jobs/poll/",
        "/dashboard/provider/earnings/",
        "/dashboard/provider/services/",
        "/dashboard/provider/webhooks/",
    ],
)
def test_the_pages_query_counts_do_not_grow_with_the_jobs(
    provider: tuple[Client, Participant], path: str
) -> None:
    client, participant = provider
    service = ServiceFactory(provider=participant, service_type=ServiceType.HUMAN_SERVICE)
    JobFactory(service=service)
    few = _count(client, path)
    for _ in range(4):
        JobFactory(service=service)
        JobFactory(service=ServiceFactory(provider=participant))
    for job in Job.objects.filter(provider=participant)[:3]:
        client.post(f"/dashboard/provider/jobs/{job.public_id}/fail/")

    assert _count(client, path) == few


def test_the_inbox_query_count_is_pinned(provider: tuple[Client, Participant]) -> None:
    client, participant = provider
    for _ in range(3):
        JobFactory(service=ServiceFactory(provider=participant))

    # session, user, web account + participant, job counts, the tab's jobs, inquiries,
    # the two fingerprint reads
    assert _count(client, "/dashboard/provider/jobs/") == PINNED_INBOX


def test_the_earnings_query_count_is_pinned(provider: tuple[Client, Participant]) -> None:
    client, participant = provider
    for _ in range(3):
        JobFactory(service=ServiceFactory(provider=participant))

    assert _count(client, "/dashboard/provider/earnings/") == PINNED_EARNINGS


PINNED_INBOX = 8
PINNED_EARNINGS = 14


def test_the_agent_and_the_other_provider_see_none_of_this_provider_on_their_pages(
    provider: tuple[Client, Participant], other: tuple[Client, Participant]
) -> None:
    client, participant = provider
    job = JobFactory(service=ServiceFactory(provider=participant, name="Secret sauce"))

    page = other[0].get("/dashboard/provider/jobs/").content.decode()

    assert job.public_id not in page
    assert "Secret sauce" not in other[0].get("/dashboard/provider/services/").content.decode()


def test_a_provider_from_the_api_without_a_web_account_is_not_reachable() -> None:
    ParticipantFactory()
    assert Client().get("/dashboard/provider/").status_code == 302
