"""The provider's webhook endpoints: test a service's webhook, read the delivery log."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.catalog.selectors import service_owned
from marketplace.notify.selectors import deliveries_for
from marketplace.notify.serializers import DeliveryListOutput, DeliveryOutput
from marketplace.notify.webhook_test import webhook_test
from payments.callers import api_key_caller
from payments.serializers import HistoryQuery
from the402.lib.api import ERROR_RESPONSES, ErrorSerializer, paged, validated
from the402.lib.ratelimit import rate_limit

KEY_RESPONSES = {
    **ERROR_RESPONSES,
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid X-API-Key"),
    403: OpenApiResponse(ErrorSerializer, description="Not a provider, or not your service"),
}
OWNER_RESPONSES = {
    **KEY_RESPONSES,
    404: OpenApiResponse(ErrorSerializer, description="Unknown service id"),
}


class ServiceWebhookTestView(APIView):
    """Send a signed test event to the service's webhook and report how it answered (owner)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"

    @extend_schema(
        operation_id="service_webhook_test",
        summary="Test a service's webhook",
        request=None,
        responses={
            200: OpenApiResponse(description="Test result"),
            **OWNER_RESPONSES,
            429: OpenApiResponse(ErrorSerializer, description="Too many tests: see Retry-After"),
        },
        tags=["provider"],
    )
    def post(self, request: Request, service_id: str) -> Response:
        service = service_owned(service_id, api_key_caller(request))
        rate_limit("webhook_test", service.provider.public_id)  # each test calls out
        # Outside any transaction: the provider may take up to the webhook timeout to answer.
        return Response(webhook_test(service))


class WebhookDeliveriesView(APIView):
    """The provider's webhook delivery log, newest first (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="provider_webhook_deliveries",
        summary="Webhook delivery log",
        parameters=[HistoryQuery],
        responses={200: DeliveryListOutput, **KEY_RESPONSES},
        tags=["provider"],
    )
    def get(self, request: Request) -> Response:
        page = validated(HistoryQuery, request.query_params)
        deliveries = deliveries_for(api_key_caller(request), **page)
        return Response(paged("deliveries", DeliveryOutput(deliveries, many=True).data, **page))
