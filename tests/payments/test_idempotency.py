"""Idempotency-Key records: a lease a retry takes over once its runner died, expiry after 24
hours and the scheduled purge, encrypted stored responses, and a fingerprint of every body
type."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from payments import idempotency
from payments.idempotency import idempotent, request_fingerprint
from payments.ledger import agent_account, balance_of
from payments.models import IdempotencyRecord
from payments.services import api_key_issue, participant_update
from payments.tasks import purge_idempotency_records
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider
from the402.lib.errors import ApplicationError

pytestmark = pytest.mark.django_db
SCOPE = "p:par_test"


def drf_request(body: bytes = b'{"n": 1}', content_type: str = "application/json") -> Request:
    return Request(
        APIRequestFactory().post(
            "/v1/x", body, content_type=content_type, HTTP_IDEMPOTENCY_KEY="key-1"
        )
    )


class Handler:
    """A view's work: counts its runs, answers 201 with the run number."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> Response:
        self.runs += 1
        return Response({"run": self.runs}, status=201)


def left_by_a_dead_process(request: Request) -> None:
    """What a process that died while running `request` leaves: the record it claimed,
    in progress, nobody to complete or release it."""
    record, replay = idempotency._claim(SCOPE, "key-1", request_fingerprint(request))
    assert (record is not None, replay) == (True, None)


def run(request: Request, handler: Callable[[], Response]) -> tuple[int, Any]:
    try:
        response = idempotent(request, SCOPE, handler)
    except ApplicationError as exc:
        return exc.status_code, exc.code
    return response.status_code, response.data


def test_a_response_with_decimal_amounts_is_kept_and_replayed_as_rendered() -> None:
    def handler() -> Response:
        return Response({"balance_usd": Decimal("12.345678")}, status=201)

    first = run(drf_request(), handler)
    assert run(drf_request(), handler) == (201, {"balance_usd": 12.345678})
    assert first[0] == 201


# --- the lease --------------------------------------------------------------------------
def test_a_retry_within_the_lease_of_a_dead_runner_is_a_409() -> None:
    left_by_a_dead_process(drf_request())
    handler = Handler()
    with time_machine.travel(timezone.now() + idempotency.lease() - timedelta(seconds=5)):
        assert run(drf_request(), handler) == (409, "idempotency_key_in_progress")
    assert handler.runs == 0


def test_a_retry_after_the_lease_of_a_dead_runner_runs_once_and_is_kept() -> None:
    left_by_a_dead_process(drf_request())
    handler = Handler()
    with time_machine.travel(timezone.now() + idempotency.lease() + timedelta(seconds=1)):
        assert run(drf_request(), handler) == (201, {"run": 1})
        assert run(drf_request(), handler) == (201, {"run": 1})  # replayed
    assert handler.runs == 1
    assert IdempotencyRecord.objects.get().status == IdempotencyRecord.Status.COMPLETED


def test_a_different_request_cannot_take_over_an_expired_lease() -> None:
    left_by_a_dead_process(drf_request())
    handler = Handler()
    with time_machine.travel(timezone.now() + idempotency.lease() + timedelta(seconds=1)):
        assert run(drf_request(b'{"n": 2}'), handler) == (422, "idempotency_key_reused")
    assert handler.runs == 0


def test_two_retries_that_read_the_same_dead_record_cannot_both_take_it_over() -> None:
    left_by_a_dead_process(drf_request())
    fingerprint = request_fingerprint(drf_request())
    later = timezone.now() + idempotency.lease() + timedelta(seconds=1)
    first, second = IdempotencyRecord.objects.get(), IdempotencyRecord.objects.get()
    assert idempotency._take_over(first, fingerprint, later, expired=False) is not None
    assert idempotency._take_over(second, fingerprint, later, expired=False) is None
    assert IdempotencyRecord.objects.get().attempt == 2


def test_a_runner_taken_over_does_not_overwrite_the_new_runners_record() -> None:
    slow = drf_request()
    late = Handler()

    def taken_over_meanwhile() -> Response:
        # The lease ran out while this request still ran: a retry took the key over.
        with time_machine.travel(timezone.now() + idempotency.lease() + timedelta(seconds=1)):
            assert run(drf_request(), Handler()) == (201, {"run": 1})
        return late()

    response = idempotent(slow, SCOPE, taken_over_meanwhile)
    assert response.status_code == 201
    record = IdempotencyRecord.objects.get()
    assert record.attempt == 2
    assert run(drf_request(), Handler()) == (201, {"run": 1})  # the retry's answer is kept


def test_the_lease_is_configurable_but_outlasts_the_longest_wait(settings: Any) -> None:
    settings.IDEMPOTENCY_LEASE = 900
    assert idempotency.lease() == timedelta(seconds=900)
    settings.IDEMPOTENCY_LEASE, settings.SETTLE_TIMEOUT = 60, 300
    assert idempotency.lease() > timedelta(seconds=300 + settings.DATA_API_TIMEOUT)


# --- expiry and purge -------------------------------------------------------------------
def test_a_key_older_than_24_hours_is_new_again() -> None:
    handler = Handler()
    assert run(drf_request(), handler) == (201, {"run": 1})
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        assert run(drf_request(b'{"n": 2}'), handler) == (422, "idempotency_key_reused")
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        assert run(drf_request(b'{"n": 2}'), handler) == (201, {"run": 2})
        assert run(drf_request(b'{"n": 2}'), handler) == (201, {"run": 2})  # kept anew
    assert handler.runs == 2


def test_a_request_still_running_past_the_24_hours_keeps_its_key() -> None:
    start = timezone.now()
    with time_machine.travel(start):
        left_by_a_dead_process(drf_request())
    with time_machine.travel(start + timedelta(hours=24) - timedelta(seconds=1)):
        left_by_a_dead_process(drf_request())  # a retry took it over, and runs still
    handler = Handler()
    with time_machine.travel(start + timedelta(hours=24, seconds=1)):
        assert run(drf_request(), handler) == (409, "idempotency_key_in_progress")
        assert purge_idempotency_records() == 0
    assert handler.runs == 0


def test_the_purge_deletes_only_records_past_24_hours() -> None:
    start = timezone.now()
    with time_machine.travel(start):
        assert run(drf_request(), Handler())[0] == 201
    with time_machine.travel(start + timedelta(hours=12)):
        assert idempotent(drf_request(b"{}"), "p:other", Handler()).status_code == 201
    with time_machine.travel(start + timedelta(hours=24, seconds=1)):
        assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("scope", flat=True)) == ["p:other"]


def test_the_purge_runs_on_a_schedule() -> None:
    call_command("setup_schedules", verbosity=0)
    schedule = Schedule.objects.get(name="idempotency-purge")
    assert schedule.func == "payments.tasks.purge_idempotency_records"


# --- no secret in clear -----------------------------------------------------------------
def _stored_bodies() -> list[bytes]:
    """The response_body column as the database file holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM payments_idempotencyrecord")
        return [bytes(row[0]) for row in cursor.fetchall() if row[0] is not None]


def _post(api: Client, path: str, body: Any, **headers: str) -> Any:
    return api.post(path, json.dumps(body), content_type="application/json", **headers)


def test_a_replayed_registration_returns_the_key_which_is_stored_encrypted(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(_post(api, "/v1/register", {"name": "A"}), payer, version=1)
    paid = {header: value, "HTTP_IDEMPOTENCY_KEY": "reg-1"}
    first = _post(api, "/v1/register", {"name": "A"}, **paid)
    again = _post(api, "/v1/register", {"name": "A"}, **paid)
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true"
    key = first.json()["api_key"]
    assert again.json()["api_key"] == key
    stored = _stored_bodies()
    assert len(stored) == 1
    assert key.encode() not in stored[0] and b"api_key" not in stored[0]


def test_a_replayed_key_rotation_returns_the_new_key_which_is_stored_encrypted(
    api: Client, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(_post(api, "/v1/register", {"name": "A"}), payer, version=1)
    assert _post(api, "/v1/register", {"name": "A"}, **{header: value}).status_code == 201
    rotate = "/v1/participants/rotate-key"
    header, value = payment_header(_post(api, rotate, {}), payer, version=1)
    paid = {header: value, "HTTP_IDEMPOTENCY_KEY": "rotate-1"}
    first = _post(api, rotate, {}, **paid)
    again = _post(api, rotate, {}, **paid)
    assert (first.status_code, again["Idempotent-Replayed"]) == (200, "true")
    key = first.json()["api_key"]
    assert again.json()["api_key"] == key
    assert api.get("/v1/balance", HTTP_X_API_KEY=key).status_code == 200  # rotated once
    assert not any(key.encode() in body for body in _stored_bodies())


# --- the fingerprint covers every body --------------------------------------------------
@pytest.mark.parametrize(
    ("first", "second", "content_type"),
    [
        ("Weather in Faro, please", "Weather in Porto, please", "text/plain"),
        ('{"city": "Faro"}', '{"city": "Porto"}', "application/json"),
    ],
)
def test_the_same_key_with_another_brief_is_a_422_not_charged(
    api: Client,
    provider_server: Provider,
    settings: Any,
    first: str,
    second: str,
    content_type: str,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    service = ServiceFactory(provider=provider, price_micros=1_000)
    buyer = ParticipantFactory()
    deposit(buyer, 1_000_000)
    key = api_key_issue(participant=buyer)

    def buy(brief: str) -> Any:
        return api.post(
            f"/v1/services/{service.public_id}/purchase",
            brief,
            content_type=content_type,
            HTTP_X_BALANCE_AUTH=key,
            HTTP_IDEMPOTENCY_KEY="brief-1",
        )

    assert buy(first).status_code == 201
    charged_once = balance_of(agent_account(buyer))
    response = buy(second)
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
    assert len(provider_server.received) == 1
    assert balance_of(agent_account(buyer)) == charged_once < 1_000_000


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (b"\x00\x01binary", b"\x00\x02binary"),
        (b"\xff\xfe", b"\xfe\xff"),  # both decode to the same replacement characters
    ],
)
def test_raw_bodies_of_any_type_have_their_own_fingerprints(first: bytes, second: bytes) -> None:
    def fingerprint(body: bytes) -> str:
        return request_fingerprint(drf_request(body, "application/octet-stream"))

    assert fingerprint(first) == fingerprint(first)
    assert fingerprint(first) != fingerprint(second)


def test_the_fingerprint_covers_the_media_type() -> None:
    body = b'"Faro"'
    assert request_fingerprint(drf_request(body, "text/plain")) != request_fingerprint(
        drf_request(body, "application/json")
    )


# --- concurrency (PostgreSQL in CI) -----------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_of_many_concurrent_retries_after_the_lease_one_takes_the_key_over() -> None:
    left_by_a_dead_process(drf_request())
    handler = Handler()
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def counted() -> Response:
        with lock:
            return handler()

    def retry(_: int) -> tuple[int, Any]:
        barrier.wait()
        try:
            return run(drf_request(), counted)
        finally:
            connection.close()

    with time_machine.travel(timezone.now() + idempotency.lease() + timedelta(seconds=1)):
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(retry, range(8)))
    assert handler.runs == 1
    allowed = [(201, {"run": 1}), (409, "idempotency_key_in_progress")]
    assert all(outcome in allowed for outcome in outcomes), outcomes


# --- the key completes with the work ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_charge_never_commits_without_its_key_completed(
    provider_server: Provider, settings: Any
) -> None:
    """The record is completed in the charge's own transaction. Completed after it, a
    process dying in between (here the database refusing that statement) left the key in
    progress with the buyer charged: the retry after the lease bought again."""
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=provider_server.url)
    service = ServiceFactory(provider=provider, price_micros=1_000)
    buyer = ParticipantFactory()
    deposit(buyer, 1_000_000)
    key = api_key_issue(participant=buyer)
    table = IdempotencyRecord._meta.db_table

    def the_completion_fails(execute: Any, sql: str, *args: Any) -> Any:
        if sql.startswith("UPDATE") and table in sql and "response_body" in sql:
            raise OperationalError("the connection was lost")
        return execute(sql, *args)

    with connection.execute_wrapper(the_completion_fails), pytest.raises(OperationalError):
        Client().post(
            f"/v1/services/{service.public_id}/purchase",
            {},
            content_type="application/json",
            HTTP_X_BALANCE_AUTH=key,
            HTTP_IDEMPOTENCY_KEY="buy-1",
        )

    assert balance_of(agent_account(buyer)) == 1_000_000
    assert not IdempotencyRecord.objects.filter(key="buy-1").exists()
