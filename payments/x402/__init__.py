"""x402 protocol logic (v1 and v2, `exact` scheme on EVM): pure, offline, no Django models.

The HTTP layer builds a 402 with `payment_required_body` + `payment_required_header`, turns a
payment header into a `PaymentPayload` with `decode_payment_header`, picks the matching
`PaymentOption` with `select_option`, checks it with `verify_payment`, and answers with
`encode_settle_response` once the facilitator has settled.
"""

from __future__ import annotations

from .errors import X402Error
from .payload import PaymentPayload, decode_payment_header, decode_payment_json
from .requirements import (
    PaymentOption,
    option_from_requirements,
    payment_required_body,
    payment_required_header,
)
from .selection import select_option
from .settlement import decode_settle_response, encode_settle_response
from .verify import verify_payment

__all__ = [
    "PaymentOption",
    "PaymentPayload",
    "X402Error",
    "decode_payment_header",
    "decode_payment_json",
    "decode_settle_response",
    "encode_settle_response",
    "option_from_requirements",
    "payment_required_body",
    "payment_required_header",
    "select_option",
    "verify_payment",
]
