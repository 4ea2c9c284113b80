"""`POST /v1/services/:id/test` and `GET /v1/provider/webhooks`, against a real provider."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace.notify.signing import verify
from payments.services import api_key_issue, participant_update, webhook_secret
from tests.factories import ParticipantFactory, ServiceFactory
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 1


def provider_with_hook(url: str) -> tuple[Any, str]:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=url)
    return provider, api_key_issue(participant=provider)


def test_a_webhook_test_sends_a_signed_event_and_marks_the_service_healthy(
    api: Client, provider_server: Provider
) -> None:
    provider, key = provider_with_hook(provider_server.url)
    service = ServiceFactory(provider=provider)
    body = api.post(f"/v1/services/{service.public_id}/test", HTTP_X_API_KEY=key).json()
    assert (body["success"], body["status_code"]) == (True, 200)
    sent = provider_server.received[0]
    assert verify(
        webhook_secret(provider),
        sent.headers["X-Webhook-Timestamp"],
        sent.body,
        sent.headers["X-Webhook-Signature"],
        now=int(sent.headers["X-Webhook-Timestamp"]),
    )
    entry = api.get(f"/v1/services/{service.public_id}").json()
    assert entry["webhook_healthy"] is True


def test_a_failing_webhook_marks_the_service_unhealthy(
    api: Client, provider_server: Provider
) -> None:
    provider, key = provider_with_hook(provider_server.url)
    service = ServiceFactory(provider=provider)
    provider_server.answer(500)
    body = api.post(f"/v1/services/{service.public_id}/test", HTTP_X_API_KEY=key).json()
    assert (body["success"], body["status_code"]) == (False, 500)
    assert api.get(f"/v1/services/{service.public_id}").json()["webhook_healthy"] is False


def test_only_the_owner_can_test_a_webhook(api: Client, provider_server: Provider) -> None:
    provider, _ = provider_with_hook(provider_server.url)
    _, other_key = provider_with_hook(provider_server.url)
    service = ServiceFactory(provider=provider)
    response = api.post(f"/v1/services/{service.public_id}/test", HTTP_X_API_KEY=other_key)
    assert response.status_code == 403
    assert provider_server.received == []


def test_the_delivery_log_lists_the_providers_own_deliveries(
    api: Client, provider_server: Provider
) -> None:
    provider, key = provider_with_hook(provider_server.url)
    service = ServiceFactory(provider=provider)
    api.post(f"/v1/services/{service.public_id}/test", HTTP_X_API_KEY=key)
    other, other_key = provider_with_hook(provider_server.url)
    body = api.get("/v1/provider/webhooks", HTTP_X_API_KEY=key).json()
    assert [d["type"] for d in body["deliveries"]] == ["test"]
    assert body["deliveries"][0]["service_id"] == service.public_id
    assert api.get("/v1/provider/webhooks", HTTP_X_API_KEY=other_key).json()["deliveries"] == []
