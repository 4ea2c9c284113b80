"""Request bodies are refused by size before they are read (`the402.lib.bodylimit`).

A declared body (Content-Length) over the limit gets 413 without a byte of it being read:
a raw socket sends the headers of a huge body and only a few bytes, and the live server
answers at once (reading the body would wait for bytes that never come). A chunked body is
counted as it streams and stopped at the limit. The limit is `DATA_UPLOAD_MAX_MEMORY_SIZE`
for every parser (JSON, text briefs), 25 MB (plus multipart framing) for thread messages.
"""

from __future__ import annotations

import io
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.deals.threads import ATTACHMENT_MAX_BYTES, thread_open
from marketplace.models import Job, ThreadMessage
from payments.models import IdempotencyRecord, Participant, X402Payment
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, ServiceFactory, deposit

pytestmark = pytest.mark.django_db


def raw_exchange(base_url: str, head: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    """Send `head` and `body` on a socket, read the whole answer; (status, JSON body)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed without answering: {answer!r}"
            answer += chunk
        headers, rest = answer.split(b"\r\n\r\n", 1)
        length = next(
            int(line.split(b":", 1)[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk, "the server closed mid-answer"
            rest += chunk
    return int(headers.split(b" ", 2)[1]), json.loads(rest[:length])


def declared(path: str, length: int, content_type: str) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_huge_declared_attachment_is_refused_before_its_body_is_read(live_server: Any) -> None:
    head = declared(
        "/v1/threads/t_0123456789abcdef/messages", 10**12, "multipart/form-data; boundary=x"
    )
    status, body = raw_exchange(live_server.url, head, b"--x\r\n")
    assert (status, body["code"]) == (413, "payload_too_large")
    assert ThreadMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_attachment_just_over_25_mb_is_refused_by_its_declared_size(live_server: Any) -> None:
    head = declared(
        "/v1/threads/t_0123456789abcdef/messages",
        ATTACHMENT_MAX_BYTES + 1024 * 1024,
        "multipart/form-data; boundary=x",
    )
    status, body = raw_exchange(live_server.url, head, b"--x\r\n")
    assert (status, body["code"]) == (413, "payload_too_large")


@pytest.mark.django_db(transaction=True)
def test_a_huge_declared_text_brief_is_refused_before_its_body_is_read(live_server: Any) -> None:
    service = ServiceFactory()
    head = declared(f"/v1/services/{service.public_id}/purchase", 10**9, "text/plain")
    status, body = raw_exchange(live_server.url, head, b"please ")
    assert (status, body["code"]) == (413, "payload_too_large")
    assert Job.objects.count() == 0


def test_a_text_brief_over_the_limit_is_a_413_and_nothing_is_written(api: Client) -> None:
    service = ServiceFactory()
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, 10_000_000)
    key = api_key_issue(participant=buyer)
    brief = "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.post(
        f"/v1/services/{service.public_id}/purchase",
        brief,
        content_type="text/plain",
        HTTP_X_BALANCE_AUTH=key,
        HTTP_IDEMPOTENCY_KEY="big-brief",
    )
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert Job.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0


def test_a_json_body_over_the_limit_is_a_413_before_any_payment_challenge(api: Client) -> None:
    body = json.dumps({"name": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = api.post("/v1/register", body, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert X402Payment.objects.count() == 0


def test_an_attachment_above_the_default_limit_but_within_25_mb_is_stored(api: Client) -> None:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    thread = thread_open(service=ServiceFactory(), buyer=buyer, brief=None, message="Hello")
    content = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)
    response = api.post(
        f"/v1/threads/{thread.public_id}/messages",
        {"file": SimpleUploadedFile("big.bin", content, "application/octet-stream")},
        HTTP_X_API_KEY=api_key_issue(participant=buyer),
    )
    assert response.status_code == 201, response.content
    stored = ThreadMessage.objects.get(kind=ThreadMessage.Kind.ATTACHMENT)
    assert stored.attachment_size == len(content)


class EndlessBody:
    """A de-chunked request body that never ends (as gunicorn hands one over)."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = size if size > 0 else 65536
        self.read_bytes += size
        return b" " * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def chunked(stream: Any, *, terminated: bool = True) -> dict[str, Any]:
    """The WSGI environ of a chunked JSON request: no Content-Length, the body a stream."""
    return {
        "CONTENT_TYPE": "application/json",
        "wsgi.input": stream,
        "wsgi.input_terminated": terminated,
        "HTTP_TRANSFER_ENCODING": "chunked",
    }


def test_a_chunked_body_is_stopped_as_soon_as_it_passes_the_limit(api: Client) -> None:
    stream = EndlessBody()
    response = api.generic("POST", "/v1/register", b"", **chunked(stream))
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < stream.read_bytes
    assert stream.read_bytes <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1


def test_a_chunked_body_within_the_limit_is_read_as_the_body(api: Client) -> None:
    participant = ParticipantFactory()
    key = api_key_issue(participant=participant)
    stream = io.BytesIO(json.dumps({"name": "Sent chunked"}).encode())
    response = api.generic(
        "PUT",
        f"/v1/participants/{participant.public_id}",
        b"",
        HTTP_X_API_KEY=key,
        **chunked(stream),
    )
    assert response.status_code == 200, response.content
    participant.refresh_from_db()
    assert participant.name == "Sent chunked"


def test_a_chunked_body_the_server_cannot_dechunk_is_a_411_not_an_empty_body(
    api: Client,
) -> None:
    participant = ParticipantFactory(name="Unchanged")
    stream = io.BytesIO(b'{"name": "Lost"}')
    response = api.generic(
        "PUT",
        f"/v1/participants/{participant.public_id}",
        b"",
        HTTP_X_API_KEY=api_key_issue(participant=participant),
        **chunked(stream, terminated=False),
    )
    assert (response.status_code, response.json()["code"]) == (411, "length_required")
    assert stream.tell() == 0
