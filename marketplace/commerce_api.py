"""Buying a service: purchase, inquire (open a thread), and the legacy quote flow.

Legacy quotes are threads (one mechanism): a quote is a thread opened with a `quote_id`;
its provider answers with a proposal (`POST /v1/threads/:id/propose`), and accepting the
quote accepts that proposal.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import commerce, threads
from marketplace.job_api import PAID_RESPONSES, READ_PRICE, iso, validated
from marketplace.models import Proposal, Service, Thread
from marketplace.selectors import service_get
from marketplace.thread_api import (
    AcceptInput,
    AcceptView,
    PurchaseOutput,
    pays_from_balance,
    purchase_out,
)
from payments.gate import Paid, PaidView, Price, authenticated_participant
from payments.ledger import PLATFORM_FEES
from the402.lib.errors import ApplicationError, NotFound
from the402.lib.ids import is_public_id
from the402.lib.money import usd_decimal


class TextBriefParser(BaseParser):
    """`text/plain` bodies (what `fetch` sends for a string body with no content type): JSON
    if they parse as JSON, else the text itself, a plain string brief."""

    media_type = "text/plain"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        text = stream.read().decode("utf-8", errors="replace") if stream is not None else ""
        try:
            return json.loads(text)
        except ValueError:
            return text


def _service(service_id: str) -> Service:
    return commerce.active_service(service_get(service_id), service_id)


class PurchaseView(PaidView):
    """Buy a fixed-price service. Data APIs answer at once (charged only if the provider
    answered); automated and human services are paid into escrow and dispatched.

    The service is read once per request: the price charged and the one checked against
    the buyer's `max_price` (and held in escrow) are the same read."""

    endpoint_price = "the service's agent price"
    endpoint_auth = "x402, or balance except for human services"
    check_balance_first = True
    parser_classes = [JSONParser, TextBriefParser]

    def service(self, service_id: str) -> Service:
        cached = getattr(self, "_service_read", None)
        if cached is None:
            cached = self._service_read = _service(service_id)
        return cached

    def price(self, request: Request, **kwargs: Any) -> Price:
        return commerce.purchase_price(self.service(kwargs["service_id"]))

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        max_price = commerce.parse_max_price(
            request.query_params.get("max_price"), request.headers.get("X-Max-Price")
        )
        return commerce.purchase_validate(
            self.service(kwargs["service_id"]),
            request.data,
            payer,
            max_price=max_price,
            by_balance=pays_from_balance(request),
        )

    def prepare(self, request: Request, data: Any) -> Any:
        return commerce.data_api_fetch(data)

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        job = commerce.purchase_perform(data, paid)
        body = purchase_out(job)
        if "result" in data:
            body["result"] = data["result"]
        return Response(body, status=201)

    @extend_schema(
        operation_id="service_purchase",
        summary="Purchase a fixed-price service",
        parameters=[
            OpenApiParameter(
                "max_price",
                str,
                description="The most you will pay (agent price, USD; or the X-Max-Price "
                "header). A higher price is a 409 price_changed. Without it, a balance "
                "purchase within 15 minutes of a price change is refused the same way.",
                required=False,
            )
        ],
        request={"application/json": {"type": "object", "description": "The brief"}},
        responses={
            201: PurchaseOutput,
            502: OpenApiResponse(description="Data API: the provider failed (not charged)"),
            504: OpenApiResponse(description="Data API: the provider timed out (not charged)"),
            **PAID_RESPONSES,
            409: OpenApiResponse(description="price_changed: the current price, not charged"),
        },
        tags=["purchases"],
    )
    def post(self, request: Request, service_id: str) -> Response:
        return self.gate(request, service_id=service_id)


class InquireInput(serializers.Serializer):
    message = serializers.CharField(
        max_length=threads.MESSAGE_MAX, required=False, allow_blank=True, default=""
    )
    brief = serializers.JSONField(required=False, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["message"] and attrs["brief"] in (None, "", {}):
            raise serializers.ValidationError("send a message, a brief, or both")
        return attrs


class InquireView(PaidView):
    """Open a thread about a service ($0.001): the provider is told by webhook."""

    endpoint_price = "$0.001"
    endpoint_auth = "x402 or balance"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Open a thread", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        service = _service(kwargs["service_id"])
        commerce.refuse_own(service, payer)
        data = validated(InquireInput, request.data)
        brief = data["brief"]
        if brief not in (None, ""):
            brief = commerce.brief_from_body(service, brief)
        return {"service": service, "brief": brief or None, "message": data["message"]}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        thread = threads.thread_open(buyer=paid.participant, **data)
        return Response(
            {
                "thread_id": thread.public_id,
                "status": thread.status,
                "service_id": thread.service.public_id,
                "expires_at": iso(thread.expires_at),
            },
            status=201,
        )

    @extend_schema(
        operation_id="service_inquire",
        summary="Open a thread about a service",
        request=InquireInput,
        responses={
            201: OpenApiResponse(description="{thread_id, status, service_id}"),
            **PAID_RESPONSES,
        },
        tags=["threads"],
    )
    def post(self, request: Request, service_id: str) -> Response:
        return self.gate(request, service_id=service_id)


# --- legacy quotes ----------------------------------------------------------------------
class QuoteExpired(NotFound):
    code = "quote_expired"


def _quote_thread(quote_id: str) -> Thread:
    thread = (
        Thread.objects.select_related("service", "buyer", "provider")
        .filter(quote_id=quote_id)
        .first()
        if is_public_id(quote_id, "qt")
        else None
    )
    if thread is None:
        raise NotFound(f"Quote {quote_id} not found", code="quote_not_found")
    if threads.lapsed(thread):
        raise QuoteExpired("Quote expired: request a new one")
    return thread


QUOTE_STATUS = {
    Thread.Status.INQUIRY: "pending",
    Thread.Status.NEGOTIATING: "quoted",
    Thread.Status.CANCELLED: "declined",
}


def quote_proposal(thread: Thread) -> Proposal | None:
    """The proposal a quote shows: the open one, else the accepted one."""
    return threads.open_proposal(thread) or thread.proposals.filter(status="accepted").first()


def quote_out(thread: Thread, proposal: Proposal | None) -> dict[str, Any]:
    job = getattr(thread, "job", None)
    return {
        "quote_id": thread.quote_id,
        "status": QUOTE_STATUS.get(thread.status, "accepted"),
        "service_id": thread.service.public_id,
        "thread_id": thread.public_id,
        "quoted_price_usd": usd_decimal(proposal.price_micros) if proposal else None,
        "platform_fee_usd": usd_decimal(proposal.fee_micros) if proposal else None,
        "agent_total_usd": usd_decimal(proposal.total_micros) if proposal else None,
        "provider_notes": proposal.message if proposal else "",
        "expires_at": iso(thread.expires_at if thread.expires_at else None),
        "job_id": job.public_id if job is not None else None,
    }


class QuoteRequestView(PaidView):
    """Request a quote (legacy, $0.001): the body is the brief."""

    endpoint_price = "$0.001"
    endpoint_auth = "x402 or balance"
    parser_classes = [JSONParser, TextBriefParser]

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Request a quote", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        service = _service(kwargs["service_id"])
        commerce.refuse_own(service, payer)
        if not service.is_quoted:
            raise ApplicationError(
                "This service has a fixed price: purchase it directly", code="fixed_price"
            )
        return {"service": service, "brief": commerce.brief_from_body(service, request.data)}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        thread = threads.thread_open(buyer=paid.participant, message="", quote=True, **data)
        return Response(
            {
                "quote_id": thread.quote_id,
                "status": "pending",
                "thread_id": thread.public_id,
                "check_url": f"/v1/quotes/{thread.quote_id}",
            },
            status=201,
        )

    @extend_schema(
        operation_id="service_quote",
        summary="Request a quote (legacy; prefer threads)",
        request={"application/json": {"type": "object", "description": "The brief"}},
        responses={
            201: OpenApiResponse(description="{quote_id, status, check_url}"),
            **PAID_RESPONSES,
        },
        tags=["quotes"],
        deprecated=True,
    )
    def post(self, request: Request, service_id: str) -> Response:
        return self.gate(request, service_id=service_id)


class QuoteView(APIView):
    """A quote's status and price (free). Read with the buyer's `X-API-Key`, it records
    that the buyer saw the proposal: a balance accept without `proposal_id` then pays it."""

    endpoint_price = "free"
    endpoint_auth = "none (X-API-Key of the buyer: records the proposal read)"

    @extend_schema(
        operation_id="quote_get",
        summary="Check a quote (legacy)",
        responses={
            200: OpenApiResponse(description="The quote"),
            404: OpenApiResponse(description="Unknown or expired quote"),
        },
        tags=["quotes"],
        deprecated=True,
    )
    def get(self, request: Request, quote_id: str) -> Response:
        thread = _quote_thread(quote_id)
        proposal = quote_proposal(thread)
        key = request.headers.get("X-API-Key")
        if key is not None:  # read with the buyer's key: the buyer has seen this proposal
            threads.proposal_seen(thread, proposal, reader=authenticated_participant(key))
        return Response(quote_out(thread, proposal))


class QuoteAcceptView(AcceptView):
    """Accept a quote: pay its agent total, creating the job (legacy)."""

    def thread(self, **kwargs: Any) -> Thread:
        return _quote_thread(kwargs["quote_id"])

    @extend_schema(
        operation_id="quote_accept",
        summary="Accept a quote and pay (legacy)",
        request=AcceptInput,
        responses={
            201: PurchaseOutput,
            **PAID_RESPONSES,
            409: OpenApiResponse(description="proposal_changed: the open proposal's terms"),
        },
        tags=["quotes"],
        deprecated=True,
    )
    def post(self, request: Request, quote_id: str) -> Response:  # type: ignore[override]
        return self.gate(request, quote_id=quote_id)
