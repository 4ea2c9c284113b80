"""Secrets at rest: AES-256-GCM encryption and keyed hashes for look-up.

API keys are stored twice, neither time in clear: a keyed hash (HMAC-SHA256) finds the row for
a presented key in one indexed query, and the AES-GCM ciphertext lets the owner be shown the
key again (register is idempotent per wallet and answers with the existing key). Both keys
are derived from `THE402_ENCRYPTION_KEY` with HKDF, each for one purpose.
"""

from __future__ import annotations

import hmac
import os
import secrets
from functools import cache
from hashlib import sha256

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

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
