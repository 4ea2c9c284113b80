"""Idempotency-Key on a paid multipart request (a thread attachment paid from a balance):
the body was consumed by parsing, so the fingerprint is made from its fields and files."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.deals.threads import thread_open
from marketplace.models import ThreadMessage
from payments.ledger import agent_account, balance_of
from payments.models import Participant
from payments.services import api_key_issue
from tests.factories import ParticipantFactory, ServiceFactory, deposit

pytestmark = pytest.mark.django_db


def _thread_and_key() -> tuple[Any, str, Participant]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    deposit(buyer, 1_000_000)
    thread = thread_open(service=ServiceFactory(), buyer=buyer, brief=None, message="Hello")
    return thread, api_key_issue(participant=buyer), buyer


def _send(api: Client, thread: Any, key: str, content: bytes) -> Any:
    return api.post(
        f"/v1/threads/{thread.public_id}/messages",
        {"file": SimpleUploadedFile("notes.txt", content, "text/plain")},
        HTTP_X_BALANCE_AUTH=key,
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )


def test_a_repeated_paid_upload_is_replayed_not_stored_or_charged_twice(api: Client) -> None:
    thread, key, buyer = _thread_and_key()
    first = _send(api, thread, key, b"spec v1")
    second = _send(api, thread, key, b"spec v1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["message_id"] == first.json()["message_id"]
    assert ThreadMessage.objects.filter(kind=ThreadMessage.Kind.ATTACHMENT).count() == 1
    assert balance_of(agent_account(buyer)) == 1_000_000 - 1_000


def test_the_same_key_with_another_file_is_refused(api: Client) -> None:
    thread, key, _ = _thread_and_key()
    assert _send(api, thread, key, b"spec v1").status_code == 201
    response = _send(api, thread, key, b"spec v2")
    assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_reused")
