"""Bearer tokens for the Coinbase CDP facilitator."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from payments.cdp import auth_headers, bearer_token

URL = "https://api.cdp.coinbase.com/platform/v2/x402/settle"


def _parts(token: str) -> tuple[dict, dict, bytes, bytes]:
    header, claims, signature = token.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    return (
        json.loads(decode(header)),
        json.loads(decode(claims)),
        decode(signature),
        f"{header}.{claims}".encode(),
    )


def test_an_ec_key_signs_an_es256_token_bound_to_the_request() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    token = bearer_token(key_id="kid-1", secret=pem, method="post", url=URL, now=1_000)
    header, claims, signature, signed = _parts(token)
    assert (header["alg"], header["kid"]) == ("ES256", "kid-1")
    assert claims == {
        "sub": "kid-1",
        "iss": "cdp",
        "nbf": 1_000,
        "exp": 1_120,
        "uris": ["POST api.cdp.coinbase.com/platform/v2/x402/settle"],
    }
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    key.public_key().verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))


def test_an_ed25519_key_signs_an_eddsa_token() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.private_bytes_raw() + key.public_key().public_bytes_raw()
    token = bearer_token(
        key_id="kid-2", secret=base64.b64encode(raw).decode(), method="POST", url=URL
    )
    header, _, signature, signed = _parts(token)
    assert header["alg"] == "EdDSA"
    key.public_key().verify(signature, signed)


def test_a_bad_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        bearer_token(key_id="k", secret=base64.b64encode(b"short").decode(), method="POST", url=URL)


def test_no_cdp_keys_means_no_authorization_header(settings) -> None:
    settings.CDP_API_KEY_ID = ""
    assert auth_headers(URL, "POST") == {}
