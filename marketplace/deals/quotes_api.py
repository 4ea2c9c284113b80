"""Legacy quotes: request a quote, check it, accept it.

Legacy quotes are threads (one mechanism): a quote is a thread opened with a `quote_id`;
its provider answers with a proposal (`POST /v1/threads/:id/propose`), and accepting the
quote accepts that proposal.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.catalog.models import Service
from marketplace.catalog.selectors import service_get
from marketplace.deals import purchases, threads
from marketplace.deals.access import (
    PAID_RESPONSES,
    READ_PRICE,
    AcceptBase,
    TextBriefParser,
    has_api_key,
)
from marketplace.deals.models import Thread
from marketplace.deals.selectors import quote_proposal, thread_by_quote
from marketplace.deals.serializers import AcceptInput, PurchaseOutput, QuoteOutput
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from the402.lib.errors import ApplicationError, NotFound


def _service(service_id: str) -> Service:
    return purchases.active_service(service_get(service_id), service_id)


class QuoteExpired(NotFound):
    code = "quote_expired"


def _quote_thread(quote_id: str) -> Thread:
    thread = thread_by_quote(quote_id)
    if threads.lapsed(thread):
        raise QuoteExpired("Quote expired: request a new one")
    return thread


class QuoteRequestView(PaidView):
    """Request a quote (legacy, $0.001): the body is the brief."""

    endpoint_price = "$0.001"
    endpoint_auth = "x402 or balance"
    parser_classes = [JSONParser, TextBriefParser]

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Request a quote", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        service = _service(kwargs["service_id"])
        purchases.refuse_own(service, payer)
        if not service.is_quoted:
            raise ApplicationError(
                "This service has a fixed price: purchase it directly", code="fixed_price"
            )
        return {
            "service": service,
            "brief": purchases.brief_from_body(service, request.data, free_text=True),
        }

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
            200: QuoteOutput,
            404: OpenApiResponse(description="Unknown or expired quote"),
        },
        tags=["quotes"],
        deprecated=True,
    )
    def get(self, request: Request, quote_id: str) -> Response:
        thread = _quote_thread(quote_id)
        proposal = quote_proposal(thread)
        if has_api_key(request):  # read with the buyer's key: the buyer has seen this proposal
            threads.proposal_seen(thread, proposal, reader=api_key_caller(request))
        return Response(QuoteOutput(thread, context={"proposal": proposal}).data)


class QuoteAcceptView(AcceptBase):
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
    def post(self, request: Request, quote_id: str) -> Response:
        return self.gate(request, quote_id=quote_id)
