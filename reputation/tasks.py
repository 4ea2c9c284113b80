"""django-q2 tasks of the reputation app: take ids or nothing, call one service."""

from __future__ import annotations

from reputation import sybil
from reputation.services import recompute_all


def recompute_reputation() -> str:
    """Every 30 minutes: scan for sybils (so new flags take their jobs out), then rebuild
    every score from the signals."""
    scan = sybil.scan()
    report = recompute_all()
    return (
        f"{len(scan.flags)} new sybil flags; {report.providers} providers, "
        f"{report.jobs} jobs, {report.rows} rows"
    )


def sybil_check_pair(buyer_id: int, provider_id: int) -> int:
    """After a job between them ends: the sybil detectors for one buyer and provider;
    returns how many flags it raised."""
    return len(sybil.check_pair(buyer_id=buyer_id, provider_id=provider_id).flags)
