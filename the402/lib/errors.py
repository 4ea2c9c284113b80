"""One error shape for the whole API: `{"error": "<message>", "code": "<machine code>"}`.

Services raise `ApplicationError` (or Django's `ValidationError`); views never build error
responses by hand. The DRF exception handler and the plain-Django 404/500 handlers below all
answer in the same shape, so a client never has to parse HTML or guess a field name. Every
code is listed, with its status and meaning, in one registry (`ERROR_CODES`, below).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
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
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status_code = status
        self.extra = extra or {}
        self.headers = headers or {}  # sent with the answer (e.g. `WWW-Authenticate`)


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
        return Response(
            error_body(exc.message, exc.code, **exc.extra),
            status=exc.status_code,
            headers=exc.headers or None,
        )
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        request = context.get("request")
        sent = getattr(request, "content_type", "") or "(none)"
        return Response(
            error_body(
                f"Unsupported media type {sent!r}: send the body as JSON with "
                "Content-Type: application/json",
                "unsupported_media_type",
            ),
            status=415,
        )
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


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON for API paths and JSON-preferring clients; web pages keep an HTML 404."""
    from the402.lib.jsonerrors import is_machine_request

    if not is_machine_request(request):
        return page_not_found(request, exception or Http404())
    return JsonResponse(error_body("Not found", "not_found"), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("Internal server error", "server_error"), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Bad request", "bad_request"), status=400)


def json_permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    return JsonResponse(error_body("Forbidden", "forbidden"), status=403)


# --- the registry of error codes ------------------------------------------------------------
@dataclass(frozen=True)
class ErrorCode:
    """One machine code of the API: the status it is sent with, and what it means."""

    status: int
    description: str


def _codes(status: int, **codes: str) -> dict[str, ErrorCode]:
    return {code: ErrorCode(status, description) for code, description in codes.items()}


# Every `code` an API answer can carry, published in `/.well-known/the402.json`
# (`error_codes`) and in `/openapi.json` (`x-error-codes`, and the enum of `Error.code`). A
# test checks that each code the source raises is listed here: add a new one with its status.
ERROR_CODES: dict[str, ErrorCode] = {
    **_codes(
        400,
        bad_request="The request could not be understood",
        invalid_request="The input failed validation; `details` names the fields",
        invalid_amount="An amount is not a valid USD amount",
        wallet_not_managed="Your wallet is your own: sign this payment in your wallet",
        invalid_price="A price is not a valid USD amount or range",
        invalid_max_price="max_price (or X-Max-Price) is not a valid USD amount",
        price_out_of_range="A proposal's price is outside the service's advertised range",
        quote_required="The service is priced per job: open a thread or request a quote",
        fixed_price="The service has a fixed price: purchase it directly",
        own_service="You cannot buy from, or open a thread on, your own service",
        invalid_brief="The brief is not an object or string, too large, or fails input_schema",
        invalid_schema="A service's input_schema or deliverable_schema is not a JSON Schema",
        invalid_field="A listing field that cannot be set",
        invalid_service_type="Unknown service_type",
        invalid_fulfillment_type="Unknown fulfillment_type",
        inconsistent_service_type="service_type and fulfillment_type disagree",
        invalid_pricing_model="pricing_model must be fixed or quote_required",
        invalid_status="A job status a provider cannot report",
        invalid_deliverables="Deliverables missing, or failing the deliverable_schema",
        invalid_reason="A dispute reason of the wrong length",
        invalid_resolution="Unknown dispute resolution",
        invalid_note="A dispute resolution needs a note",
        invalid_rating="A buyer's rating is not an integer 1 to 5, or its feedback is too long",
        invalid_split="A split needs an escrow and the provider's amount",
        invalid_escrow="An escrow's terms are invalid",
        missing_file="An attachment message without a file",
        file_too_large="An attachment over the size limit",
        invalid_wallet="Not a wallet address",
        invalid_idempotency_key="The Idempotency-Key header is malformed",
        invalid_x402_version="x402Version must be 1 or 2",
        balance_not_accepted="This endpoint is paid by x402 only",
        provider_error="Data API: the provider's answer is unusable; you were not charged",
        unknown_referral_code="The referral code is unknown; nothing was charged",
        self_referral="You cannot use your own referral code; nothing was charged",
        invalid_billing_period="billing_period must be monthly or annual",
        invalid_plan_services="service_ids must name your own fixed-price data API or "
        "automated services",
        own_plan="You cannot subscribe to your own plan",
        own_product="You cannot buy your own product",
        empty_file="The uploaded file is empty",
    ),
    **_codes(
        401,
        invalid_api_key="Invalid or revoked API key",
        api_key_required="This endpoint needs X-API-Key (see WWW-Authenticate)",
        unauthorized="Missing or invalid credentials",
        not_authenticated="Authentication credentials were not provided",
        not_signed_in="Sign in first (web session)",
        siwe_invalid="The Sign-In with Ethereum message or signature is invalid",
        siwe_chain="The Sign-In with Ethereum message names another chain",
        siwe_domain="The Sign-In with Ethereum message names another domain",
        siwe_expired="The Sign-In with Ethereum message expired",
        siwe_nonce="The Sign-In with Ethereum nonce is unknown or used",
        siwe_signature="The Sign-In with Ethereum signature does not match the wallet",
        siwe_version="The Sign-In with Ethereum message has an unsupported version",
    ),
    **_codes(
        402,
        payment_required="Pay with x402 or a prepaid balance (requirements in the answer)",
        insufficient_balance="The prepaid balance does not cover the price",
        invalid_exact_evm_nonce_already_used="This x402 authorization nonce was already used",
    ),
    **_codes(
        403,
        forbidden="Not yours: you are not a party to this resource",
        not_a_provider="Only providers can do this",
        account_disabled="The account is disabled",
        wallet_mismatch="Sign with your account's own wallet",
        reauthentication_required="Sign in again to do this",
        siwe_wrong_wallet="Signed in with another wallet than the one named",
        registration_required="Register (POST /v1/register) for an API key first",
        not_purchased="Buy the product before downloading it",
        download_limit_reached="The purchase used all its downloads",
    ),
    **_codes(
        404,
        not_found="No such resource",
        service_not_found="Unknown service id",
        thread_not_found="Unknown thread id",
        job_not_found="Unknown job id",
        message_not_found="Unknown message id",
        attachment_not_found="The message has no attachment",
        quote_not_found="Unknown quote id",
        quote_expired="The quote expired: request a new one",
        participant_not_found="Unknown participant",
        not_registered="The wallet is not registered",
        managed_wallet_not_found="No such managed wallet",
        plan_not_found="Unknown plan id",
        subscription_not_found="Unknown subscription id",
        product_not_found="Unknown product id",
    ),
    **_codes(
        405,
        method_not_allowed="The endpoint does not take this HTTP method",
    ),
    **_codes(
        409,
        conflict="The resource changed meanwhile; read it again",
        invalid_job_transition="The job cannot make this move now",
        invalid_thread_transition="The thread cannot make this move now",
        invalid_escrow_transition="The escrow cannot make this move now",
        invalid_flag_transition="The sybil flag cannot make this move now",
        no_job="The thread has no job yet",
        price_changed="The price is not one you agreed to; nothing was charged",
        proposal_changed="The proposal is not one you agreed to; nothing was charged",
        service_in_use="The service has jobs: set it inactive instead",
        payment_already_used="This payment was already used for another request",
        payment_credited_to_balance="The payment was credited to your balance instead",
        payment_returned_to_wallet="The payment was returned to your wallet",
        payment_pending="The payment's settlement is not confirmed yet: send it again",
        hold_released="The balance hold was released before the charge",
        idempotency_key_in_progress="A request with this Idempotency-Key is still running",
        idempotency_mismatch="The same idempotency key was used for something else",
        chain_call_compensated="The chain call's failure was already compensated",
        payout_not_pending="Only a pending payout can be retried",
        invalid_referral_transition="The referral reward cannot make this move now",
        no_referral_earnings="There are no referral earnings to pay out",
        key_already_exported="The managed wallet's key was already exported",
        managed_wallet_empty="The managed wallet holds no USDC",
        wallet_taken="The wallet belongs to another account",
        wallet_unchanged="The account already uses this wallet",
        already_subscribed="You already have a live subscription to this plan",
        invalid_subscription_transition="The subscription cannot make this move now",
        subscription_expired="The subscription's period has expired: subscribe again",
        already_purchased="You already own this product; nothing was charged",
        product_unavailable="The product has no file to sell or download yet",
    ),
    **_codes(
        410,
        thread_expired="The thread expired",
    ),
    **_codes(
        411,
        length_required="Send the body with a Content-Length",
    ),
    **_codes(
        413,
        payload_too_large="The request body is larger than this endpoint accepts",
    ),
    **_codes(
        416,
        range_not_satisfiable="The Range header asks for bytes outside the file",
    ),
    **_codes(
        415,
        unsupported_media_type="Unsupported Content-Type",
    ),
    **_codes(
        422,
        idempotency_key_reused="The Idempotency-Key was used with another request body",
    ),
    **_codes(
        429,
        rate_limited="Too many requests: see Retry-After",
        throttled="Too many requests",
    ),
    **_codes(
        500,
        server_error="An unexpected error; it was logged",
    ),
    **_codes(
        502,
        provider_unavailable="Data API: the provider did not answer; you were not charged",
    ),
    **_codes(
        503,
        chain_unavailable="The chain cannot be reached; try again later",
    ),
    **_codes(
        504,
        provider_timeout="Data API: the provider timed out; you were not charged",
    ),
}


def error_codes_published() -> dict[str, dict[str, Any]]:
    """The registry as JSON: `{code: {"status": ..., "description": ...}}`, sorted."""
    return {
        code: {"status": entry.status, "description": entry.description}
        for code, entry in sorted(ERROR_CODES.items())
    }
