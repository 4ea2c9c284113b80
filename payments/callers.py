"""Who is calling: the participant behind the request's API key."""

from __future__ import annotations

from rest_framework.request import Request

from payments.gate import authenticated_participant
from payments.models import Participant
from the402.lib.api import API_KEY_HEADER


def api_key_caller(request: Request) -> Participant:
    """The participant whose `X-API-Key` the request carries; 401 `api_key_required`
    without one (with `WWW-Authenticate`), `invalid_api_key` with a key that is unknown or
    revoked."""
    return authenticated_participant(request.headers.get(API_KEY_HEADER, ""))
