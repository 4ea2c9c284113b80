"""Product purchases and downloads raced (on PostgreSQL, the unique row and the row lock
are what is tested; SQLite serialises writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from marketplace.models import ProductPurchase
from payments.ledger_check import ledger_problems
from payments.models import Participant
from tests.marketplace.products.helpers import AGENT_PRICE, body, buy, create, download, party

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def client() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


def test_concurrent_purchases_of_one_product_charge_once() -> None:
    seller = party(Participant.Type.PROVIDER)
    product = create(client(), seller).json()["product_id"]
    buyer = party(balance=10 * AGENT_PRICE)
    responses = race(*[lambda: buy(client(), product, buyer) for _ in range(4)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.content for r in responses]
    assert all(r.json()["code"] == "already_purchased" for r in responses if r.status_code == 409)
    assert buyer.balance == 9 * AGENT_PRICE
    assert ProductPurchase.objects.count() == 1
    assert ledger_problems() == []


def test_concurrent_downloads_stop_at_the_limit() -> None:
    seller = party(Participant.Type.PROVIDER)
    product = create(client(), seller, download_limit=3).json()["product_id"]
    buyer = party(balance=10 * AGENT_PRICE)
    assert buy(client(), product, buyer).status_code == 201

    def fetch() -> tuple[int, bytes]:
        response = download(client(), product, buyer)
        return response.status_code, body(response) if response.status_code == 200 else b""

    results = race(*[fetch for _ in range(6)])
    assert sorted(status for status, _ in results) == [200, 200, 200, 403, 403, 403]
    assert ProductPurchase.objects.get().downloads == 3
