"""The catalog API: search, discover and read services (free, for agents), and their
providers' listings (create, update, delete with the owner's X-API-Key).

Views validate, call a selector or service, and respond; the listing rules live in
`marketplace.catalog.services`. Ownership is checked before the input: a stranger learns
nothing from validation errors about a listing that is not theirs.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.catalog.models import Service
from marketplace.catalog.selectors import (
    CatalogQuery,
    catalog_search,
    service_get,
    service_owned,
)
from marketplace.catalog.serializers import (
    CatalogQuerySerializer,
    CatalogSerializer,
    ProviderServiceOutput,
    ServiceCreateInput,
    ServiceDeletedOutput,
    ServiceDetailSerializer,
    ServiceUpdateInput,
)
from marketplace.catalog.services import service_create, service_delete, service_update
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from reputation.selectors import provider_scores, reputation_levels
from the402.lib.api import ERROR_RESPONSES, ErrorSerializer, validated
from the402.lib.errors import ApplicationError, NotFound
from the402.lib.urls import public_base_url

KEY_RESPONSES = {
    **ERROR_RESPONSES,
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid X-API-Key"),
    403: OpenApiResponse(ErrorSerializer, description="Not a provider, or not your service"),
}
OWNER_RESPONSES = {
    **KEY_RESPONSES,
    404: OpenApiResponse(ErrorSerializer, description="Unknown service id"),
}


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
        query = CatalogQuery(**validated(CatalogQuerySerializer, request.query_params))
        page = catalog_search(query)
        body = CatalogSerializer(
            {
                "total": page.total,
                "total_is_estimate": page.total_is_estimate,
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
                "total_is_estimate": page.total_is_estimate,
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


def _owned_listing(service_id: str, request: Request) -> Service:
    """The caller's service to change or delete; an archived one (deleted with history) is
    gone for its provider: 404."""
    service = service_owned(service_id, api_key_caller(request))
    if service.status == Service.Status.ARCHIVED:
        raise NotFound(f"Service {service_id} not found", code="service_not_found")
    return service


def _owner_view(service: Service, request: Request) -> dict[str, Any]:
    service.provider_score = provider_scores([service.provider_id])[service.provider_id]
    serializer = ProviderServiceOutput(service, context={"base_url": public_base_url(request)})
    return dict(serializer.data)


class ServiceCreateView(APIView):
    """List a new service in the catalog (X-API-Key of a provider)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (provider)"

    @extend_schema(
        operation_id="service_create",
        summary="Create a service",
        request=ServiceCreateInput,
        responses={201: ProviderServiceOutput, **KEY_RESPONSES},
        tags=["provider"],
    )
    def post(self, request: Request) -> Response:
        provider = api_key_caller(request)
        if not provider.is_provider:
            raise ApplicationError(
                "Only providers can list services; register with type provider or both",
                code="not_a_provider",
                status=403,
            )
        service = service_create(provider=provider, **validated(ServiceCreateInput, request.data))
        return Response(_owner_view(service, request), status=201)


class ServiceUpdateView(APIView):
    """Change some fields of a service (X-API-Key of its provider)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"

    @extend_schema(
        operation_id="service_update",
        summary="Update a service",
        request=ServiceUpdateInput,
        responses={200: ProviderServiceOutput, **OWNER_RESPONSES},
        tags=["provider"],
    )
    def put(self, request: Request, service_id: str) -> Response:
        service = _owned_listing(service_id, request)
        updated = service_update(service=service, **validated(ServiceUpdateInput, request.data))
        return Response(_owner_view(updated, request))


class ServiceDeleteView(APIView):
    """Remove a service (X-API-Key of its provider): deleted, or archived if it has jobs."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"

    @extend_schema(
        operation_id="service_delete",
        summary="Delete a service",
        request=None,
        responses={
            200: ServiceDeletedOutput,
            **OWNER_RESPONSES,
        },
        tags=["provider"],
    )
    def delete(self, request: Request, service_id: str) -> Response:
        service = _owned_listing(service_id, request)
        outcome = service_delete(service=service)
        return Response(
            ServiceDeletedOutput(
                {
                    "service_id": service.public_id,
                    "deleted": True,
                    "archived": outcome == "archived",
                    "status": outcome,
                }
            ).data
        )


class ServiceView(ServiceUpdateView, ServiceDeleteView, ServiceDetailView):
    """A service: anyone reads it; its provider updates or deletes it (X-API-Key).

    Django routes by path, not method, so `/v1/services/<id>` needs one view; this one only
    joins the three operations, each of which stays its own view above.
    """

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of the owner (PUT, DELETE)"
