"""Secrets shown to their owner once (a new API key, webhook secret or exported wallet key),
carried to the next page in the session: encrypted there, removed when shown."""

from __future__ import annotations

import base64

from django.http import HttpRequest

from payments import crypto

_SESSION_KEY = "the402_show_once"
_PURPOSE = "web-show-once"


def keep(request: HttpRequest, name: str, secret: str) -> None:
    stored = dict(request.session.get(_SESSION_KEY, {}))
    stored[name] = base64.b64encode(crypto.encrypt(secret, purpose=_PURPOSE)).decode()
    request.session[_SESSION_KEY] = stored


def take(request: HttpRequest) -> dict[str, str]:
    """Every secret waiting to be shown, removed from the session."""
    stored = request.session.pop(_SESSION_KEY, None) or {}
    return {
        name: crypto.decrypt(base64.b64decode(blob), purpose=_PURPOSE)
        for name, blob in stored.items()
    }
