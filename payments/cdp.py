"""Bearer tokens for the Coinbase CDP x402 facilitator.

CDP authenticates each request with a short-lived JWT signed by the API key's private key
(ES256 for an EC P-256 PEM key, EdDSA for a base64 Ed25519 key) and bound to the request's
method, host and path.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from django.conf import settings

TOKEN_LIFETIME_SECONDS = 120


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _private_key(secret: str) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
    text = secret.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("a PEM CDP key must be an EC key")
        return key
    raw = base64.b64decode(text)
    if len(raw) != 64:
        raise ValueError("an Ed25519 CDP key is 64 bytes, base64-encoded")
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])


def bearer_token(*, key_id: str, secret: str, method: str, url: str, now: int | None = None) -> str:
    """A JWT for one request to CDP (`uris` binds it to the method, host and path)."""
    key = _private_key(secret)
    parts = urlsplit(url)
    issued = int(time.time()) if now is None else now
    header: dict[str, Any] = {
        "alg": "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "ES256",
        "kid": key_id,
        "typ": "JWT",
        "nonce": secrets.token_hex(16),
    }
    claims = {
        "sub": key_id,
        "iss": "cdp",
        "nbf": issued,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
        "uris": [f"{method.upper()} {parts.netloc}{parts.path}"],
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    ).encode()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(signing_input)
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input.decode() + "." + _b64url(signature)


def auth_headers(url: str, method: str) -> dict[str, str]:
    """Authorization for a facilitator request: a CDP token when CDP keys are configured."""
    if not (settings.CDP_API_KEY_ID and settings.CDP_API_KEY_SECRET):
        return {}
    token = bearer_token(
        key_id=settings.CDP_API_KEY_ID,
        secret=settings.CDP_API_KEY_SECRET,
        method=method,
        url=url,
    )
    return {"Authorization": f"Bearer {token}"}
