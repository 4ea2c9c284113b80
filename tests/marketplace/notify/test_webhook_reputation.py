"""A webhook delivery's end feeds its provider's reliability (issue 16 wiring): delivered or
given up, once per event; a test probe and a delivery without a service do not count."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.models import WebhookDelivery
from marketplace.notify.outbox import webhook_deliver, webhook_enqueue
from marketplace.notify.webhook_test import webhook_test
from payments.services import participant_update
from reputation.models import Signal
from tests.factories import ParticipantFactory, ServiceFactory
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
K = Signal.Kind


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 2


def dispatch(url: str, *, with_service: bool = True) -> WebhookDelivery:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=url)
    service = ServiceFactory(provider=provider) if with_service else None
    delivery = webhook_enqueue(
        participant=provider,
        event_type=WebhookDelivery.EventType.JOB_DISPATCH,
        payload={"job_id": "job_1"},
        service=service,
    )
    assert delivery is not None
    return delivery


def test_a_delivered_webhook_counts_for_reliability(provider_server: Provider) -> None:
    delivery = dispatch(provider_server.url)
    webhook_deliver(delivery.pk)
    signal = Signal.objects.get(reference=delivery.event_id)
    assert (signal.kind, signal.reliability, signal.weight) == (K.WEBHOOK_DELIVERED, 1.0, 0.25)
    assert signal.service_public_id == delivery.service.public_id


def test_a_webhook_given_up_counts_against_it(provider_server: Provider) -> None:
    provider_server.answer(410)
    delivery = dispatch(provider_server.url)
    webhook_deliver(delivery.pk)
    signal = Signal.objects.get(reference=delivery.event_id)
    assert (signal.kind, signal.reliability) == (K.WEBHOOK_FAILED, 0.0)


def test_a_failure_to_be_retried_records_nothing_yet(provider_server: Provider) -> None:
    provider_server.answer(500)
    delivery = dispatch(provider_server.url)
    webhook_deliver(delivery.pk)
    assert not Signal.objects.filter(reference=delivery.event_id).exists()


def test_a_test_probe_does_not_count(provider_server: Provider) -> None:
    provider = ParticipantFactory()
    service = ServiceFactory(provider=provider, webhook_url=provider_server.url)
    assert webhook_test(service)["success"] is True
    assert not Signal.objects.filter(kind=K.WEBHOOK_DELIVERED).exists()


def test_a_delivery_without_a_service_does_not_count(provider_server: Provider) -> None:
    delivery = dispatch(provider_server.url, with_service=False)
    webhook_deliver(delivery.pk)
    assert not Signal.objects.exists()
