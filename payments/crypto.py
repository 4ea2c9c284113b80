"""Secrets at rest: AES-256-GCM encryption and keyed hashes for look-up.

API keys are stored twice, neither time in clear: a keyed hash (HMAC-SHA256) finds the row for
a presented key in one indexed query, and the AES-GCM ciphertext lets the owner be shown the
key again (register is idempotent per wallet and answers with the existing key). Both keys
are derived from `THE402_ENCRYPTION_KEY` with HKDF, each for one purpose.

A secret that must become unreadable when it is erased (a thread's credential) is sealed
with envelope encryption instead: `seal` encrypts it under its own random data key, kept in a
`DataKey` row wrapped by the master key, and `destroy` deletes that row. Once it is gone the
ciphertext, in the live database, its WAL, a replica or a backup taken afterwards, cannot be
read even with the master key. A backup taken before the erasure still holds the data key:
it stays readable until that backup is destroyed.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from functools import cache
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "sk_"
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_NONCE_BYTES = 12


@cache
def _subkey(purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"the402/{purpose}".encode()
    ).derive(settings.ENCRYPTION_KEY)


def encrypt(plaintext: str, *, purpose: str) -> bytes:
    """nonce || ciphertext+tag; `purpose` binds the ciphertext to what it is for."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_subkey(f"encrypt/{purpose}")).encrypt(
        nonce, plaintext.encode(), purpose.encode()
    )


def decrypt(blob: bytes, *, purpose: str) -> str:
    nonce, ciphertext = bytes(blob[:_NONCE_BYTES]), bytes(blob[_NONCE_BYTES:])
    return (
        AESGCM(_subkey(f"encrypt/{purpose}")).decrypt(nonce, ciphertext, purpose.encode()).decode()
    )


def lookup_hash(secret: str, *, purpose: str) -> str:
    """A keyed hash to find a secret by; without the master key it reveals nothing."""
    return hmac.new(_subkey(f"lookup/{purpose}"), secret.encode(), sha256).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)  # 43 characters of randomness


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- envelope encryption: one data key per secret, destroyed on erasure ------------------
# A sealed blob: marker || data key id (16 bytes) || nonce || ciphertext+tag. A blob of the
# older `encrypt` format starts with its random nonce: it matches the marker with odds of
# 2^-80, and `open_sealed` still reads it (such a secret cannot be destroyed, only dropped).
_SEALED = b"the402:env1"
_KEY_ID_BYTES = 16


class SecretDestroyed(Exception):
    """The sealed secret's data key was destroyed: nothing can read it any more."""


def _parse_sealed(blob: bytes) -> tuple[str, bytes, bytes] | None:
    """(data key id, nonce, ciphertext) of a sealed blob, None for the older format."""
    head = len(_SEALED) + _KEY_ID_BYTES
    if not blob.startswith(_SEALED) or len(blob) < head + _NONCE_BYTES:
        return None
    key_id = blob[len(_SEALED) : head].hex()
    return key_id, blob[head : head + _NONCE_BYTES], blob[head + _NONCE_BYTES :]


def _wrap_aad(purpose: str, key_id: str) -> bytes:
    return f"{purpose}/{key_id}".encode()


def seal(plaintext: str, *, purpose: str) -> bytes:
    """Encrypt under a new data key of its own (stored wrapped, in the caller's transaction)."""
    from payments.models import DataKey

    key_id = os.urandom(_KEY_ID_BYTES)
    data_key = AESGCM.generate_key(bit_length=256)
    wrap_nonce = os.urandom(_NONCE_BYTES)
    wrapped = wrap_nonce + AESGCM(_subkey(f"wrap/{purpose}")).encrypt(
        wrap_nonce, data_key, _wrap_aad(purpose, key_id.hex())
    )
    DataKey.objects.create(key_id=key_id.hex(), purpose=purpose, wrapped=wrapped)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(
        nonce, plaintext.encode(), _wrap_aad(purpose, key_id.hex())
    )
    return _SEALED + key_id + nonce + ciphertext


def open_sealed(blob: bytes, *, purpose: str) -> str:
    """The plaintext of a `seal`ed blob (or of an older `encrypt`ed one, same purpose);
    `SecretDestroyed` once its data key is gone."""
    from payments.models import DataKey

    blob = bytes(blob)
    parsed = _parse_sealed(blob)
    if parsed is None:
        return decrypt(blob, purpose=purpose)
    key_id, nonce, ciphertext = parsed
    row = DataKey.objects.filter(key_id=key_id).first()
    if row is None:
        raise SecretDestroyed(f"the data key of this {purpose} was destroyed")
    wrapped = bytes(row.wrapped)
    data_key = AESGCM(_subkey(f"wrap/{purpose}")).decrypt(
        wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _wrap_aad(purpose, key_id)
    )
    return AESGCM(data_key).decrypt(nonce, ciphertext, _wrap_aad(purpose, key_id)).decode()


def destroy(blob: bytes) -> bool:
    """Destroy a sealed blob's data key (in the caller's transaction); whether there was one.

    On SQLite, deleted content is overwritten with zeros (`secure_delete`, also set for every
    connection by the settings) and, once the transaction commits, the WAL is checkpointed and
    truncated: neither the database file nor its WAL keeps the wrapped key. On PostgreSQL a
    deleted row is only marked dead: its bytes stay in the table's pages until VACUUM prunes
    them and new rows overwrite the space (`VACUUM FULL payments_datakey` rewrites the table
    at once), and in WAL segments until they are recycled (and in any WAL archive). A logical
    copy (pg_dump, logical replication) made after the erasure holds nothing; a physical one
    (pg_basebackup, a streaming replica, archived WAL) may hold the wrapped key until then,
    readable only with the master key (see the README).
    """
    from payments.models import DataKey

    parsed = _parse_sealed(bytes(blob))
    if parsed is None:
        return False
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    deleted, _ = DataKey.objects.filter(key_id=parsed[0]).delete()
    if connection.vendor == "sqlite":
        transaction.on_commit(checkpoint_wal, robust=True)
    return deleted > 0


def checkpoint_wal() -> bool:
    """SQLite: copy the WAL into the database file and truncate it, so pages as they were
    before an erasure no longer lie in the WAL file; whether it did. Inside a transaction,
    or with readers in the way, it is left to the next one (the hourly purge runs one)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, _, _ = cursor.fetchone()
    except OperationalError as exc:  # locked by another connection's transaction
        logger.warning("WAL checkpoint after an erasure not done: %s", exc)
        return False
    if busy:
        logger.warning("WAL checkpoint after an erasure was blocked by readers")
    return not busy
