"""Strict base64-of-JSON, the envelope of every x402 header.

Strict because these bytes come from anonymous clients: anything other than canonical
standard base64 with padding is refused before it reaches the JSON parser, and the size is
capped before decoding so a huge header costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from .errors import INVALID_PAYLOAD, X402Error

MAX_HEADER_BYTES = 16 * 1024
_STANDARD_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def encode_json(data: dict[str, Any]) -> str:
    """base64(compact UTF-8 JSON), the form every x402 header value takes."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_json(value: str, *, what: str) -> dict[str, Any]:
    """Inverse of `encode_json`; any defect raises X402Error("invalid_payload")."""
    raw = _decode_base64(value, what=what)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # JSONDecodeError is a ValueError; RecursionError comes from absurdly deep nesting.
        raise X402Error(INVALID_PAYLOAD, f"{what} is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise X402Error(INVALID_PAYLOAD, f"{what} must be a JSON object")
    return data


def _decode_base64(value: str, *, what: str) -> bytes:
    if len(value) > MAX_HEADER_BYTES:
        raise X402Error(INVALID_PAYLOAD, f"{what} exceeds {MAX_HEADER_BYTES} bytes")
    if not value or len(value) % 4 or not _STANDARD_BASE64.fullmatch(value):
        raise X402Error(INVALID_PAYLOAD, f"{what} is not standard padded base64")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise X402Error(INVALID_PAYLOAD, f"{what} is not standard padded base64") from None


def _reject_constant(name: str) -> None:
    """NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise."""
    raise ValueError(name)
