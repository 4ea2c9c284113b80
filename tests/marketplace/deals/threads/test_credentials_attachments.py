"""The threads API: credentials (encrypted, erased when done) and attachments."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.deals import threads
from marketplace.models import (
    ThreadMessage,
)
from payments.models import IdempotencyRecord
from tests.factories import deposit
from tests.marketplace.deals.threads.helpers import (
    ONE,
    TS,
    accepted,
    accepted_human,
    assert_error,
    detail,
    open_deal,
    post,
    send_credential,
    update,
    upload,
)

pytestmark = pytest.mark.django_db


# --- credentials ------------------------------------------------------------------------
def test_a_credential_is_stored_encrypted_only(api: Client) -> None:
    deal = open_deal(api)
    response = send_credential(api, deal)
    assert response.status_code == 201, response.content
    assert (response.json()["credential"], response.json()["redacted"]) == (
        "user=ops pass=s3cret!",
        False,
    )
    row = ThreadMessage.objects.get(public_id=response.json()["message_id"])
    assert row.kind == ThreadMessage.Kind.CREDENTIAL
    assert row.body == ""
    assert row.secret is not None
    stored = bytes(row.secret)
    assert b"s3cret" not in stored and stored != b"user=ops pass=s3cret!"
    assert threads.credential_text(row) == "user=ops pass=s3cret!"


def test_both_parties_see_the_credential_in_clear(api: Client) -> None:
    deal = open_deal(api)
    message_id = send_credential(api, deal).json()["message_id"]
    for who in (deal.buyer, deal.seller):
        [message] = [m for m in detail(api, deal, who)["messages"] if m["message_id"] == message_id]
        assert (message["credential"], message["redacted"], message["message"]) == (
            "user=ops pass=s3cret!",
            False,
            "",
        )


def test_credentials_are_erased_once_the_thread_completes(api: Client) -> None:
    deal = accepted_human(api)
    message_id = send_credential(api, deal).json()["message_id"]
    response = update(api, deal, "completed", deliverables={"report": "done"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == TS.COMPLETED
    row = ThreadMessage.objects.get(public_id=message_id)
    assert (row.secret, row.redacted_at is not None) == (None, True)
    for who in (deal.buyer, deal.seller):
        [message] = [m for m in detail(api, deal, who)["messages"] if m["message_id"] == message_id]
        assert (message["credential"], message["redacted"]) == (None, True)


def test_credentials_are_erased_when_an_automated_job_is_verified(api: Client) -> None:
    deal = accepted(api)
    message_id = send_credential(api, deal).json()["message_id"]
    assert update(api, deal, "completed", deliverables={"ok": True}).json()["status"] == (
        TS.VERIFIED
    )
    assert ThreadMessage.objects.get(public_id=message_id).secret is None


def test_a_credential_is_refused_on_a_completed_thread(api: Client) -> None:
    deal = accepted_human(api)
    assert update(api, deal, "completed", deliverables={"a": 1}).status_code == 200
    assert_error(send_credential(api, deal), 409, "invalid_thread_transition")
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.CREDENTIAL).exists()
    # a plain message is still fine until the thread is closed
    assert (
        post(api, deal.path("/messages"), {"message": "Thanks"}, **deal.buyer.by_key).status_code
        == 201
    )


def test_messages_are_refused_on_a_closed_thread(api: Client) -> None:
    deal = open_deal(api)
    assert post(api, deal.path("/decline"), {}, **deal.buyer.by_key).status_code == 200
    response = post(api, deal.path("/messages"), {"message": "wait"}, **deal.seller.by_key)
    assert_error(response, 409, "invalid_thread_transition")


def test_a_credential_never_rests_in_clear_in_an_idempotency_record(api: Client) -> None:
    deal = open_deal(api)
    deposit(deal.seller.participant, ONE)
    sent = post(
        api,
        deal.path("/messages"),
        {"type": "credential", "message": "root:TOPSECRET"},
        HTTP_IDEMPOTENCY_KEY="send-1",
        **deal.buyer.by_balance,
    )
    assert sent.status_code == 201, sent.content
    read = api.get(deal.path(), HTTP_IDEMPOTENCY_KEY="read-1", **deal.seller.by_balance)
    assert read.status_code == 200, read.content
    stored = [bytes(r.response_body or b"") for r in IdempotencyRecord.objects.all()]
    assert stored  # the requests were recorded
    assert not any(b"TOPSECRET" in body for body in stored)


# --- attachments ------------------------------------------------------------------------
def test_an_attachment_is_uploaded_and_the_other_party_downloads_it(api: Client) -> None:
    deal = open_deal(api)
    content = b"%PDF-1.4 " + bytes(range(256)) * 40
    response = upload(api, deal, deal.buyer, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "attachment"
    assert body["message"] == "the spec"
    assert body["attachment"]["name"] == "spec.pdf"
    assert body["attachment"]["size"] == len(content)
    assert body["attachment"]["content_type"] == "application/pdf"
    download = api.get(body["attachment"]["url"], **deal.seller.by_key)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "application/pdf"
    assert "spec.pdf" in download["Content-Disposition"]


def test_a_paid_download_with_an_idempotency_key_is_served_and_not_stored(
    api: Client,
) -> None:
    deal = open_deal(api)
    assert upload(api, deal, deal.buyer, b"%PDF-1.4 spec").status_code == 201
    url = detail(api, deal, deal.buyer)["messages"][-1]["attachment"]["url"]
    deposit(deal.seller.participant, ONE)
    download = api.get(url, HTTP_IDEMPOTENCY_KEY="dl-1", **deal.seller.by_balance)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 spec"
    assert not IdempotencyRecord.objects.filter(key="dl-1").exists()


def test_a_file_over_the_limit_is_refused_with_a_json_400(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "ATTACHMENT_MAX_BYTES", 1024)
    deal = open_deal(api)
    assert_error(upload(api, deal, deal.buyer, b"x" * 1025), 400, "file_too_large")
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.ATTACHMENT).exists()
    assert upload(api, deal, deal.buyer, b"x" * 1024).status_code == 201  # exactly the limit


def test_the_attachment_limit_is_25_megabytes() -> None:
    assert threads.ATTACHMENT_MAX_BYTES == 25 * 1024 * 1024


def test_a_real_file_one_byte_over_25_megabytes_is_refused(api: Client) -> None:
    deal = open_deal(api)
    response = upload(api, deal, deal.buyer, b"\0" * (25 * 1024 * 1024 + 1), "big.bin")
    assert_error(response, 400, "file_too_large")
    assert not ThreadMessage.objects.filter(kind=ThreadMessage.Kind.ATTACHMENT).exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "attachment"},  # no file
        {"type": "text", "file": b"abc"},  # a file needs type attachment
        {"type": "credential", "file": b"abc", "message": "x"},
        {"type": "attachment", "file": b""},  # an empty file
    ],
)
def test_a_malformed_attachment_message_is_a_400(api: Client, fields: dict[str, Any]) -> None:
    deal = open_deal(api)
    data = dict(fields)
    if "file" in data:
        data["file"] = SimpleUploadedFile("a.txt", data["file"], content_type="text/plain")
    assert_error(api.post(deal.path("/messages"), data, **deal.buyer.by_key), 400)
    assert deal.thread.messages.count() == 1  # the inquiry's


def test_the_attachment_of_a_text_message_or_an_unknown_message_is_404(api: Client) -> None:
    deal = open_deal(api)
    text_id = deal.thread.messages.get().public_id
    assert_error(
        api.get(deal.path(f"/messages/{text_id}/attachment"), **deal.buyer.by_key),
        404,
        "attachment_not_found",
    )
    assert_error(
        api.get(deal.path("/messages/msg_0000000000000000/attachment"), **deal.buyer.by_key),
        404,
        "message_not_found",
    )


def test_a_message_id_of_another_thread_is_404(api: Client) -> None:
    deal, other = open_deal(api), open_deal(api)
    message_id = upload(api, other, other.buyer, b"file").json()["message_id"]
    assert_error(
        api.get(deal.path(f"/messages/{message_id}/attachment"), **deal.buyer.by_key),
        404,
        "message_not_found",
    )
