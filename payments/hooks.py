"""Extension points of `payments`: the decisions it leaves to the apps above it.

Payments knows nothing of jobs or services. Where it must ask (what to do with an escrow
that expired or whose funding failed; which service each job was for), it declares an
`Extension` here, with a default that works on its own; `marketplace` implements them in
`MarketplaceConfig.ready()`. Tests swap one for a block with `with hook.installed(fn): ...`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from the402.lib.hooks import Extension

if TYPE_CHECKING:
    from payments.models import Escrow, Participant


def _refund_expired(escrow: Escrow) -> None:
    # Imported here: `payments.escrow` calls these hooks, so it imports this module.
    from payments.escrow import escrow_refund

    escrow_refund(escrow, reason="expired")


def _refund_failed(escrow: Escrow) -> None:
    from payments.escrow import escrow_refund

    escrow_refund(escrow, reason="its funding failed")


def _no_services(job_ids: Iterable[str]) -> dict[str, str]:
    return {}


escrow_expired: Extension[[Escrow], None] = Extension("payments.escrow_expired", _refund_expired)
"""What reconciliation does with an expired, still-held escrow. Default: refund it. The
marketplace refunds only when the job never started, and cancels that job
(`marketplace.deals.escrows.escrow_expired`)."""

escrow_failed: Extension[[Escrow], None] = Extension("payments.escrow_failed", _refund_failed)
"""What happens when the contract refused to fund an escrow whose money nobody was promised
yet (`payments.escrow.escrow_failed_settle`). Default: the money goes back to the payer.
The marketplace cancels and refunds a job not started, and disputes one under way for an
admin to settle (`marketplace.deals.escrows.escrow_failed`)."""

services_of_jobs: Extension[[Iterable[str]], dict[str, str]] = Extension(
    "payments.services_of_jobs", _no_services
)
"""{job public id: its service's public id} for the jobs (escrow references) given, used by
`payments.earnings`. Default: none known. The marketplace answers from its jobs
(`marketplace.deals.selectors.service_ids_of_jobs`)."""


# ---------------------------------------------------------------- referral codes
@dataclass(frozen=True)
class ReferralClaim:
    """A `referral_code` sent with a sign-up (`POST /v1/register`, `POST /v1/provider/onboard`).

    Checked before any payment (`wallet`: the paying wallet when known, else None), then
    recorded once the participant exists (`participant`)."""

    code: str
    wallet: str | None
    participant: Participant | None = None
    side: str = "agent"  # "agent" or "provider": how the participant signed up


def _no_referral_check(claim: ReferralClaim) -> None:
    return None


def _no_referral_record(claim: ReferralClaim) -> dict[str, Any] | None:
    return None


referral_check: Extension[[ReferralClaim], None] = Extension(
    "payments.referral_check", _no_referral_check
)
"""Refuse a sign-up's referral code before any payment: raise ApplicationError (400) for an
unknown code or a self-referral. Default: codes are not checked (no referral programme).
The referrals app implements it (`referrals.services.referral_check`)."""

referral_record: Extension[[ReferralClaim], dict[str, Any] | None] = Extension(
    "payments.referral_record", _no_referral_record
)
"""Tie the new participant to the code's referrer (inside the sign-up's transaction) and
say what happened, for the answer (`{"code", "attributed", "reason", ...}`). Default:
nothing recorded (None). The referrals app implements it (`referrals.services.
referral_record`)."""
