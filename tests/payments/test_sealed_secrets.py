"""Envelope encryption of secrets that must become unreadable (a thread's credentials): each
under its own data key, wrapped by the master key; destroying the data key leaves nothing
that decrypts, in the database, its WAL file, or a copy taken afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from django.db import connection, transaction

from marketplace.deals import threads
from marketplace.models import Thread, ThreadMessage
from payments import crypto
from payments.models import DataKey, Participant
from tests.factories import ParticipantFactory, ServiceFactory

pytestmark = pytest.mark.django_db
PURPOSE = "test-secret"
CREDENTIAL = "user=ops pass=Sup3r-s3cret-value!"


def test_a_sealed_secret_opens_and_is_not_stored_in_clear() -> None:
    blob = crypto.seal(CREDENTIAL, purpose=PURPOSE)
    assert CREDENTIAL.encode() not in blob
    assert crypto.open_sealed(blob, purpose=PURPOSE) == CREDENTIAL


def test_each_secret_has_its_own_data_key_bound_to_its_purpose() -> None:
    first, second = crypto.seal("a", purpose=PURPOSE), crypto.seal("a", purpose=PURPOSE)
    assert DataKey.objects.count() == 2
    assert first != second
    with pytest.raises(InvalidTag):
        crypto.open_sealed(first, purpose="another-purpose")


def test_a_destroyed_secret_cannot_be_decrypted_even_with_the_master_key() -> None:
    blob = crypto.seal(CREDENTIAL, purpose=PURPOSE)
    assert crypto.destroy(blob) is True
    assert not DataKey.objects.exists()
    with pytest.raises(crypto.SecretDestroyed):
        crypto.open_sealed(blob, purpose=PURPOSE)
    with pytest.raises(InvalidTag):  # what a master key alone can try
        crypto.decrypt(blob, purpose=PURPOSE)
    assert crypto.destroy(blob) is False


def test_destroying_one_secret_leaves_the_others_readable() -> None:
    kept, gone = crypto.seal("kept", purpose=PURPOSE), crypto.seal("gone", purpose=PURPOSE)
    crypto.destroy(gone)
    assert crypto.open_sealed(kept, purpose=PURPOSE) == "kept"


def test_a_secret_encrypted_before_envelopes_still_opens() -> None:
    legacy = crypto.encrypt(CREDENTIAL, purpose=PURPOSE)
    assert crypto.open_sealed(legacy, purpose=PURPOSE) == CREDENTIAL
    assert crypto.destroy(legacy) is False  # no data key of its own to destroy


# --- a thread's credentials -------------------------------------------------------------
def _credential_on_a_thread() -> tuple[Thread, ThreadMessage]:
    buyer = ParticipantFactory(type=Participant.Type.AGENT)
    thread = threads.thread_open(service=ServiceFactory(), buyer=buyer, brief=None, message="Hi")
    message = threads.message_post(
        thread=thread, sender=buyer, kind=ThreadMessage.Kind.CREDENTIAL, text=CREDENTIAL
    )
    return thread, message


def _cancel(thread: Thread) -> None:
    with transaction.atomic():
        threads.move(threads.lock_thread(thread), Thread.Status.CANCELLED, actor=None)


def test_erasing_a_threads_credentials_destroys_their_data_keys() -> None:
    thread, message = _credential_on_a_thread()
    blob = bytes(message.secret)  # a copy, as a replica or a backup would hold it
    assert threads.credential_text(message) == CREDENTIAL
    assert DataKey.objects.filter(purpose=threads.CREDENTIAL_PURPOSE).count() == 1
    _cancel(thread)
    message.refresh_from_db()
    assert (message.secret, message.redacted_at is not None) == (None, True)
    assert not DataKey.objects.filter(purpose=threads.CREDENTIAL_PURPOSE).exists()
    with pytest.raises(crypto.SecretDestroyed):
        crypto.open_sealed(blob, purpose=threads.CREDENTIAL_PURPOSE)
    with pytest.raises(InvalidTag):
        crypto.decrypt(blob, purpose=threads.CREDENTIAL_PURPOSE)


def _database_files() -> bytes:
    """The bytes on disk: the SQLite database file and its WAL."""
    path = Path(connection.settings_dict["NAME"])
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.django_db(transaction=True)
def test_after_erasure_the_database_files_hold_neither_the_key_nor_the_ciphertext() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's files (PostgreSQL: see the README on VACUUM)")
    thread, message = _credential_on_a_thread()
    blob = bytes(message.secret)
    wrapped = bytes(DataKey.objects.get(purpose=threads.CREDENTIAL_PURPOSE).wrapped)
    on_disk = _database_files()
    assert wrapped in on_disk and blob in on_disk  # written, as the erasure finds them

    _cancel(thread)

    on_disk = _database_files()
    secrets = {"wrapped data key": wrapped, "ciphertext": blob, "plaintext": CREDENTIAL.encode()}
    assert [name for name, value in secrets.items() if value in on_disk] == []
