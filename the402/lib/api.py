"""One API convention for every app's views.

* Input: `validated(InputSerializer, request.data)` returns the cleaned values or raises,
  and DRF's error becomes the JSON error `{"error", "code": "invalid_request", "details"}`
  (`the402.lib.errors`). Money comes in as USD strings through `MoneyField`.
* Output: an output serializer is the response (`Serializer(obj).data`), so `/openapi.json`
  describes what is sent. Dates are ISO 8601 in UTC with a `Z` (`iso`); amounts are
  micro-USDC inside, USD at the edge.
* Lists: `paged(key, items, limit=, offset=, total=)`, the one paging envelope
  `{<key>: [...], "total", "limit", "offset"}`.
* Callers: an API key travels in `X-API-Key` (`API_KEY_HEADER`); the participant behind it
  is `payments.callers.api_key_caller(request)` (identity lives in `payments`).
* Errors: raise `ApplicationError` with a code from `the402.lib.errors.ERROR_CODES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import ReturnDict

from the402.lib import money
from the402.lib.errors import ApplicationError

API_KEY_HEADER = "X-API-Key"


class ErrorSerializer(serializers.Serializer[dict[str, str]]):
    """Every error answer (`the402.lib.errors`); the codes are `ERROR_CODES`."""

    error = serializers.CharField(help_text="What went wrong, for people.")
    code = serializers.CharField(help_text="What went wrong, for programs.")


ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid parameters"),
}


def validated(
    serializer_class: type[serializers.Serializer[Any]],
    data: Any,
    *,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The validated input of `serializer_class` for `data`; a DRF ValidationError (the
    JSON error, 400 `invalid_request`) otherwise."""
    serializer = serializer_class(data=data, context=dict(context or {}))
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def iso(value: datetime | None) -> str | None:
    """A datetime as the API writes it: ISO 8601, UTC as `Z`; None stays None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def paged(
    key: str,
    items: Sequence[Any] | ReturnDict[Any, Any],
    *,
    limit: int,
    offset: int,
    total: int | None = None,
) -> dict[str, Any]:
    """The paging envelope of every list: `{key: items, "total", "limit", "offset"}`
    (`total` left out when the list does not count its matches).

    `items` is a list, or a `many=True` serializer's `.data`: a `ReturnList` that the stubs
    type as `ReturnDict`."""
    body: dict[str, Any] = {key: list(items)}
    if total is not None:
        body["total"] = total
    body["limit"] = limit
    body["offset"] = offset
    return body


@extend_schema_field({"type": "string", "example": "25.00", "description": "USD amount"})
class MoneyField(serializers.Field[int, Any, str, Any]):
    """A USD amount (`"25"`, `"25.50"`, `"$25.50"`) read as integer micro-USDC with
    `the402.lib.money.parse_usd`, written as a USD string.

    A bad amount is the JSON error: with `code`, `ApplicationError` (400, that code,
    `"<field>: <why>"`); without, a field error (400 `invalid_request`).
    """

    def __init__(self, *, code: str | None = None, **kwargs: Any) -> None:
        self.error_code = code
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            return money.parse_usd(data)
        except money.MoneyError as exc:
            if self.error_code is not None:
                raise ApplicationError(f"{self.field_name}: {exc}", code=self.error_code) from None
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: int) -> str:
        return money.format_usd(value)
