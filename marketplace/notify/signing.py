"""Webhook signatures: what we send, and what providers copy to check it.

Headers: ``X-Webhook-Id`` (the event id), ``X-Webhook-Timestamp`` (unix seconds) and
``X-Webhook-Signature: sha256=<hex HMAC-SHA256(webhook secret, "<timestamp>." + body)>``,
the live platform's scheme (see `sign` / `verify`). Deliberate deviation from the live
platform: it also sends ``X-Platform-Secret: <the provider's API key>``, which would hand the
provider's credential to whatever the URL points at (a typo, an expired domain, a proxy
log). We never send it; providers verify the signature instead.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_TOLERANCE = 300  # seconds, either way (Stripe's default, the live platform's)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Webhook-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``"<ts>." + body``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    *,
    now: float,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether ``signature`` is ours for ``body`` sent at ``timestamp`` (unix seconds).

    Verify against the raw request bytes, not re-serialised JSON. A timestamp more than
    ``tolerance`` seconds from ``now``, in the past or the future, is rejected (a replayed or
    forged request); the comparison is constant-time.
    """
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body).encode(), signature.strip().encode())
