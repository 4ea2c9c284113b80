"""Paid reputation look-ups: one wallet ($0.005) or up to 20 at once ($0.02)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from payments.selectors import participant_get
from payments.wallets import is_address, normalize_address
from reputation.selectors import participant_reputation
from the402.lib.errors import ApplicationError

LOOKUP_PRICE = 5_000  # $0.005
BATCH_PRICE = 20_000  # $0.02
BATCH_LIMIT = 20


class DimensionsOut(serializers.Serializer):
    quality = serializers.FloatField()
    speed = serializers.FloatField()
    reliability = serializers.FloatField()
    communication = serializers.FloatField()


class ReputationLevelOut(serializers.Serializer):
    composite = serializers.FloatField(help_text="0-100; 75 without history")
    tier = serializers.ChoiceField(choices=["poor", "new", "fair", "good", "excellent"])
    dimensions = DimensionsOut()
    confidence = serializers.FloatField(help_text="0-1, from the decayed job volume")
    is_new = serializers.BooleanField(help_text="confidence below 0.33")
    total_jobs = serializers.IntegerField()
    completed_jobs = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)


class ReputationOut(ReputationLevelOut):
    wallet = serializers.CharField()
    participant_id = serializers.CharField(allow_null=True)
    is_new_provider = serializers.BooleanField()
    by_service_type = serializers.DictField(
        child=serializers.FloatField(), help_text="Each service type's composite"
    )
    service_types = serializers.DictField(
        child=ReputationLevelOut(), help_text="Each service type in full, with its job counts"
    )


class ReputationBatchOut(serializers.Serializer):
    results = ReputationOut(many=True)


def _wallet(value: str) -> str:
    if not is_address(value):
        raise ApplicationError(f"{value!r} is not a wallet address", code="invalid_wallet")
    return normalize_address(value)


def _profile(wallet: str) -> dict[str, Any]:
    participant = participant_get(wallet)
    reputation = participant_reputation(participant.pk if participant else None)
    return {
        "wallet": wallet,
        "participant_id": participant.public_id if participant else None,
        **reputation,
    }


class ReputationLookupView(PaidView):
    """A wallet's reputation: composite, dimensions, confidence, per service type ($0.005)."""

    endpoint_price = "$0.005"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(LOOKUP_PRICE, "the402 reputation look-up", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> str:
        return _wallet(kwargs["wallet"])

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        return Response(_profile(data))

    @extend_schema(
        operation_id="reputation_lookup",
        tags=["reputation"],
        responses={200: ReputationOut, 402: OpenApiResponse()},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


class BatchInput(serializers.Serializer):
    wallets = serializers.ListField(
        child=serializers.CharField(max_length=42), min_length=1, max_length=BATCH_LIMIT
    )


class ReputationBatchView(PaidView):
    """Reputation of up to 20 wallets in one call ($0.02)."""

    endpoint_price = "$0.02"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(BATCH_PRICE, "the402 reputation batch look-up", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> list[str]:
        serializer = BatchInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        return list(dict.fromkeys(_wallet(w) for w in serializer.validated_data["wallets"]))

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        return Response({"results": [_profile(wallet) for wallet in data]})

    @extend_schema(
        operation_id="reputation_batch",
        tags=["reputation"],
        request=BatchInput,
        responses={200: ReputationBatchOut, 402: OpenApiResponse()},
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)
