"""Webhook delivery to providers: signing, retries, give-up, idempotency and the SSRF guard.

Each provider is a real HTTP server on 127.0.0.1 answering scripted status codes (or too
slowly); nothing about the HTTP side is mocked.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from marketplace.models import Service, WebhookDelivery
from marketplace.notify.outbox import deliver_due, deliveries_due, webhook_deliver, webhook_enqueue
from marketplace.notify.selectors import deliveries_for
from marketplace.notify.signing import sign, verify
from marketplace.notify.webhook_test import webhook_test
from payments.models import Participant
from payments.services import participant_update, webhook_secret
from tests.factories import ParticipantFactory, ServiceFactory
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.WEBHOOK_TIMEOUT = 1


def _provider(url: str) -> tuple[Participant, str]:
    """A provider with ``url`` as its webhook, and the webhook secret it was given."""
    participant = ParticipantFactory()
    participant_update(participant=participant, webhook_url=url)
    secret = webhook_secret(participant)  # every participant has one; a URL does not change it
    assert secret
    return participant, secret


def _enqueue(participant: Participant, **payload: Any) -> WebhookDelivery:
    delivery = webhook_enqueue(
        participant=participant,
        event_type=WebhookDelivery.EventType.JOB_DISPATCH,
        payload={"job_id": "job_1", **payload},
    )
    assert delivery is not None
    return delivery


def _make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# ---------------------------------------------------------------- signatures


def test_the_signature_verifies_with_the_providers_secret(provider_server: Provider) -> None:
    participant, secret = _provider(provider_server.url)
    webhook_deliver(_enqueue(participant).pk)

    [request] = provider_server.received
    timestamp = request.headers["X-Webhook-Timestamp"]
    signature = request.headers["X-Webhook-Signature"]
    assert signature.startswith("sha256=")
    assert verify(secret, timestamp, request.body, signature, now=time.time())


@pytest.fixture
def signed() -> tuple[str, int, bytes, str]:
    secret, timestamp, body = "whsec_provider", 1_800_000_000, b'{"id":"evt_1"}'
    return secret, timestamp, body, sign(secret, timestamp, body)


def test_a_tampered_body_fails_verification(signed: tuple[str, int, bytes, str]) -> None:
    secret, timestamp, body, signature = signed
    assert verify(secret, timestamp, body, signature, now=timestamp)
    assert not verify(secret, timestamp, body + b" ", signature, now=timestamp)


def test_a_wrong_secret_fails_verification(signed: tuple[str, int, bytes, str]) -> None:
    _, timestamp, body, signature = signed
    assert not verify("whsec_other", timestamp, body, signature, now=timestamp)


@pytest.mark.parametrize("skew", [301, -301], ids=["stale", "future"])
def test_a_timestamp_outside_the_tolerance_fails_verification(
    signed: tuple[str, int, bytes, str], skew: int
) -> None:
    secret, timestamp, body, signature = signed
    assert verify(secret, timestamp, body, signature, now=timestamp + 300)
    assert not verify(secret, timestamp, body, signature, now=timestamp + skew)


# ---------------------------------------------------------------- delivering


def test_a_200_marks_the_delivery_delivered_after_one_attempt(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    delivery = webhook_deliver(_enqueue(participant, brief={"topic": "x"}).pk)

    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert delivery.last_response_excerpt == '{"ok": true}'
    [request] = provider_server.received
    assert request.path == "/hooks/the402"
    assert request.body == delivery.payload.encode()
    event = json.loads(request.body)
    assert (event["id"], event["type"]) == (delivery.event_id, "job_dispatch")
    assert event["brief"] == {"topic": "x"}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "the402-webhooks/1"
    assert request.headers["X-Webhook-Id"] == delivery.event_id
    assert "X-Platform-Secret" not in request.headers


def test_the_delivery_is_queued_when_the_event_commits(
    provider_server: Provider, django_capture_on_commit_callbacks: Any
) -> None:
    participant, _ = _provider(provider_server.url)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = _enqueue(participant)
        assert provider_server.received == []  # nothing leaves before the commit

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert len(provider_server.received) == 1


def test_a_500_then_a_200_delivers_on_the_second_attempt(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    provider_server.answer(500)
    delivery = webhook_deliver(_enqueue(participant).pk)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert (delivery.attempts, delivery.last_status_code) == (1, 500)
    assert delivery.last_response_excerpt == "provider trouble"
    assert delivery.next_attempt_at is not None
    assert timedelta(seconds=7) < delivery.next_attempt_at - timezone.now() < timedelta(seconds=13)

    assert webhook_deliver(delivery.pk).attempts == 1  # not due yet: nothing sent
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        delivery = webhook_deliver(delivery.pk)

    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (2, 200, "")
    assert len(provider_server.received) == 2


def test_the_event_id_and_body_stay_the_same_across_retries(provider_server: Provider) -> None:
    participant, secret = _provider(provider_server.url)
    provider_server.answer(503)
    delivery = webhook_deliver(_enqueue(participant).pk)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        webhook_deliver(delivery.pk)

    first, second = provider_server.received
    assert first.headers["X-Webhook-Id"] == second.headers["X-Webhook-Id"] == delivery.event_id
    assert first.body == second.body
    # Each attempt is signed afresh, with its own timestamp.
    assert first.headers["X-Webhook-Timestamp"] != second.headers["X-Webhook-Timestamp"]
    for request in (first, second):
        timestamp = int(request.headers["X-Webhook-Timestamp"])
        assert verify(
            secret, timestamp, request.body, request.headers["X-Webhook-Signature"], now=timestamp
        )


def test_a_timeout_is_retried(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    provider_server.answer(200, delay=2.0)  # past the 1 s timeout
    delivery = webhook_deliver(_enqueue(participant).pk)

    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "timed out" in delivery.last_error
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        delivery = webhook_deliver(delivery.pk)
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 2


def test_a_410_fails_the_delivery_at_once(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    provider_server.answer(410)
    delivery = webhook_deliver(_enqueue(participant).pk)

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert (delivery.attempts, delivery.last_status_code) == (1, 410)
    assert delivery.next_attempt_at is None
    assert not deliveries_due(timezone.now() + timedelta(days=2)).exists()


def test_a_redirect_is_not_followed_and_is_retried(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    provider_server.answer(302)
    delivery = webhook_deliver(_enqueue(participant).pk)

    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error
    assert len(provider_server.received) == 1


def test_after_24_hours_of_failures_the_delivery_fails_and_is_no_longer_due(
    provider_server: Provider,
) -> None:
    participant, _ = _provider(provider_server.url)
    provider_server.answer(*[500] * 3)
    start = timezone.now()
    delivery = webhook_deliver(_enqueue(participant).pk)

    with time_machine.travel(start + timedelta(hours=23)):
        delivery = webhook_deliver(delivery.pk)
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert delivery.next_attempt_at is not None
        assert delivery.next_attempt_at <= delivery.created_at + timedelta(hours=24)
    with time_machine.travel(start + timedelta(hours=24, minutes=1)):
        delivery = webhook_deliver(delivery.pk)

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert (delivery.attempts, delivery.last_status_code) == (3, 500)
    assert delivery.next_attempt_at is None
    assert not deliveries_due(start + timedelta(days=3)).exists()
    assert deliver_due() == 0
    assert len(provider_server.received) == 3


@pytest.mark.django_db(transaction=True)
def test_one_delivery_run_twice_at_once_posts_once(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    # Committed at once here, so the first attempt runs on enqueue (django-q2 sync): make it
    # fail, then race two runs for the retry.
    provider_server.answer(500)
    delivery = _enqueue(participant)
    assert len(provider_server.received) == 1
    _make_due(delivery)
    provider_server.answer(200, delay=0.3)
    start = threading.Barrier(2)

    def run(_: int) -> None:
        try:
            start.wait()
            webhook_deliver(delivery.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(run, range(2)))

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 2
    assert len(provider_server.received) == 2


def test_deliver_due_sends_only_the_due_deliveries(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    due, later, done = _enqueue(participant), _enqueue(participant), _enqueue(participant)
    WebhookDelivery.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    webhook_deliver(done.pk)
    provider_server.received.clear()

    assert deliver_due() == 1

    assert [r.headers["X-Webhook-Id"] for r in provider_server.received] == [due.event_id]
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: WebhookDelivery.Status.DELIVERED,
        later.pk: WebhookDelivery.Status.PENDING,
        done.pk: WebhookDelivery.Status.DELIVERED,
    }


# ---------------------------------------------------------------- where deliveries go


def test_without_a_webhook_url_nothing_is_stored_or_sent() -> None:
    participant = ParticipantFactory()
    delivery = webhook_enqueue(
        participant=participant, event_type="job_dispatch", payload={"job_id": "job_1"}
    )

    assert delivery is None
    assert not WebhookDelivery.objects.exists()


def test_the_services_webhook_url_wins_over_the_providers(provider_server: Provider) -> None:
    participant, _ = _provider("https://provider.example/hooks")
    service = ServiceFactory(provider=participant, webhook_url=provider_server.url)
    delivery = webhook_enqueue(
        participant=participant,
        event_type="thread_inquiry",
        payload={"thread_id": "thr_1"},
        service=service,
    )
    assert delivery is not None and delivery.url == provider_server.url

    assert webhook_deliver(delivery.pk).status == WebhookDelivery.Status.DELIVERED
    assert delivery.service == service


def test_a_provider_stored_without_a_secret_gets_one_and_a_signed_delivery(
    provider_server: Provider,
) -> None:
    participant = ParticipantFactory(webhook_url=provider_server.url)
    # A row from before every participant had a webhook secret.
    Participant.objects.filter(pk=participant.pk).update(webhook_secret_encrypted=None)
    participant.refresh_from_db()
    delivery = webhook_deliver(_enqueue(participant).pk)

    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.signed is True
    [request] = provider_server.received
    participant.refresh_from_db()
    secret = webhook_secret(participant)
    assert secret is not None
    timestamp = request.headers["X-Webhook-Timestamp"]
    signature = request.headers["X-Webhook-Signature"]
    assert verify(secret, timestamp, request.body, signature, now=int(timestamp))


@pytest.mark.parametrize(
    "url",
    [
        None,  # the test provider's own 127.0.0.1 URL
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3:8080/hook",
        "http://[::1]:9/hook",
    ],
)
def test_a_private_address_is_refused_without_a_request(
    provider_server: Provider, settings: Any, url: str | None
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    participant, _ = _provider(url or provider_server.url)
    delivery = webhook_deliver(_enqueue(participant).pk)

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error.startswith("refused:")
    assert delivery.last_status_code is None and delivery.last_latency_ms is None
    assert provider_server.received == []


def test_a_hostname_resolving_to_loopback_is_refused_and_retried_later(
    provider_server: Provider, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    port = provider_server.url.split(":")[2].split("/")[0]
    participant, _ = _provider(f"http://localhost:{port}/hooks")
    delivery = webhook_deliver(_enqueue(participant).pk)

    assert delivery.status == WebhookDelivery.Status.PENDING  # its DNS may be fixed
    assert delivery.last_error.startswith("refused: localhost resolves to non-public")
    assert provider_server.received == []


# ---------------------------------------------------------------- the test probe and the log


def test_webhook_test_with_a_200_marks_the_webhook_healthy(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    service = ServiceFactory(provider=participant)

    result = webhook_test(service)

    assert result["success"] is True
    assert result["status_code"] == 200
    assert result["latency_ms"] is not None and 0 <= result["latency_ms"] < 1000
    assert "no webhook secret: deliveries are unsigned" not in result["warnings"]
    service.refresh_from_db()
    assert service.webhook_healthy is True and service.webhook_checked_at is not None
    [request] = provider_server.received
    event = json.loads(request.body)
    assert (event["type"], event["test"], event["service_id"]) == ("test", True, service.public_id)
    assert "X-Webhook-Signature" in request.headers
    logged = WebhookDelivery.objects.get(event_type="test")
    assert logged.status == WebhookDelivery.Status.DELIVERED


def test_webhook_test_with_a_500_marks_the_webhook_unhealthy_without_retrying(
    provider_server: Provider,
) -> None:
    participant = ParticipantFactory(webhook_url=provider_server.url)
    service = ServiceFactory(provider=participant)
    provider_server.answer(500)

    result = webhook_test(service)

    assert (result["success"], result["status_code"]) == (False, 500)
    assert result["latency_ms"] is not None
    assert "no webhook secret: deliveries are unsigned" not in result["warnings"]
    assert Service.objects.get(pk=service.pk).webhook_healthy is False
    logged = WebhookDelivery.objects.get(event_type="test")
    assert logged.status == WebhookDelivery.Status.FAILED  # one attempt only
    assert not deliveries_due(timezone.now() + timedelta(days=1)).exists()


def test_deliveries_for_lists_a_providers_log_newest_first(provider_server: Provider) -> None:
    participant, _ = _provider(provider_server.url)
    other, _ = _provider(provider_server.url)
    first, second = _enqueue(participant), _enqueue(participant)
    _enqueue(other)

    assert list(deliveries_for(participant, limit=10, offset=0)) == [second, first]
    assert list(deliveries_for(participant, limit=1, offset=1)) == [first]
