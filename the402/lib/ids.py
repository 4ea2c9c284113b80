"""Public identifiers: a short prefix plus 16 lowercase hex characters (`svc_81153beeef3341c6`)."""

from __future__ import annotations

import re
import secrets

PREFIXES = {
    "participant": "p",
    "service": "svc",
}

_PUBLIC_ID = re.compile(r"^(?P<prefix>[a-z]+)_[0-9a-f]{16}$")


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def is_public_id(value: str, prefix: str) -> bool:
    match = _PUBLIC_ID.match(value)
    return match is not None and match.group("prefix") == prefix
