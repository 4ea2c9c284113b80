"""A remote facilitator that misbehaves after accepting a payment: it hangs past our
timeout, fails with a 5xx, answers with garbage, or says the settlement is still pending.
Each time the outcome is unknown (the transfer may have been broadcast), so the buyer gets
`202 payment_pending` and never a fresh 402 that would make it pay twice; replaying the same
header stays pending. Only an explicit refusal is a 402, and then the payment may not be
replayed as if it had paid.

The facilitator is a real HTTP server on 127.0.0.1; the buyer signs real authorizations.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from eth_account import Account

from payments.facilitators import facilitator
from payments.ledger import PLATFORM_FEES, balance_of
from payments.ledger_check import ledger_problems
from payments.models import X402Payment
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db

PATH = f"/v1/reputation/0x{'ab' * 20}"  # a $0.005 read
TX = "0x" + "ee" * 32


class HostileFacilitator:
    """Verifies every payment; settles according to `mode`."""

    def __init__(self) -> None:
        self.mode = "refuse"
        self.settle_calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.endswith("/verify"):
                    payer = request["paymentPayload"]["payload"]["authorization"]["from"]
                    self._answer(200, json.dumps({"isValid": True, "payer": payer}).encode())
                    return
                owner.settle_calls += 1
                owner.settle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/facilitator"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settle(self, handler: Any) -> None:
        if self.mode == "hang":
            time.sleep(3)  # past the client's timeout
            handler._answer(200, json.dumps({"success": True, "transaction": TX}).encode())
        elif self.mode == "bad gateway":
            handler._answer(502, b'{"error": "upstream"}')
        elif self.mode == "garbage":
            handler._answer(200, b"<html>oops</html>")
        elif self.mode == "still pending":
            body = {"success": False, "errorReason": "settlement_pending", "transaction": TX}
            handler._answer(200, json.dumps(body).encode())
        else:  # "refuse": a definite answer, nothing was sent
            body = {"success": False, "errorReason": "insufficient_funds"}
            handler._answer(200, json.dumps(body).encode())


@pytest.fixture
def hostile(chain: Any, settings: Any) -> Iterator[HostileFacilitator]:
    remote = HostileFacilitator()
    settings.FACILITATOR = remote.url
    settings.SETTLE_TIMEOUT = 1
    facilitator.cache_clear()
    yield remote
    facilitator.cache_clear()
    remote.server.shutdown()


@pytest.fixture
def paid(api: Client) -> Callable[[], tuple[str, str]]:
    """A fresh, validly signed payment header for PATH."""

    def _make() -> tuple[str, str]:
        return payment_header(api.get(PATH), Account.create(), version=2)

    return _make


@pytest.mark.parametrize("mode", ["hang", "bad gateway", "garbage", "still pending"])
def test_an_unknown_settlement_is_pending_never_a_fresh_402(
    api: Client, hostile: HostileFacilitator, paid: Callable[[], tuple[str, str]], mode: str
) -> None:
    hostile.mode = mode
    header, value = paid()

    first = api.get(PATH, **{header: value})
    again = api.get(PATH, **{header: value})  # the client retries the same payment

    for response in (first, again):
        assert (response.status_code, response.json()["code"]) == (202, "payment_pending")
        assert "PAYMENT-REQUIRED" not in response
    payment = X402Payment.objects.get()
    assert (payment.status, payment.fulfilled_at) == (X402Payment.Status.PENDING, None)
    assert hostile.settle_calls == 1  # the retry asked about the payment, not to pay again
    assert balance_of(PLATFORM_FEES) == 0  # nothing is booked until the chain says so
    assert ledger_problems() == []


def test_a_refused_settlement_is_a_402_and_the_payment_cannot_be_replayed(
    api: Client, hostile: HostileFacilitator, paid: Callable[[], tuple[str, str]]
) -> None:
    header, value = paid()

    refused = api.get(PATH, **{header: value})
    replayed = api.get(PATH, **{header: value})

    assert (refused.status_code, refused.json()["code"]) == (402, "insufficient_funds")
    assert replayed.status_code == 402
    assert "failed to settle" in replayed.json()["error"]
    assert X402Payment.objects.get().status == X402Payment.Status.FAILED
    assert hostile.settle_calls == 1
    assert balance_of(PLATFORM_FEES) == 0
