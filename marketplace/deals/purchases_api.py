"""Buying a service: purchase it at its fixed price, or open a thread about it (inquire).

Negotiating, accepting a proposal and the rest of a thread's life are the threads API;
the legacy quote flow is `quotes_api`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.catalog.models import Service
from marketplace.catalog.selectors import service_get
from marketplace.deals import purchases, threads
from marketplace.deals.access import (
    PAID_RESPONSES,
    READ_PRICE,
    TextBriefParser,
    pays_from_balance,
)
from marketplace.deals.purchases import PurchaseOrder
from marketplace.deals.serializers import InquireInput, InquiryOutput, PurchaseOutput, purchase_out
from marketplace.plans import coverage as plan_coverage
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from the402.lib.api import validated


def _service(service_id: str) -> Service:
    return purchases.active_service(service_get(service_id), service_id)


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
        return self.priced(lambda: _service(service_id))

    def price(self, request: Request, **kwargs: Any) -> Price:
        return purchases.purchase_price(self.service(kwargs["service_id"]))

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        max_price = purchases.parse_max_price(
            request.query_params.get("max_price"), request.headers.get("X-Max-Price")
        )
        return purchases.purchase_validate(
            service=self.service(kwargs["service_id"]),
            body=request.data,
            payer=payer,
            max_price=max_price,
            by_balance=pays_from_balance(request),
        )

    def prepare(self, request: Request, data: PurchaseOrder) -> PurchaseOrder:
        return purchases.data_api_fetch(data)

    def perform(self, request: Request, paid: Paid, data: PurchaseOrder, **kwargs: Any) -> Response:
        job = purchases.purchase_perform(order=data, paid=paid)
        if data.answered:
            return Response(purchase_out(job, result=data.result), status=201)
        return Response(purchase_out(job), status=201)

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
        # A service bundled in the caller's subscription: free, no x402 (marketplace.plans).
        covered = plan_coverage.covered_purchase(
            api_key=request.headers.get("X-BALANCE-AUTH") or request.headers.get("X-API-Key"),
            service=self.service(service_id),
            body=request.data,
        )
        if covered.job is not None and covered.subscription is not None:
            body = purchase_out(covered.job, result=covered.result)
            body["covered_by_subscription"] = covered.subscription.public_id
            return Response(body, status=201)
        response = self.gate(request, service_id=service_id)
        if covered.notice is not None:
            response["X-Subscription-Notice"] = covered.notice
            if isinstance(getattr(response, "data", None), dict):
                response.data["subscription_notice"] = covered.notice
        return response


class InquireView(PaidView):
    """Open a thread about a service ($0.001): the provider is told by webhook."""

    endpoint_price = "$0.001"
    endpoint_auth = "x402 or balance"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Open a thread", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        service = _service(kwargs["service_id"])
        purchases.refuse_own(service, payer)
        data = validated(InquireInput, request.data)
        brief = data["brief"]
        if brief not in (None, ""):
            brief = purchases.brief_from_body(service, brief, free_text=True)
        return {"service": service, "brief": brief or None, "message": data["message"]}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        thread = threads.thread_open(buyer=paid.participant, **data)
        return Response(InquiryOutput(thread).data, status=201)

    @extend_schema(
        operation_id="service_inquire",
        summary="Open a thread about a service",
        request=InquireInput,
        responses={
            201: InquiryOutput,
            **PAID_RESPONSES,
        },
        tags=["threads"],
    )
    def post(self, request: Request, service_id: str) -> Response:
        return self.gate(request, service_id=service_id)
