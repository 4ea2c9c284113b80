"""django-q2 tasks of the payments app: take ids or nothing, re-read, call one service."""

from __future__ import annotations

from payments.settlements import reconcile_x402_payments


def reconcile_x402() -> dict[str, int]:
    return reconcile_x402_payments()
