"""Micro-benchmark of `verify_payment`, for `make bench`.

Verification sits on every paid request and in the facilitator, so its throughput bounds the
whole marketplace; the target is >= 1,000 verifications per second on one core.
"""

from __future__ import annotations

import time

from eth_account import Account

from .payload import PaymentPayload, decode_payment_header
from .requirements import PaymentOption
from .samples import SAMPLE_NOW, sample_option, signed_header
from .verify import verify_payment

DISTINCT_PAYLOADS = 16


def verifications_per_second(seconds: float = 1.0) -> float:
    """Full `verify_payment` calls per second over distinct, valid payloads (one thread)."""
    option, payloads = _workload()
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for payload in payloads:
            verify_payment(payload, option, now=SAMPLE_NOW)
        done += len(payloads)
    return done / (time.perf_counter() - start)


def _workload() -> tuple[PaymentOption, list[PaymentPayload]]:
    """Distinct payers and nonces, so nothing but the domain separator can be cached."""
    option = sample_option()
    payloads = [
        decode_payment_header(signed_header(option, Account.create(), version=2), version=2)
        for _ in range(DISTINCT_PAYLOADS)
    ]
    return option, payloads
