"""The dashboard's actions go through the API's own views and payment gate.

A web page that buys, deposits, accepts or disputes does not re-implement the endpoint: it
runs the API view (`PaidView` subclass) on an internal request shaped like the API call
(the API's path, JSON body and query string) and lets the payment gate do what it does for
an API client:

* `pay="balance"`: the signed-in participant's prepaid balance, as `X-BALANCE-AUTH` would
  (`PaymentGate.pay_from_balance_as`: the same holds, charge and ledger);
* `pay="free"`: served free to the signed-in party, as an `X-API-Key` would
  (`PaymentGate.serve_as`);
* `pay=<x402 header value>`: an x402 payment signed by the participant's wallet, through the
  whole x402 path (`PaidView.gate`: verify, claim, settle, perform).

The internal request carries the marker headers the views read to know how they are paid
(`X-BALANCE-AUTH` / `X-API-Key` with a placeholder that is never looked up), so every rule
(a balance purchase's price agreement, a key holder's message rate limit) applies as on the
API. The answer is the view's own `Response` (status and data), or the `ApplicationError`
it raised.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from payments.gate import PaidView, PaymentGate
from payments.models import Participant
from the402.lib.errors import ApplicationError

# Not an API key: a marker that the request is authenticated by the dashboard session.
SESSION_MARKER = "dashboard-session"
_COPIED = ("SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "REMOTE_ADDR", "wsgi.url_scheme")


@dataclass(frozen=True)
class Outcome:
    """What the API answered: its status and body (an error's `error` and `code` too)."""

    status: int
    data: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        if isinstance(self.data, dict):
            return str(self.data.get("error") or self.data.get("detail") or self.data)
        return str(self.data)

    @property
    def code(self) -> str:
        return str(self.data.get("code", "")) if isinstance(self.data, dict) else ""


def internal_request(
    request: HttpRequest | None,
    *,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> WSGIRequest:
    """A request for the API's `path`, from the same host as `request` (the payment's
    resource and the links in answers are this site's), with a JSON body."""
    raw = b"" if body is None else json.dumps(body).encode()
    environ: dict[str, Any] = {  # no request (a management command): this server locally
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(settings.PORT),
        "HTTP_HOST": f"127.0.0.1:{settings.PORT}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
    }
    if request is not None:
        environ.update({key: request.META[key] for key in _COPIED if key in request.META})
    environ.update(
        {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": urlencode(query or {}),
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
        }
    )
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return WSGIRequest(environ)


def call(
    view_class: type[PaidView],
    request: HttpRequest | None,
    *,
    participant: Participant | None,
    pay: str,
    path: str,
    kwargs: dict[str, Any] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> Outcome:
    """Run `view_class` as the API would for `path`, paid by `pay` (see the module)."""
    kwargs = kwargs or {}
    headers: dict[str, str] = {}
    if pay == "balance":
        headers["X-BALANCE-AUTH"] = SESSION_MARKER
    elif pay == "free":
        headers["X-API-Key"] = SESSION_MARKER
    else:
        headers["X-PAYMENT"] = pay
    inner = internal_request(request, path=path, body=body, query=query, headers=headers)
    view = view_class()
    drf_request = view.initialize_request(inner)
    view.request, view.args, view.kwargs = drf_request, (), kwargs
    view.format_kwarg = None
    gate = PaymentGate(view, drf_request, kwargs)
    try:
        if pay == "balance":
            if participant is None:
                raise ValueError("a balance payment needs the signed-in participant")
            response: Response = gate.pay_from_balance_as(participant)
        elif pay == "free":
            if participant is None:
                raise ValueError("a free call needs the signed-in participant")
            response = gate.serve_as(participant)
        else:
            response = view.gate(drf_request, **kwargs)
    except ApplicationError as exc:
        return Outcome(exc.status_code, {"error": exc.message, "code": exc.code, **exc.extra})
    except ValidationError as exc:
        return Outcome(400, {"error": _flatten(exc.detail), "code": "invalid_request"})
    except APIException as exc:
        return Outcome(exc.status_code, {"error": _flatten(exc.detail), "code": "error"})
    return Outcome(response.status_code, response.data)


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(value) for value in detail)
    return str(detail)
