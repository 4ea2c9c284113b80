"""The provider's webhook on the dashboard: a test event answered inline, and "retry now" of
a failed delivery (same event, one more attempt)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace.notify.models import WebhookDelivery
from marketplace.notify.webhook_test import webhook_test
from payments.models import WebAccount
from tests.factories import ServiceFactory
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    settings.WEBHOOK_TIMEOUT = 1


@pytest.fixture
def provider(django_user_model: Any, provider_server: Provider) -> tuple[Client, Any]:
    user = django_user_model.objects.create_user("pia", "pia@example.com", "a long password 1")
    client = Client()
    client.force_login(user)
    client.get("/dashboard/")
    response = client.post(
        "/dashboard/provider/onboard/", {"name": "Pia", "webhook_url": provider_server.url}
    )
    assert response.status_code == 302
    return client, WebAccount.objects.get(user=user).participant


def test_a_test_event_is_sent_and_its_answer_shown_inline(
    provider: tuple[Client, Any], provider_server: Provider
) -> None:
    client, participant = provider

    page = client.post("/dashboard/provider/webhook/test/").content.decode()

    assert 'data-testid="test-result"' in page and "HTTP 200" in page
    [request] = provider_server.received
    assert b'"test":true' in request.body
    assert WebhookDelivery.objects.get(participant=participant).event_type == "test"


def test_retry_now_delivers_a_failed_delivery_with_the_same_event(
    provider: tuple[Client, Any], provider_server: Provider
) -> None:
    client, participant = provider
    provider_server.answer(500)
    webhook_test(ServiceFactory(provider=participant))
    failed = WebhookDelivery.objects.get(participant=participant)
    assert failed.status == WebhookDelivery.Status.FAILED

    response = client.post(f"/dashboard/provider/webhooks/{failed.public_id}/retry/")

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_status_code) == ("delivered", 2, 200)
    first, second = provider_server.received
    assert first.body == second.body  # the same event id and body
    assert "/retry/" not in client.get("/dashboard/provider/webhooks/").content.decode()
