"""The referral endpoints: the public programme, and the caller's code, referrals, earnings
and withdrawals (X-API-Key). Views call selectors and services only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments.gate import authenticated_participant
from payments.idempotency import idempotent
from payments.serializers import HistoryQuery
from referrals import program
from referrals.selectors import earnings_of, program_terms, referrals_of
from referrals.services import earnings_withdraw
from the402.lib import money
from the402.lib.api import ERROR_RESPONSES
from the402.lib.urls import public_base_url


def _caller(request: Request) -> Any:
    return authenticated_participant(request.headers.get("X-API-Key", ""))


class ProgramView(APIView):
    """Referral programme: rates, rules, caps and launch bonus status (public)."""

    endpoint_price = "free"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="referrals_program",
        tags=["referrals"],
        responses={200: OpenApiResponse(description="Programme")},
    )
    def get(self, request: Request) -> Response:
        return Response(program_terms())


class CodeView(APIView):
    """Your referral code and share link (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="referrals_code",
        tags=["referrals"],
        responses={200: OpenApiResponse(description="Code"), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        participant = _caller(request)
        code = program.code_for(participant.public_id)
        return Response(
            {
                "participant_id": participant.public_id,
                "code": code,
                "link": f"{public_base_url(request)}/?ref={code}",
                "how_to_use": "Send it as referral_code in the body of POST /v1/register "
                "or POST /v1/provider/onboard.",
            }
        )


class ReferralsView(APIView):
    """The participants you referred and their status (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="referrals_list",
        tags=["referrals"],
        responses={200: OpenApiResponse(description="Referrals"), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        participant = _caller(request)
        referrals = referrals_of(participant)
        return Response(
            {
                "participant_id": participant.public_id,
                "total": len(referrals),
                "referrals": referrals,
            }
        )


class EarningsView(APIView):
    """Referral earnings: totals and per-transaction history (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="referrals_earnings",
        parameters=[HistoryQuery],
        tags=["referrals"],
        responses={200: OpenApiResponse(description="Earnings"), **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        participant = _caller(request)
        query = HistoryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(earnings_of(participant, **query.validated_data))


class WithdrawView(APIView):
    """Move your available referral earnings to your balance (X-API-Key; Idempotency-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="referrals_withdraw",
        request=None,
        tags=["referrals"],
        responses={200: OpenApiResponse(description="Withdrawn"), **ERROR_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        participant = _caller(request)

        def withdraw() -> Response:
            done = earnings_withdraw(participant)
            body = {
                "withdrawal_id": done.public_id,
                "withdrawn_usd": money.usd_decimal(done.amount),
                "rewards": done.rewards,
                "balance_usd": money.usd_decimal(done.balance),
            }
            return Response(body)

        return idempotent(request, f"p:{participant.public_id}", withdraw)
