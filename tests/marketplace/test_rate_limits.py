"""Rate limits on the free endpoints that make us work: the webhook test (each one calls the
provider's URL) and thread messages sent with an API key. Counted in the shared cache (the
database cache here), per authenticated caller."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from marketplace.models import PricingModel, ServiceType, ThreadMessage
from payments.models import Participant
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
LIMIT = 2


@pytest.fixture(autouse=True)
def _low_limits(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.WEBHOOK_TIMEOUT = 1
    settings.RATE_LIMITS = {"webhook_test": LIMIT, "thread_message": LIMIT}


def provider(url: str = "") -> tuple[Participant, str]:
    participant = ParticipantFactory(type=Participant.Type.PROVIDER)
    if url:
        participant_update(participant=participant, webhook_url=url)
    return participant, api_key_issue(participant=participant)


def assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["error"].startswith(f"Too many requests: at most {LIMIT} every 60 seconds")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_webhook_test_is_refused_past_its_limit_without_calling_out(
    api: Client, provider_server: Provider
) -> None:
    seller, key = provider(provider_server.url)
    path = f"/v1/services/{ServiceFactory(provider=seller).public_id}/test"
    for _ in range(LIMIT):
        assert api.post(path, HTTP_X_API_KEY=key).status_code == 200

    assert_rate_limited(api.post(path, HTTP_X_API_KEY=key))
    assert len(provider_server.received) == LIMIT


def test_one_providers_webhook_tests_do_not_spend_anothers_allowance(
    api: Client, provider_server: Provider
) -> None:
    first, first_key = provider(provider_server.url)
    second, second_key = provider(provider_server.url)
    for _ in range(LIMIT + 1):
        api.post(
            f"/v1/services/{ServiceFactory(provider=first).public_id}/test",
            HTTP_X_API_KEY=first_key,
        )

    path = f"/v1/services/{ServiceFactory(provider=second).public_id}/test"
    assert api.post(path, HTTP_X_API_KEY=second_key).status_code == 200


def test_thread_messages_with_an_api_key_are_refused_past_the_limit(api: Client) -> None:
    seller, _ = provider()
    service = ServiceFactory(
        provider=seller,
        service_type=ServiceType.AUTOMATED_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=1_000_000,
        price_max_micros=100_000_000,
    )
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, 10_000_000)
    key = api_key_issue(participant=buyer)
    opened = api.post(
        f"/v1/services/{service.public_id}/inquire",
        json.dumps({"message": "Hello?", "brief": {}}),
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=key,
    )
    assert opened.status_code == 201, opened.content
    path = f"/v1/threads/{opened.json()['thread_id']}/messages"
    before = ThreadMessage.objects.count()

    def send() -> Any:
        return api.post(
            path, json.dumps({"message": "Any news?"}), "application/json", HTTP_X_API_KEY=key
        )

    for _ in range(LIMIT):
        assert send().status_code == 201
    assert_rate_limited(send())
    assert ThreadMessage.objects.count() == before + LIMIT
