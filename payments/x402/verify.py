"""Offline verification of an `exact` EVM payment: everything except the chain.

What stays for the facilitator/chain: the payer's balance, whether the nonce is already used
or cancelled, and the actual transfer. Smart-wallet signatures (ERC-1271 / ERC-6492, longer
than 65 bytes) are a known limitation: checking them needs an RPC call, so they are refused.
"""

from __future__ import annotations

from payments.eip3009 import fast_recover_signer

from .errors import (
    INVALID_NETWORK,
    INVALID_SIGNATURE,
    RECIPIENT_MISMATCH,
    UNSUPPORTED_SCHEME,
    VALID_AFTER,
    VALID_BEFORE,
    VALUE_MISMATCH,
    X402Error,
)
from .payload import EOA_SIGNATURE_BYTES, PaymentPayload
from .requirements import SCHEME, PaymentOption

# Seconds an authorization must still be valid for: about three Base blocks, so settlement can
# land before expiry. Every reference facilitator uses 6.
SETTLEMENT_BUFFER_SECONDS = 6
# Official Python v2 clients sign validBefore = now + (maxTimeoutSeconds or 3600); accept up
# to that plus a minute of clock skew, and no more, so a leaked header cannot stay spendable
# for days.
MIN_VALIDITY_WINDOW_SECONDS = 3600
CLOCK_SKEW_SECONDS = 60
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def verify_payment(payload: PaymentPayload, option: PaymentOption, *, now: int) -> str:
    """Check `payload` pays `option` exactly and was signed by its `from`; return the payer.

    Checks run in a fixed order (scheme, network, recipient, amount, time, signature) so
    the reason reported is deterministic and the expensive signature check runs last.
    """
    _check_terms(payload, option)
    _check_time(payload, option, now)
    return _recover_payer(payload, option)


def _check_terms(payload: PaymentPayload, option: PaymentOption) -> None:
    """Amount must be exact for v1 too: official clients (TS and Python, v1 and v2) sign
    exactly the advertised amount, and `exact` means no over- or under-payment to reconcile.
    """
    expected_network = option.network.x402_name if payload.version == 1 else option.network.caip2
    authorization = payload.authorization
    if payload.scheme != SCHEME:
        raise X402Error(UNSUPPORTED_SCHEME, f"only the {SCHEME!r} scheme is accepted")
    if payload.network != expected_network:
        raise X402Error(INVALID_NETWORK, f"payment must be on {expected_network}")
    if authorization.to_address.lower() != option.pay_to.lower():
        raise X402Error(RECIPIENT_MISMATCH, "authorization.to is not the payment recipient")
    if authorization.value != option.amount:
        raise X402Error(VALUE_MISMATCH, f"authorization.value must be exactly {option.amount}")


def _check_time(payload: PaymentPayload, option: PaymentOption, now: int) -> None:
    """valid_after == now is accepted although the token requires block.timestamp >
    validAfter: the next block is later anyway, and server and chain clocks drift.
    """
    authorization = payload.authorization
    longest = max(option.max_timeout_seconds, MIN_VALIDITY_WINDOW_SECONDS) + CLOCK_SKEW_SECONDS
    if authorization.valid_after > now:
        raise X402Error(VALID_AFTER, "authorization is not valid yet")
    if authorization.valid_before < now + SETTLEMENT_BUFFER_SECONDS:
        raise X402Error(VALID_BEFORE, "authorization expires too soon to settle")
    if authorization.valid_before - now > longest:
        raise X402Error(VALID_BEFORE, f"authorization validity exceeds {longest} seconds")


def _recover_payer(payload: PaymentPayload, option: PaymentOption) -> str:
    raw = bytes.fromhex(payload.signature.removeprefix("0x"))
    if len(raw) > EOA_SIGNATURE_BYTES:
        raise X402Error(INVALID_SIGNATURE, "smart-wallet signatures are not supported")
    if len(raw) != EOA_SIGNATURE_BYTES:
        raise X402Error(INVALID_SIGNATURE, "signature must be 65 bytes")
    _check_canonical(raw)
    try:
        signer = fast_recover_signer(option.domain(), payload.authorization, payload.signature)
    except ValueError:
        raise X402Error(INVALID_SIGNATURE, "signature does not recover to a public key") from None
    if signer.lower() != payload.authorization.from_address.lower():
        raise X402Error(INVALID_SIGNATURE, "signature was not made by authorization.from")
    return signer


def _check_canonical(raw: bytes) -> None:
    """One valid encoding per signature (low s, known v) so malleated copies are refused."""
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:64], "big")
    if raw[64] not in (0, 1, 27, 28):
        raise X402Error(INVALID_SIGNATURE, "signature v must be 0, 1, 27 or 28")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        raise X402Error(INVALID_SIGNATURE, "signature r/s out of range (high-s is malleable)")
