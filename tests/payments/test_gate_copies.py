"""Issue 16, item 3: a copy of a paid request (the same payment header on the same request,
what a `202 payment_pending` asks for) gets the first request's answer, never a 409 and
never a second charge; run concurrently on PostgreSQL (CI's second run) and SQLite."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from marketplace.models import Job, ServiceType
from payments.chain.usdc import balance_of
from payments.ledger_check import ledger_problems
from payments.models import IdempotencyRecord, X402Payment
from tests.factories import ServiceFactory
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db(transaction=True)


def post(path: str, body: Any = None, **headers: str) -> Any:
    client = Client(HTTP_HOST="127.0.0.1")
    try:
        return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)
    finally:
        connection.close()


def test_concurrent_copies_of_a_purchase_get_its_one_job(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    service = ServiceFactory(service_type=ServiceType.AUTOMATED_SERVICE)
    path = f"/v1/services/{service.public_id}/purchase"
    brief = {"topic": "tides"}
    payer = funded_payer(10_000_000)
    header, value = payment_header(post(path, brief), payer, version=2)
    barrier = threading.Barrier(6)

    def copy(_: int) -> Any:
        barrier.wait(timeout=30)
        return post(path, brief, **{header: value})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(copy, range(6)))
    assert {answer.status_code for answer in answers} == {201}, [a.content for a in answers]
    assert len({answer.json()["job_id"] for answer in answers}) == 1
    assert Job.objects.count() == 1
    assert X402Payment.objects.count() == 1
    assert balance_of(token=chain.usdc, address=payer.address) == 10_000_000 - 1_050_000
    assert ledger_problems() == []


def test_a_copy_after_the_request_completed_gets_its_answer(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    path = "/v1/balance/deposit?amount=0.50"
    header, value = payment_header(post(path), payer, version=1)
    first = post(path, **{header: value})
    copy = post(path, **{header: value})
    assert (first.status_code, copy.status_code) == (201, 201)
    assert copy.json() == first.json()
    assert copy["X-PAYMENT-RESPONSE"] == first["X-PAYMENT-RESPONSE"]
    assert balance_of(token=chain.usdc, address=payer.address) == 500_000
    assert ledger_problems() == []


def test_the_payment_header_on_another_request_is_still_a_409(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(post("/v1/register", {"name": "A"}), payer, version=1)
    assert post("/v1/register", {"name": "A"}, **{header: value}).status_code == 201
    other = post("/v1/register", {"name": "B"}, **{header: value})
    assert (other.status_code, other.json()["code"]) == (409, "payment_already_used")


def test_with_an_idempotency_key_a_concurrent_repeat_stays_a_409(
    chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(1_000_000)
    header, value = payment_header(post("/v1/register", {"name": "A"}), payer, version=1)
    barrier = threading.Barrier(4)

    def copy(_: int) -> int:
        barrier.wait(timeout=30)
        return post(
            "/v1/register", {"name": "A"}, HTTP_IDEMPOTENCY_KEY="k1", **{header: value}
        ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(copy, range(4)))
    # One runs; a repeat while it runs is 409, one after it is its stored answer (201).
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    assert X402Payment.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
