"""Errors are JSON for machines, even with DEBUG on.

The API's own errors are JSON already (`the402.lib.errors`). What is left is what Django
answers by itself: a URL that matches nothing, or an error page rendered outside DRF. With
DEBUG on, Django's technical 404 and 500 pages bypass `handler404`/`handler500` entirely, so
an agent exploring `make run` would get an HTML debug page where it expects
`{"error", "code"}`. This middleware rewrites such HTML error responses into the JSON error
shape for machine requests: any path under `/v1/`, `/.well-known/`, `/facilitator/` or
`/mcp` (with or without a trailing slash), and any request whose `Accept` header prefers
JSON over HTML. Web pages asked for by a browser keep their HTML errors.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from the402.lib.errors import error_body

MACHINE_PREFIXES = ("/v1/", "/.well-known/", "/facilitator/")
MACHINE_PATHS = ("/v1", "/.well-known", "/facilitator", "/mcp")

_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    500: "server_error",
}


def is_machine_request(request: HttpRequest) -> bool:
    """Whether the caller is a program: an API path, or an `Accept` that prefers JSON."""
    path = request.path
    if path in MACHINE_PATHS or path.startswith((*MACHINE_PREFIXES, "/mcp/")):
        return True
    if "HTTP_ACCEPT" not in request.META:
        return False
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred == "application/json"


def _is_json(response: HttpResponseBase) -> bool:
    content_type = str(response.get("Content-Type", ""))
    return content_type.split(";")[0].strip().lower().endswith(("/json", "+json"))


def json_error_for(status: int) -> JsonResponse:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    message = "Not found" if status == 404 else phrase
    return JsonResponse(error_body(message, _CODES.get(status, "error")), status=status)


class JsonErrorsMiddleware:
    """Turn non-JSON error responses (status >= 400) of machine requests into JSON errors.

    Placed just inside CorsMiddleware: the JSON answer still gets its CORS headers. The
    original response's other headers (Allow, WWW-Authenticate, ...) are kept.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or response.streaming
            or _is_json(response)
            or not is_machine_request(request)
        ):
            return response
        converted = json_error_for(response.status_code)
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length"):
                converted[header] = value
        if isinstance(response, HttpResponse) and request.method == "HEAD":
            converted.content = b""
        return converted
