"""kill -9 while a request with an Idempotency-Key runs: its record stays "in progress" with
nobody to finish it. Once its lease has run out, a retry with the same key takes it over and
completes the request, charged once; before that, a retry is told it is in progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from web3 import Web3

from payments.chain.client import Deployment
from payments.chain.usdc import balance_of
from tests.payments.test_crash_recovery import (  # noqa: F401 - fixtures
    PATH,
    PAYMENT_STATE,
    PRICE,
    Server,
    _killed_mid_settlement,
    _paid_header,
    pytestmark,
    server,
    server_database,
)

RECORDS = (
    "import json; from payments.models import IdempotencyRecord as R; "
    "print(json.dumps([[r.status, r.attempt] for r in R.objects.all()]))"
)
LEASE_RUN_OUT = (
    "from datetime import timedelta; from django.utils import timezone; "
    "from payments.models import IdempotencyRecord as R; "
    "print(R.objects.update(lease_until=timezone.now() - timedelta(seconds=1)))"
)


def test_a_retry_takes_over_the_key_of_a_killed_request_once_its_lease_ran_out(
    server: Server,  # noqa: F811 - the fixture imported above
    w3: Web3,
    funded_payer: Callable[..., Any],
    chain: Deployment,
) -> None:
    payer = funded_payer(1_000_000)
    header = {**_paid_header(server, payer), "Idempotency-Key": "crash-1"}
    _killed_mid_settlement(server, w3, header)
    assert server.query(RECORDS) == [["in_progress", 1]]  # what the dead process left

    server.start()
    early = httpx.get(f"{server.url}{PATH}", headers=header, timeout=60)
    assert (early.status_code, early.json()["code"]) == (409, "idempotency_key_in_progress")

    assert server.query(LEASE_RUN_OUT) == 1  # the lease passes, nobody renewed it
    retry = httpx.get(f"{server.url}{PATH}", headers=header, timeout=60)
    assert retry.status_code == 200, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    again = httpx.get(f"{server.url}{PATH}", headers=header, timeout=60)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == retry.json()

    assert server.query(RECORDS) == [["completed", 2]]
    assert server.query(PAYMENT_STATE) == [["settled", True]]
    assert server.manage("ledger_check").returncode == 0
    assert balance_of(token=chain.usdc, address=payer.address) == 1_000_000 - PRICE
