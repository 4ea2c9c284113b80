"""Calls to providers: an answer cut off, empty or null is not a delivery; one total deadline
for the whole exchange; the SSRF guard's IPv6 forms and our own services' ports.

The misbehaving providers are real TCP servers on 127.0.0.1 writing raw HTTP, so each
failure is the one a client meets on the wire; nothing on the HTTP side is mocked.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from marketplace.models import Job, WebhookDelivery
from marketplace.notify.outbox import webhook_deliver, webhook_enqueue
from payments.ledger import agent_account, balance_of
from payments.ledger_check import ledger_problems
from payments.models import Participant
from payments.services import api_key_issue, participant_update
from tests.factories import ParticipantFactory, ServiceFactory, deposit
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
PRICE = 1_000_000
START = 10 * PRICE


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.WEBHOOK_TIMEOUT = 1
    settings.DATA_API_TIMEOUT = 1


# --- a provider that answers raw bytes ------------------------------------------------------
Answer = Callable[[socket.socket], None]


@contextmanager
def raw_provider(answer: Answer) -> Iterator[str]:
    """A provider on 127.0.0.1 that reads each request whole, then lets ``answer`` write to
    the socket (which is closed when it returns); yields its URL."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.rfile.read(length)
            try:
                answer(self.connection)
            except OSError:  # the client hung up (gave up waiting)
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def head(length: int, *extra: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {length}"]
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


def drip(conn: socket.socket, data: bytes, every: float = 0.5) -> None:
    for i in range(len(data)):
        conn.sendall(data[i : i + 1])
        time.sleep(every)


def cut_off(conn: socket.socket) -> None:
    conn.sendall(head(100) + b'{"temperature": 2')  # 17 of 100 bytes, then closed


def empty(conn: socket.socket) -> None:
    conn.sendall(head(0))


def null(conn: socket.socket) -> None:
    conn.sendall(head(4) + b"null")


def body_dripped(conn: socket.socket) -> None:
    body = b'"' + b"x" * 14 + b'"'  # valid JSON, whole after 8 s at a byte every 0.5 s
    conn.sendall(head(len(body)))
    drip(conn, body)


def headers_dripped(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    drip(conn, b"X-Slow: " + b"a" * 12 + b"\r\n")  # each byte well within the 1 s timeout
    conn.sendall(b"Content-Length: 2\r\n\r\n{}")


# --- buying from a data API -----------------------------------------------------------------
def data_api_at(url: str) -> Any:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=url)
    return ServiceFactory(provider=provider, price_micros=PRICE)


def buyer_key() -> tuple[Participant, str]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, START)
    return buyer, api_key_issue(participant=buyer)


def buy_from(api: Client, answer: Answer) -> tuple[Any, Participant]:
    """Buy from a data API whose provider answers with ``answer``, paying from a balance."""
    buyer, key = buyer_key()
    with raw_provider(answer) as url:
        service = data_api_at(url)
        response = api.post(
            f"/v1/services/{service.public_id}/purchase",
            "{}",
            content_type="application/json",
            HTTP_X_BALANCE_AUTH=key,
        )
    return response, buyer


def assert_not_charged(buyer: Participant) -> None:
    assert balance_of(agent_account(buyer)) == START
    assert not Job.objects.exists()
    assert ledger_problems() == []


def logged() -> WebhookDelivery:
    return WebhookDelivery.objects.get(event_type=WebhookDelivery.EventType.JOB_DISPATCH)


def test_an_answer_cut_off_before_its_content_length_is_a_502_and_not_charged(
    api: Client,
) -> None:
    response, buyer = buy_from(api, cut_off)

    assert response.status_code == 502, response.content
    assert response.json()["code"] == "provider_unavailable"
    assert_not_charged(buyer)
    delivery = logged()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "not received whole" in delivery.last_error


def test_an_empty_answer_is_a_502_and_not_charged(api: Client) -> None:
    response, buyer = buy_from(api, empty)

    assert (response.status_code, response.json()["code"]) == (502, "provider_error")
    assert_not_charged(buyer)
    delivery = logged()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error == "The provider's answer is empty"


def test_a_null_answer_is_a_502_and_not_charged(api: Client) -> None:
    response, buyer = buy_from(api, null)

    assert (response.status_code, response.json()["code"]) == (502, "provider_error")
    assert_not_charged(buyer)
    delivery = logged()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error == "The provider's answer is null"


# --- one deadline for the whole exchange ----------------------------------------------------
def test_a_data_api_dripping_its_answer_is_cut_off_at_the_deadline(api: Client) -> None:
    started = time.monotonic()
    response, buyer = buy_from(api, body_dripped)

    assert (response.status_code, response.json()["code"]) == (504, "provider_timeout")
    assert time.monotonic() - started < 5  # the drip alone takes 8 s
    assert_not_charged(buyer)
    assert "timed out" in logged().last_error


def test_a_webhook_dripping_its_headers_times_out_and_is_retried() -> None:
    with raw_provider(headers_dripped) as url:
        provider = ParticipantFactory()
        participant_update(participant=provider, webhook_url=url)
        delivery = webhook_enqueue(
            participant=provider,
            event_type=WebhookDelivery.EventType.JOB_DISPATCH,
            payload={"job_id": "job_1"},
        )
        assert delivery is not None
        delivery = webhook_deliver(delivery.pk)

    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("timed out after 1s")


# --- the SSRF guard -------------------------------------------------------------------------
def deliver_to(url: str) -> WebhookDelivery:
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=url)
    delivery = webhook_enqueue(
        participant=provider,
        event_type=WebhookDelivery.EventType.JOB_DISPATCH,
        payload={"job_id": "job_1"},
    )
    assert delivery is not None
    return webhook_deliver(delivery.pk)


def port_of(provider_server: Provider) -> int:
    return int(provider_server.url.split(":")[2].split("/")[0])


@pytest.mark.parametrize(
    "host",
    ["[::127.0.0.1]", "[::ffff:127.0.0.1]", "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]"],
    ids=["ipv4-compatible", "ipv4-mapped", "nat64", "6to4"],
)
def test_an_ipv6_form_of_loopback_is_refused(
    provider_server: Provider, settings: Any, host: str
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    delivery = deliver_to(f"http://{host}:{port_of(provider_server)}/hooks")

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error.startswith("refused:")
    assert provider_server.received == []


def test_the_chains_rpc_port_is_refused_even_with_private_addresses_allowed(
    provider_server: Provider, settings: Any
) -> None:
    port = port_of(provider_server)  # the "chain" listens where the webhook points
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{port}"
    delivery = deliver_to(f"http://127.0.0.1:{port}/")

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "one of our own services" in delivery.last_error
    assert provider_server.received == []


def test_the_chains_rpc_port_is_refused_behind_an_ipv4_mapped_address(
    provider_server: Provider, settings: Any
) -> None:
    port = port_of(provider_server)
    settings.CHAIN_RPC_URL = f"http://localhost:{port}"
    delivery = deliver_to(f"http://[::ffff:127.0.0.1]:{port}/")

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "one of our own services" in delivery.last_error
    assert provider_server.received == []


def test_a_hostname_on_the_chains_rpc_port_is_refused(
    provider_server: Provider, settings: Any
) -> None:
    port = port_of(provider_server)
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{port}"
    delivery = deliver_to(f"http://localhost:{port}/")

    assert "one of our own services" in delivery.last_error
    assert provider_server.received == []


def test_the_redis_port_is_refused_even_with_private_addresses_allowed(
    provider_server: Provider, settings: Any
) -> None:
    port = port_of(provider_server)
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    delivery = deliver_to(f"http://127.0.0.1:{port}/")

    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "one of our own services" in delivery.last_error
    assert provider_server.received == []


def test_a_public_chain_rpc_leaves_private_ports_alone(
    provider_server: Provider, settings: Any
) -> None:
    port = port_of(provider_server)
    settings.CHAIN_RPC_URL = f"http://8.8.8.8:{port}"  # a public host: nothing of ours there
    delivery = deliver_to(provider_server.url)

    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert json.loads(provider_server.received[0].body)["job_id"] == "job_1"
