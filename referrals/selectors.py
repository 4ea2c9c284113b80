"""Reads of the referral programme: the public terms, a referrer's referrals and earnings."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from payments.models import Participant
from referrals import program
from referrals.models import Referral, ReferralReward
from the402.lib import money

W = ReferralReward.Status


def _iso(moment: Any) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def program_terms() -> dict[str, Any]:
    """`GET /v1/referrals/program`: rates, rules, caps and the launch bonus, as they are now."""
    launch = program.launch_active()
    factor = program.LAUNCH_MULTIPLIER if launch else 1
    return {
        "enabled": True,
        "platform_fee_pct": money.PLATFORM_FEE_BPS / 100,
        "rates": {
            "agent_referral_pct": program.AGENT_RATE_BPS / 100,
            "provider_referral_pct": program.PROVIDER_RATE_BPS / 100,
            "current_agent_referral_pct": program.AGENT_RATE_BPS * factor / 100,
            "current_provider_referral_pct": program.PROVIDER_RATE_BPS * factor / 100,
            "basis": "share of the platform fee on every transaction of the referred "
            "participant, forever (agent: as buyer; provider: as seller)",
        },
        "launch_bonus": {
            "multiplier": program.LAUNCH_MULTIPLIER,
            "days": program.LAUNCH_DAYS,
            "active": launch,
            "starts_at": _iso(program.program_start()),
            "ends_at": _iso(program.launch_ends()),
        },
        "rules": {
            "code_format": "ref_{participant_id}",
            "min_transactions": program.MIN_TRANSACTIONS,
            "first_transactions_rewarded": True,
            "threshold_note": (
                f"Rewards wait as pending until the referred participant's "
                f"{program.MIN_TRANSACTIONS}rd final transaction, then all are credited, "
                "the first ones included."
            ),
            "monthly_cap_usd": money.usd_decimal(program.MONTHLY_CAP_MICROS),
            "max_referrals_per_day": program.DAILY_REFERRALS,
            "self_referral": "refused: the same wallet or payout address, or any "
            "same-person signal of the sybil detector (shared account, funding, rings)",
            "sybil": "a confirmed sybil flag on either party revokes the rewards not yet "
            "withdrawn and stops new ones",
            "reversals": "a refunded or split transaction reverses its rewards not yet withdrawn",
            "scan_interval_minutes": program.SCAN_MINUTES,
        },
        "endpoints": {
            "program_details": "/v1/referrals/program",
            "get_your_code": "/v1/referrals/code",
            "list_referrals": "/v1/referrals",
            "view_earnings": "/v1/referrals/earnings",
            "withdraw": "/v1/referrals/withdraw",
        },
    }


def health_summary() -> dict[str, Any]:
    """`/health`'s `referral_program`."""
    terms = program_terms()
    return {
        "enabled": True,
        "description": (
            "Earn a share of the platform fee on every transaction of the participants you "
            f"refer, forever: {terms['rates']['current_agent_referral_pct']:g}% for agents, "
            f"{terms['rates']['current_provider_referral_pct']:g}% for providers"
            + (" (launch bonus: 2x)" if terms["launch_bonus"]["active"] else "")
            + "."
        ),
        "how_to_refer": "Send referral_code (GET /v1/referrals/code) in the body of "
        "POST /v1/register or POST /v1/provider/onboard.",
        "launch_bonus_active": terms["launch_bonus"]["active"],
        "launch_bonus_ends_at": terms["launch_bonus"]["ends_at"],
        "endpoints": {
            "program_details": "/v1/referrals/program",
            "get_your_code": "/v1/referrals/code",
            "view_earnings": "/v1/referrals/earnings",
            "withdraw": "/v1/referrals/withdraw",
        },
    }


def referrals_of(referrer: Participant) -> list[dict[str, Any]]:
    """The referrer's referred participants with their status and what they earned it."""
    rows = (
        Referral.objects.filter(referrer=referrer)
        .select_related("referee")
        .annotate(
            transactions=Count("rewards", filter=~Q(rewards__status=W.REVERSED)),
            earned=Sum(
                "rewards__amount_micros",
                filter=Q(rewards__status__in=(W.CREDITED, W.WITHDRAWN)),
            ),
        )
        .order_by("-created_at", "-id")
    )
    return [
        {
            "participant_id": r.referee.public_id,
            "name": r.referee.name,
            "type": r.referee.type,
            "signed_up_as": r.side,
            "referred_at": r.created_at,
            "status": r.status,
            "status_note": {
                Referral.Status.WAITING: "waiting for activity",
                Referral.Status.ACTIVE: "active",
                Referral.Status.REVOKED: f"revoked: {r.reason}",
            }[Referral.Status(r.status)],
            "transactions": r.transactions,
            "earned_usd": money.usd_decimal(int(r.earned or 0)),
        }
        for r in rows
    ]


def earnings_of(referrer: Participant, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Totals by status, the month's cap, and the per-transaction history (newest first)."""
    rewards = ReferralReward.objects.filter(referrer=referrer)
    totals = dict(
        rewards.values("status").annotate(total=Sum("amount_micros")).values_list("status", "total")
    )
    now = timezone.now()
    month = int(
        rewards.filter(
            status__in=(W.CREDITED, W.WITHDRAWN), credited_at__gte=program.month_start(now)
        ).aggregate(total=Sum("amount_micros"))["total"]
        or 0
    )
    page = rewards.select_related("referral__referee").order_by("-occurred_at", "-id")[
        offset : offset + limit
    ]
    return {
        "participant_id": referrer.public_id,
        "code": program.code_for(referrer.public_id),
        "available_usd": money.usd_decimal(int(totals.get(W.CREDITED) or 0)),
        "pending_usd": money.usd_decimal(int(totals.get(W.PENDING) or 0)),
        "withdrawn_usd": money.usd_decimal(int(totals.get(W.WITHDRAWN) or 0)),
        "reversed_usd": money.usd_decimal(int(totals.get(W.REVERSED) or 0)),
        "revoked_usd": money.usd_decimal(int(totals.get(W.REVOKED) or 0)),
        "total_earned_usd": money.usd_decimal(
            int(totals.get(W.CREDITED) or 0) + int(totals.get(W.WITHDRAWN) or 0)
        ),
        "this_month_usd": money.usd_decimal(month),
        "monthly_cap_usd": money.usd_decimal(program.MONTHLY_CAP_MICROS),
        "month_remaining_usd": money.usd_decimal(max(program.MONTHLY_CAP_MICROS - month, 0)),
        "total": rewards.count(),
        "limit": limit,
        "offset": offset,
        "history": [
            {
                "id": r.public_id,
                "transaction": r.transaction_key,
                "source": r.source,
                "reference": r.reference,
                "referred_participant_id": r.referral.referee.public_id,
                "side": r.side,
                "platform_fee_usd": money.usd_decimal(r.fee_micros),
                "rate_pct": r.rate_bps / 100,
                "amount_usd": money.usd_decimal(r.amount_micros),
                "capped_usd": money.usd_decimal(r.capped_micros),
                "status": r.status,
                "occurred_at": r.occurred_at,
                "credited_at": r.credited_at,
                "reason": r.reason,
            }
            for r in page
        ],
    }
