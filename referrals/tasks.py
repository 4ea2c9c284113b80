"""django-q2 tasks of the referrals app: take ids or nothing, call one service."""

from __future__ import annotations

from referrals.services import rewards_scan


def scan_referral_rewards() -> str:
    """Every 30 minutes: credit the rewards of the transactions that became final."""
    report = rewards_scan()
    return (
        f"{report.events} transactions since {report.since:%Y-%m-%d %H:%M}; "
        f"{report.credited} rewards credited, {report.reversed} reversed"
        + (f"; {len(report.errors)} errors" if report.errors else "")
    )
