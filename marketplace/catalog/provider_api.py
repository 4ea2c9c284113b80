"""Onboarding a provider: the paying wallet gets an API key and a webhook secret."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.catalog.serializers import OnboardInput, OnboardOutput
from marketplace.catalog.services import provider_onboard
from payments import hooks
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from payments.serializers import ParticipantOutput
from the402.lib.api import ERROR_RESPONSES, validated

ONBOARD_PRICE = 10_000  # $0.01, as registering costs

PAYMENT_RESPONSES = {
    402: OpenApiResponse(description="Payment required: x402 requirements (v1 body, v2 header)"),
    **ERROR_RESPONSES,
}


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
                    "referral_code": {"type": "string"},
                },
            },
        )

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        data = validated(OnboardInput, request.data)
        if data.get("referral_code"):  # an unknown code is a 400 before any payment
            hooks.referral_check(hooks.ReferralClaim(code=data["referral_code"], wallet=payer))
        return data

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        onboarding = provider_onboard(wallet=paid.participant.wallet, **data)
        participant = onboarding.participant
        body = {
            **ParticipantOutput(participant).data,
            "webhook_url": participant.webhook_url,
            "api_key": onboarding.api_key,
            "webhook_secret": onboarding.webhook_secret,
        }
        if onboarding.referral is not None:
            body["referral"] = onboarding.referral
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
