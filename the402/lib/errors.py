"""One error shape for the whole API: `{"error": "<message>", "code": "<machine code>"}`.

Services raise `ApplicationError` (or Django's `ValidationError`); views never build error
responses by hand. The DRF exception handler and the plain-Django 404/500 handlers below all
answer in the same shape, so a client never has to parse HTML or guess a field name.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An expected failure of a service, carrying the HTTP status the API answers with."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status_code = status
        self.extra = extra or {}


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


def error_body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"error": message, "code": code, **extra}


def _first_message(detail: Any, prefix: str = "") -> str:
    """Flatten DRF's nested error detail into one readable sentence."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            label = "" if key == "non_field_errors" else f"{prefix}{key}"
            return _first_message(value, f"{label}." if label else "").rstrip(".")
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], prefix)
    text = str(detail)
    return f"{prefix.rstrip('.')}: {text}" if prefix else text


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code, **exc.extra), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return Response(
            error_body(_first_message(detail), "invalid_request", details=detail), status=400
        )
    if isinstance(exc, Http404):
        return Response(error_body("Not found", "not_found"), status=404)
    if isinstance(exc, PermissionDenied):
        return Response(error_body("Forbidden", "forbidden"), status=403)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django logs it and the 500 handler answers
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = error_body(
            _first_message(exc.detail), "invalid_request", details=exc.detail
        )
    elif isinstance(exc, drf_exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(_first_message(exc.detail), code)
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Not found", "not_found"), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("Internal server error", "server_error"), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Bad request", "bad_request"), status=400)


def json_permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    return JsonResponse(error_body("Forbidden", "forbidden"), status=403)
