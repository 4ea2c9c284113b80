"""The agent-facing catalog API. Views validate, call a selector or service, and respond."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.selectors import CatalogQuery, catalog_search, service_get
from marketplace.serializers import (
    CatalogQuerySerializer,
    CatalogSerializer,
    ServiceDetailSerializer,
)
from payments.gate import Paid, PaidView, Price
from payments.ledger import PLATFORM_FEES
from reputation.selectors import reputation_levels
from the402.lib.errors import NotFound
from the402.lib.urls import public_base_url
from the402.schema import ERROR_RESPONSES


class CatalogView(APIView):
    """Browse and search the service catalog (free, no auth)."""

    endpoint_price = "free"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="catalog_list",
        summary="Search the service catalog",
        parameters=[CatalogQuerySerializer],
        responses={200: CatalogSerializer, **ERROR_RESPONSES},
        tags=["catalog"],
    )
    def get(self, request: Request) -> Response:
        params = CatalogQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = CatalogQuery(**params.validated_data)
        page = catalog_search(query)
        body = CatalogSerializer(
            {
                "total": page.total,
                "limit": query.limit,
                "offset": query.offset,
                "services": page.services,
                "queried_at": timezone.now(),
            },
            context={"base_url": public_base_url(request)},
        ).data
        return Response(body)


DISCOVER_PRICE = 1_000  # $0.001
DISCOVER_LIMIT = 100


def getting_started(base_url: str) -> dict[str, object]:
    """The short guide /v1/discover hands an agent arriving from a payment directory."""
    return {
        "summary": (
            "the402 sells data APIs, automated services and human services to agents. Browse "
            "the free catalog, pick a service, and POST its `endpoint` with your brief; pay "
            "per request with x402 (USDC on Base) or from a prepaid balance."
        ),
        "steps": [
            f"Browse: GET {base_url}/v1/services/catalog?q=<words> (free, no auth).",
            "Buy: POST the service's `endpoint` with a JSON brief matching its input_schema; "
            "answer the 402 with an x402 payment (X-PAYMENT or PAYMENT-SIGNATURE).",
            f"Register (optional, $0.01): POST {base_url}/v1/register for an API key, then "
            f"deposit with POST {base_url}/v1/balance/deposit?amount=10.00 and pay with "
            "X-BALANCE-AUTH: <api key>.",
            "Quoted services: POST .../inquire to open a thread and negotiate a price.",
        ],
        "catalog": f"{base_url}/v1/services/catalog",
        "manifest": f"{base_url}/.well-known/the402.json",
        "openapi": f"{base_url}/openapi.json",
        "platform_fee_pct": 5,
    }


class DiscoverView(PaidView):
    """The catalog and a getting-started guide in one response ($0.001)."""

    endpoint_price = "$0.001"

    def price(self, request: Request, **kwargs: object) -> Price:
        return Price(DISCOVER_PRICE, "the402 catalog and getting-started guide", PLATFORM_FEES)

    def perform(self, request: Request, paid: Paid, data: object, **kwargs: object) -> Response:
        base_url = public_base_url(request)
        page = catalog_search(CatalogQuery(limit=DISCOVER_LIMIT))
        services = CatalogSerializer(
            {
                "total": page.total,
                "limit": DISCOVER_LIMIT,
                "offset": 0,
                "services": page.services,
                "queried_at": timezone.now(),
            },
            context={"base_url": base_url},
        ).data
        return Response({**services, "guide": getting_started(base_url)})

    @extend_schema(
        operation_id="discover",
        request=None,
        responses={200: CatalogSerializer, 402: OpenApiResponse(description="Payment required")},
        tags=["catalog"],
    )
    def post(self, request: Request, **kwargs: object) -> Response:
        return self.gate(request, **kwargs)


class ServiceDetailView(APIView):
    """One service with its schemas and reputation at three levels (free, no auth)."""

    endpoint_price = "free"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="service_detail",
        summary="Get a service",
        responses={
            200: ServiceDetailSerializer,
            404: OpenApiResponse(description="Unknown service id"),
            **ERROR_RESPONSES,
        },
        tags=["catalog"],
    )
    def get(self, request: Request, service_id: str) -> Response:
        service = service_get(service_id)
        if service is None:
            raise NotFound(f"Service {service_id} not found", code="service_not_found")
        service.reputation_levels = reputation_levels(
            participant_id=service.provider_id,
            service_type=service.service_type,
            service_public_id=service.public_id,
        )
        service.provider_score = service.reputation_levels["provider"]
        body = ServiceDetailSerializer(service, context={"base_url": public_base_url(request)}).data
        return Response(body)
