"""Match a decoded payment to the option it pays for.

v1 payloads name only scheme and network (the legacy reference server matched on exactly
that). v2 payloads echo the full requirements in `accepted`, which must equal one of ours;
the error names the first field that no option agrees with, so clients get a useful reason.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    ASSET_MISMATCH,
    INVALID_NETWORK,
    INVALID_PAYMENT_REQUIREMENTS,
    UNSUPPORTED_SCHEME,
    X402Error,
)
from .payload import PaymentPayload
from .requirements import SCHEME, PaymentOption


def select_option(payload: PaymentPayload, options: list[PaymentOption]) -> PaymentOption:
    """The option `payload` is meant to pay, or X402Error with the most specific reason."""
    if payload.scheme != SCHEME:
        raise X402Error(UNSUPPORTED_SCHEME, f"only the {SCHEME!r} scheme is accepted")
    on_network = [option for option in options if _network_of(option, payload) == payload.network]
    if not on_network:
        raise X402Error(INVALID_NETWORK, "no payment option on the payload's network")
    if payload.accepted is None:
        return _pick_v1(payload, on_network)
    return _pick_v2(payload.accepted, on_network)


def _network_of(option: PaymentOption, payload: PaymentPayload) -> str:
    return option.network.x402_name if payload.version == 1 else option.network.caip2


def _pick_v1(payload: PaymentPayload, candidates: list[PaymentOption]) -> PaymentOption:
    """Prefer the option the authorization pays exactly; verify reports any mismatch."""
    authorization = payload.authorization
    for option in candidates:
        if (
            option.pay_to.lower() == authorization.to_address.lower()
            and option.amount == authorization.value
        ):
            return option
    return candidates[0]


def _pick_v2(accepted: dict[str, Any], candidates: list[PaymentOption]) -> PaymentOption:
    asset = accepted["asset"].lower()
    same_asset = [option for option in candidates if option.asset.lower() == asset]
    if not same_asset:
        raise X402Error(ASSET_MISMATCH, "accepted.asset is not an asset this resource accepts")
    for option in same_asset:
        if _accepted_matches(accepted, option.v2_requirements()):
            return option
    raise X402Error(
        INVALID_PAYMENT_REQUIREMENTS, "accepted does not match any of the offered requirements"
    )


def _accepted_matches(accepted: dict[str, Any], offered: dict[str, Any]) -> bool:
    """Amount and timeout compare exactly, addresses case-insensitively, extra by domain."""
    extra = accepted.get("extra", {})
    return bool(
        accepted["amount"] == offered["amount"]
        and accepted["payTo"].lower() == offered["payTo"].lower()
        and accepted["maxTimeoutSeconds"] == offered["maxTimeoutSeconds"]
        and extra.get("name") == offered["extra"]["name"]
        and extra.get("version") == offered["extra"]["version"]
    )
