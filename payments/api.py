"""Identity, keys, balance, the devnet faucet and the served facilitator."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import hooks
from payments.charges import Paid, Price
from payments.earnings import provider_earnings
from payments.gate import PaidView, authenticated_participant
from payments.ledger import PLATFORM_FEES
from payments.models import Participant
from payments.selectors import balance_history, balance_summary, participant_get
from payments.serializers import (
    DepositQuery,
    FaucetInput,
    HistoryQuery,
    ParticipantOutput,
    ParticipantUpdateInput,
    RegisterInput,
    RegistrationOutput,
    history_entries,
)
from payments.services import (
    api_key_issue,
    participant_register,
    participant_update,
    webhook_secret_ensure,
    webhook_secret_previous,
    webhook_secret_rotate,
)
from the402.lib import money
from the402.lib.api import ERROR_RESPONSES
from the402.lib.errors import ApplicationError, NotFound

REGISTER_PRICE = 10_000  # $0.01
ROTATE_PRICE = 1_000  # $0.001
MIN_DEPOSIT = 10_000  # $0.01
MAX_DEPOSIT = 10_000_000_000  # $10,000
MAX_FAUCET = 10_000_000_000  # $10,000 of test USDC per call

PAYMENT_RESPONSES = {
    402: OpenApiResponse(description="Payment required: x402 requirements (v1 body, v2 header)"),
    **ERROR_RESPONSES,
}


def _validated(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RegisterView(PaidView):
    """Register a wallet and get an API key ($0.01, x402; idempotent per wallet)."""

    endpoint_price = "$0.01"
    endpoint_auth = "x402"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(
            REGISTER_PRICE,
            "Register on the402 and receive an API key",
            PLATFORM_FEES,
            allow_balance=False,
            input_schema={
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "type": {"enum": ["agent", "provider", "both"]},
                    "description": {"type": "string"},
                    "webhook_url": {"type": "string"},
                    "capabilities": {"type": "array", "items": {"type": "string"}},
                    "referral_code": {"type": "string"},
                },
            },
        )

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        data = _validated(RegisterInput, request.data)
        if data.get("referral_code"):  # an unknown code is a 400 before any payment
            hooks.referral_check(hooks.ReferralClaim(code=data["referral_code"], wallet=payer))
        return data

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        registration = participant_register(wallet=paid.participant.wallet, **data)
        body = {
            **ParticipantOutput(registration.participant).data,
            "api_key": registration.api_key,
            "webhook_secret": registration.webhook_secret,
        }
        if registration.referral is not None:
            body["referral"] = registration.referral
        return Response(body, status=201 if registration.created else 200)

    @extend_schema(
        operation_id="register",
        request=RegisterInput,
        responses={201: RegistrationOutput, 200: RegistrationOutput, **PAYMENT_RESPONSES},
        tags=["identity"],
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


class RotateKeyView(PaidView):
    """Replace the API key; the old one stops working at once ($0.001, x402 from the wallet)."""

    endpoint_price = "$0.001"
    endpoint_auth = "x402"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(ROTATE_PRICE, "Rotate your the402 API key", PLATFORM_FEES, allow_balance=False)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> None:
        participant = participant_get(payer) if payer else None
        if participant is None or participant.registered_at is None:
            raise NotFound(
                "This wallet is not registered; POST /v1/register first", code="not_registered"
            )

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        key = api_key_issue(participant=paid.participant)
        return Response({"participant_id": paid.participant.public_id, "api_key": key})

    @extend_schema(
        operation_id="rotate_key",
        request=None,
        responses={
            200: inline_serializer(
                "RotatedKey",
                {"participant_id": serializers.CharField(), "api_key": serializers.CharField()},
            ),
            **PAYMENT_RESPONSES,
        },
        tags=["identity"],
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


class ParticipantView(APIView):
    """A participant's public profile (free; by id or wallet). PUT updates it (owner, API key)."""

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of the owner (PUT)"

    @extend_schema(
        operation_id="participant_get", responses={200: ParticipantOutput}, tags=["identity"]
    )
    def get(self, request: Request, participant_id: str) -> Response:
        participant = participant_get(participant_id)
        if participant is None:
            raise NotFound(f"Participant {participant_id} not found", code="participant_not_found")
        return Response(ParticipantOutput(participant).data)

    @extend_schema(
        operation_id="participant_update",
        request=ParticipantUpdateInput,
        responses={200: ParticipantOutput, **ERROR_RESPONSES},
        tags=["identity"],
    )
    def put(self, request: Request, participant_id: str) -> Response:
        caller = authenticated_participant(request.headers.get("X-API-Key", ""))
        target = participant_get(participant_id)
        if target is None or target.pk != caller.pk:
            # The same answer for "not yours" and "not found": ids are not an oracle.
            raise ApplicationError(
                "You can only update your own profile", code="forbidden", status=403
            )
        secret = participant_update(
            participant=caller, **_validated(ParticipantUpdateInput, request.data)
        )
        body = dict(ParticipantOutput(caller).data)
        if secret:
            body["webhook_secret"] = secret
        return Response(body)


def _own_participant(request: Request, participant_id: str) -> Participant:
    """The caller (X-API-Key), if `participant_id` (id or wallet) names it; else 403, the
    same for "not yours" and "not found" (ids are not an oracle)."""
    caller = authenticated_participant(request.headers.get("X-API-Key", ""))
    target = participant_get(participant_id)
    if target is None or target.pk != caller.pk:
        raise ApplicationError("This is not your participant", code="forbidden", status=403)
    return caller


def _webhook_secret_body(participant: Participant, secret: str) -> dict[str, Any]:
    until = participant.webhook_secret_grace_until
    previous_valid = until is not None and webhook_secret_previous(participant) is not None
    return {
        "participant_id": participant.public_id,
        "webhook_secret": secret,
        "previous_valid_until": until.isoformat().replace("+00:00", "Z")
        if previous_valid and until is not None
        else None,
    }


WEBHOOK_SECRET_OUTPUT = inline_serializer(
    "WebhookSecret",
    {
        "participant_id": serializers.CharField(),
        "webhook_secret": serializers.CharField(help_text="Signs X-Webhook-Signature"),
        "previous_valid_until": serializers.DateTimeField(
            allow_null=True,
            help_text="After a rotation: until then X-Webhook-Signature-Previous carries a "
            "signature by the old secret",
        ),
    },
)


class WebhookSecretView(APIView):
    """Your webhook secret, which signs every webhook to you (X-API-Key, owner)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"

    @extend_schema(
        operation_id="webhook_secret_get",
        responses={200: WEBHOOK_SECRET_OUTPUT, **ERROR_RESPONSES},
        tags=["identity"],
    )
    def get(self, request: Request, participant_id: str) -> Response:
        participant = _own_participant(request, participant_id)
        response = Response(_webhook_secret_body(participant, webhook_secret_ensure(participant)))
        response["Cache-Control"] = "no-store"
        return response


class WebhookSecretRotateView(APIView):
    """A new webhook secret; the old one still signs (as X-Webhook-Signature-Previous)
    during the grace period (X-API-Key, owner)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"

    @extend_schema(
        operation_id="webhook_secret_rotate",
        request=None,
        responses={200: WEBHOOK_SECRET_OUTPUT, **ERROR_RESPONSES},
        tags=["identity"],
    )
    def post(self, request: Request, participant_id: str) -> Response:
        participant = _own_participant(request, participant_id)
        secret = webhook_secret_rotate(participant=participant)
        response = Response(_webhook_secret_body(participant, secret))
        response["Cache-Control"] = "no-store"
        return response


class DepositView(PaidView):
    """Add USDC to the prepaid balance (x402 for exactly `?amount=`)."""

    endpoint_price = "the amount deposited"
    endpoint_auth = "x402"
    endpoint_price_min = MIN_DEPOSIT  # the bounds of x-payment-info in /openapi.json
    endpoint_price_max = MAX_DEPOSIT

    def price(self, request: Request, **kwargs: Any) -> Price:
        amount = _deposit_amount(request)
        return Price(
            amount,
            f"Deposit {money.format_usd(amount)} USDC to your the402 balance",
            None,
            allow_balance=False,
        )

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        summary = balance_summary(paid.participant)
        return Response(
            {
                "deposited_usd": money.usd_decimal(paid.amount),
                "balance_usd": money.usd_decimal(summary["balance"]),
                "participant_id": paid.participant.public_id,
                "payment_id": paid.payment.public_id if paid.payment else None,
                "transaction": paid.payment.tx_hash if paid.payment else None,
            },
            status=201,
        )

    @extend_schema(
        operation_id="balance_deposit",
        parameters=[DepositQuery],
        request=None,
        responses={201: OpenApiResponse(description="Deposited"), **PAYMENT_RESPONSES},
        tags=["balance"],
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        return self.gate(request, **kwargs)


def _deposit_amount(request: Request) -> int:
    text = _validated(DepositQuery, request.query_params)["amount"]
    try:
        amount = money.parse_usd(text)
    except money.MoneyError as exc:
        raise ApplicationError(f"amount: {exc}", code="invalid_amount") from None
    if not MIN_DEPOSIT <= amount <= MAX_DEPOSIT:
        raise ApplicationError(
            f"amount must be between {money.format_usd(MIN_DEPOSIT)} and "
            f"{money.format_usd(MAX_DEPOSIT)} USD",
            code="invalid_amount",
        )
    return amount


class BalanceView(APIView):
    """The prepaid balance (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="balance_get",
        tags=["balance"],
        responses={200: OpenApiResponse(description="Balance")},
    )
    def get(self, request: Request) -> Response:
        participant = authenticated_participant(request.headers.get("X-API-Key", ""))
        summary = balance_summary(participant)
        return Response(
            {
                "participant_id": participant.public_id,
                "balance_usd": money.usd_decimal(summary["balance"]),
                "total_deposited_usd": money.usd_decimal(summary["deposited"]),
                "total_spent_usd": money.usd_decimal(summary["spent"]),
            }
        )


class BalanceHistoryView(APIView):
    """Movements of the prepaid balance, newest first (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="balance_history",
        parameters=[HistoryQuery],
        tags=["balance"],
        responses={200: OpenApiResponse(description="History")},
    )
    def get(self, request: Request) -> Response:
        participant = authenticated_participant(request.headers.get("X-API-Key", ""))
        page = _validated(HistoryQuery, request.query_params)
        total, entries = balance_history(participant, **page)
        return Response(
            {
                "total": total,
                **page,
                "entries": history_entries(entries),
            }
        )


class FaucetView(APIView):
    """Mint test USDC to an address (devnet only)."""

    endpoint_price = "free (devnet only)"
    endpoint_auth = "none"

    @extend_schema(
        operation_id="devnet_faucet",
        request=FaucetInput,
        tags=["devnet"],
        responses={200: OpenApiResponse(description="Minted")},
    )
    def post(self, request: Request) -> Response:
        if settings.NETWORK != "devnet":
            raise Http404
        from payments.chain.client import current_deployment
        from payments.chain.usdc import mint

        data = _validated(FaucetInput, request.data)
        try:
            amount = money.parse_usd(data["amount"])
        except money.MoneyError as exc:
            raise ApplicationError(f"amount: {exc}", code="invalid_amount") from None
        if not 0 < amount <= MAX_FAUCET:
            raise ApplicationError(
                "amount must be above 0 and at most 10000.00", code="invalid_amount"
            )
        tx_hash = mint(token=current_deployment().usdc, to=data["address"], amount=amount)
        return Response(
            {
                "address": data["address"],
                "minted_usd": money.usd_decimal(amount),
                "transaction": tx_hash,
            }
        )


class ProviderEarningsView(APIView):
    """What the provider earned: settled, held in escrow, pending; recent settlements (API key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="provider_earnings",
        tags=["provider"],
        responses={200: OpenApiResponse(description="Earnings")},
    )
    def get(self, request: Request) -> Response:
        participant = authenticated_participant(request.headers.get("X-API-Key", ""))
        return Response(provider_earnings(participant))
