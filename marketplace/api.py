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
