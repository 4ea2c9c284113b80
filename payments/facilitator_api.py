"""This deployment's local facilitator over HTTP (`/facilitator/`), off unless
`THE402_SERVE_FACILITATOR` is on: settling spends our relayer's gas.

Business failures answer 200 with `isValid: false` / `success: false`, as x402 clients expect;
4xx is kept for malformed requests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from eth_account import Account
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import x402
from payments.chain.client import current_deployment
from payments.facilitators import LocalFacilitator
from payments.networks import NETWORKS, Network, current_network
from the402.lib.errors import ApplicationError


def _served() -> None:
    if not settings.SERVE_FACILITATOR:
        raise Http404


def _request_parts(data: Any) -> tuple[x402.PaymentPayload, x402.PaymentOption]:
    """The payload and our own option for the requirements the caller sent."""
    if not isinstance(data, dict):
        raise ApplicationError("Expected a JSON object", code="invalid_request")
    raw_payload, requirements = data.get("paymentPayload"), data.get("paymentRequirements")
    if not isinstance(raw_payload, dict) or not isinstance(requirements, dict):
        raise ApplicationError(
            "paymentPayload and paymentRequirements are required", code="invalid_request"
        )
    version = raw_payload.get("x402Version")
    if version not in (1, 2):
        raise ApplicationError("x402Version must be 1 or 2", code="invalid_x402_version")
    payload = x402.decode_payment_json(raw_payload, version=version)
    network = _network(str(requirements.get("network", "")))
    return payload, x402.option_from_requirements(requirements, version=version, network=network)


def _network(name: str) -> Network:
    """The network a requirement names; this deployment's own when the names match."""
    candidates = [current_network(), *NETWORKS.values()]
    for network in candidates:
        if name in (network.x402_name, network.caip2):
            return network
    raise x402.X402Error("invalid_network", f"unsupported network {name!r}")


class _FacilitatorView(APIView):
    endpoint_price = "free (only when this deployment serves its facilitator)"
    endpoint_auth = "none"


class VerifyView(_FacilitatorView):
    """x402 facilitator: verify a payment against requirements."""

    @extend_schema(
        operation_id="facilitator_verify", tags=["facilitator"], request=None, responses=None
    )
    def post(self, request: Request) -> Response:
        _served()
        try:
            payload, option = _request_parts(request.data)
        except x402.X402Error as exc:
            return Response(
                {"isValid": False, "invalidReason": exc.reason, "invalidMessage": exc.message}
            )
        result = LocalFacilitator().verify(payload, option)
        body: dict[str, Any] = {"isValid": result.is_valid, "payer": result.payer}
        if not result.is_valid:
            body |= {"invalidReason": result.reason, "invalidMessage": result.message}
        return Response(body)


class SettleView(_FacilitatorView):
    """x402 facilitator: verify, then settle a payment on-chain."""

    @extend_schema(
        operation_id="facilitator_settle", tags=["facilitator"], request=None, responses=None
    )
    def post(self, request: Request) -> Response:
        _served()
        try:
            payload, option = _request_parts(request.data)
        except x402.X402Error as exc:
            return Response({"success": False, "errorReason": exc.reason, "transaction": ""})
        network = option.network.caip2 if payload.version == 2 else option.network.x402_name
        facilitator = LocalFacilitator()
        verified = facilitator.verify(payload, option)
        if not verified.is_valid:
            return Response(
                {
                    "success": False,
                    "errorReason": verified.reason,
                    "transaction": "",
                    "network": network,
                    "payer": verified.payer,
                }
            )
        result = facilitator.settle(payload, option)
        body = {
            "success": result.status == "settled",
            "transaction": result.tx_hash,
            "network": network,
            "payer": verified.payer,
        }
        if result.status == "pending":
            body["errorReason"] = "settlement_pending"
        elif result.status == "failed":
            body["errorReason"] = result.reason
        return Response(body)


class SupportedView(_FacilitatorView):
    """x402 facilitator: the payment kinds this facilitator settles."""

    @extend_schema(operation_id="facilitator_supported", tags=["facilitator"], responses=None)
    def get(self, request: Request) -> Response:
        _served()
        network = current_network()
        relayer = Account.from_key(current_deployment().owner_key).address
        return Response(
            {
                "kinds": [
                    {"x402Version": 2, "scheme": "exact", "network": network.caip2},
                    {"x402Version": 1, "scheme": "exact", "network": network.x402_name},
                ],
                "extensions": [],
                "signers": {"eip155:*": [relayer]},
            }
        )
