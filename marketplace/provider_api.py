"""The provider-facing API: onboarding, and creating, changing and removing listings.

Views authenticate, validate, call one service and respond; the listing rules live in
`marketplace.services`. Ownership is checked here, before the input: a stranger learns
nothing from validation errors about a listing that is not theirs.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import ServiceDetailView
from marketplace.models import FulfillmentType, PricingModel, Service, ServiceType
from marketplace.schemas import contains_nul
from marketplace.selectors import service_get
from marketplace.serializers import ServiceSerializer
from marketplace.services import (
    parse_price,
    provider_onboard,
    service_create,
    service_delete,
    service_update,
)
from marketplace.webhooks import deliveries_for, webhook_test
from payments.gate import Paid, PaidView, Price, authenticated_participant
from payments.ledger import PLATFORM_FEES
from payments.models import Participant
from payments.serializers import (
    CapabilitiesField,
    HistoryQuery,
    HttpUrlField,
    ParticipantOutput,
    RegistrationOutput,
)
from reputation.selectors import provider_scores
from the402.lib.errors import ApplicationError, NotFound
from the402.lib.ratelimit import rate_limit
from the402.lib.urls import public_base_url
from the402.schema import ERROR_RESPONSES, ErrorSerializer

ONBOARD_PRICE = 10_000  # $0.01, as registering costs

KEY_RESPONSES = {
    **ERROR_RESPONSES,
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid X-API-Key"),
    403: OpenApiResponse(ErrorSerializer, description="Not a provider, or not your service"),
}
OWNER_RESPONSES = {
    **KEY_RESPONSES,
    404: OpenApiResponse(ErrorSerializer, description="Unknown service id"),
}
PAYMENT_RESPONSES = {
    402: OpenApiResponse(description="Payment required: x402 requirements (v1 body, v2 header)"),
    **ERROR_RESPONSES,
}


# --- input ------------------------------------------------------------------------------
@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "example": "25.00", "description": '"25.00" or "$25.00"'},
            {
                "type": "object",
                "properties": {"fixed": {"type": "string", "example": "$25.00"}},
                "required": ["fixed"],
            },
            {
                "type": "object",
                "description": "A range, for quote_required services",
                "properties": {
                    "min": {"type": "string", "example": "25"},
                    "max": {"type": "string", "example": "500"},
                },
                "required": ["min", "max"],
            },
        ]
    }
)
class PriceInputField(serializers.Field):
    """A listing price in any documented form, read as `(price_micros, price_max_micros)`.

    A bad price raises `ApplicationError` (code `invalid_price`) straight from
    `parse_price`, so the API and the service answer with the same code.
    """

    def to_internal_value(self, data: Any) -> tuple[int, int | None]:
        return parse_price(data)

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class SchemaInputField(serializers.JSONField):
    """A JSON Schema, or a flat `{field: {type, description}}` map; checked by the service."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if contains_nul(value):
            raise serializers.ValidationError("must not contain NUL characters")
        return value


class ServiceUpdateInput(serializers.Serializer):
    """Any subset of a listing's fields; what is omitted stays as it is."""

    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=5000, required=False)
    category = serializers.CharField(max_length=50, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), max_length=20, required=False
    )
    price = PriceInputField(required=False)
    pricing_model = serializers.ChoiceField(choices=PricingModel.values, required=False)
    service_type = serializers.ChoiceField(choices=ServiceType.values, required=False)
    fulfillment_type = serializers.ChoiceField(
        choices=[*FulfillmentType.values, "async"],
        required=False,
        help_text="Inferred from service_type when omitted, and the other way round.",
    )
    estimated_delivery = serializers.CharField(max_length=50, allow_blank=True, required=False)
    input_schema = SchemaInputField(allow_null=True, required=False)
    deliverable_schema = SchemaInputField(allow_null=True, required=False)
    webhook_url = HttpUrlField(
        max_length=500,
        allow_blank=True,
        required=False,
        help_text="Per-service webhook; blank uses the provider's.",
    )
    status = serializers.ChoiceField(choices=Service.Status.values, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "price" in attrs:
            attrs["price_micros"], attrs["price_max_micros"] = attrs.pop("price")
        return attrs


class ServiceCreateInput(ServiceUpdateInput):
    """A new listing: name, description, category and price are required."""

    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=5000)
    category = serializers.CharField(max_length=50)
    price = PriceInputField()


class OnboardInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    webhook_url = HttpUrlField(max_length=500, required=False, allow_blank=True, default="")
    capabilities = CapabilitiesField(required=False, default=list)


def _validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- output -----------------------------------------------------------------------------
class ProviderServiceOutput(ServiceSerializer):
    """The catalog entry, plus what only its owner sees."""

    service_id = serializers.CharField(help_text="Same as id; some clients read this name.")
    webhook_url = serializers.CharField(help_text="Per-service webhook; blank: the provider's.")

    def to_representation(self, service: Service) -> dict[str, Any]:
        return {
            **super().to_representation(service),
            "service_id": service.public_id,
            "webhook_url": service.webhook_url,
        }


class OnboardOutput(RegistrationOutput):
    webhook_url = serializers.CharField()
    webhook_secret = serializers.CharField(
        help_text="Signs every webhook: to your webhook_url and to each service's own URL."
    )


def _owner_view(service: Service, request: Request) -> dict[str, Any]:
    service.provider_score = provider_scores([service.provider_id])[service.provider_id]
    serializer = ProviderServiceOutput(service, context={"base_url": public_base_url(request)})
    return dict(serializer.data)


# --- access -----------------------------------------------------------------------------
def _caller(request: Request) -> Participant:
    return authenticated_participant(request.headers.get("X-API-Key", ""))


def _owned_service(request: Request, service_id: str) -> Service:
    """The caller's service: 401 without a valid key, 404 if unknown, 403 if someone else's."""
    caller = _caller(request)
    service = service_get(service_id)
    if service is None:
        raise NotFound(f"Service {service_id} not found", code="service_not_found")
    if service.provider_id != caller.pk:
        raise ApplicationError(
            "You can only change your own services", code="forbidden", status=403
        )
    return service


# --- views ------------------------------------------------------------------------------
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
        provider = _caller(request)
        if not provider.is_provider:
            raise ApplicationError(
                "Only providers can list services; register with type provider or both",
                code="not_a_provider",
                status=403,
            )
        service = service_create(provider=provider, **_validated(ServiceCreateInput, request.data))
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
        service = _owned_service(request, service_id)
        updated = service_update(service=service, **_validated(ServiceUpdateInput, request.data))
        return Response(_owner_view(updated, request))


class ServiceDeleteView(APIView):
    """Remove a service for good (X-API-Key of its provider)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"

    @extend_schema(
        operation_id="service_delete",
        summary="Delete a service",
        request=None,
        responses={
            204: OpenApiResponse(description="Deleted"),
            409: OpenApiResponse(ErrorSerializer, description="The service has jobs"),
            **OWNER_RESPONSES,
        },
        tags=["provider"],
    )
    def delete(self, request: Request, service_id: str) -> Response:
        service_delete(service=_owned_service(request, service_id))
        return Response(status=204)


class ServiceView(ServiceUpdateView, ServiceDeleteView, ServiceDetailView):
    """A service: anyone reads it; its provider updates or deletes it (X-API-Key).

    Django routes by path, not method, so `/v1/services/<id>` needs one view; this one only
    joins the three operations, each of which stays its own view above.
    """

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of the owner (PUT, DELETE)"


class ProviderOnboardView(PaidView):
    """Register the paying wallet as a provider: API key and webhook secret ($0.01, x402)."""

    endpoint_price = "$0.01"
    endpoint_auth = "x402"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(
            ONBOARD_PRICE,
            "Onboard as a provider on the402 and receive an API key",
            PLATFORM_FEES,
            allow_balance=False,  # the payment proves the wallet, as registering does
            input_schema={
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "webhook_url": {"type": "string"},
                    "capabilities": {"type": "array", "items": {"type": "string"}},
                },
            },
        )

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        return _validated(OnboardInput, request.data)

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        onboarding = provider_onboard(wallet=paid.participant.wallet, **data)
        participant = onboarding.participant
        body = {
            **ParticipantOutput(participant).data,
            "webhook_url": participant.webhook_url,
            "api_key": onboarding.api_key,
            "webhook_secret": onboarding.webhook_secret,
        }
        return Response(body, status=201 if onboarding.created else 200)

    @extend_schema(
        operation_id="provider_onboard",
        summary="Onboard as a provider",
        request=OnboardInput,
        responses={201: OnboardOutput, 200: OnboardOutput, **PAYMENT_RESPONSES},
        tags=["provider"],
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


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
        service = _owned_service(request, service_id)
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
        responses={200: OpenApiResponse(description="Deliveries"), **KEY_RESPONSES},
        tags=["provider"],
    )
    def get(self, request: Request) -> Response:
        page = _validated(HistoryQuery, request.query_params)
        deliveries = deliveries_for(_caller(request), **page)
        return Response(
            {
                **page,
                "deliveries": [
                    {
                        "delivery_id": d.public_id,
                        "event_id": d.event_id,
                        "type": d.event_type,
                        "service_id": d.service.public_id if d.service else None,
                        "url": d.url,
                        "status": d.status,
                        "attempts": d.attempts,
                        "signed": d.signed,
                        "last_status_code": d.last_status_code,
                        "last_error": d.last_error,
                        "created_at": d.created_at,
                        "delivered_at": d.delivered_at,
                        "next_attempt_at": d.next_attempt_at,
                    }
                    for d in deliveries
                ],
            }
        )
