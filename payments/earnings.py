"""What a provider has earned: settled (in its wallet), held (in escrow), pending (owed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum

from payments import hooks
from payments.ledger import balance_of, provider_account
from payments.models import ChainCall, Escrow, Participant, Payout
from the402.lib.money import usd_decimal

RECENT = 20


def _escrow_settlement(escrow: Escrow, calls: dict[str, ChainCall]) -> dict[str, Any]:
    amount = escrow.payee_amount if escrow.status == Escrow.Status.SPLIT else escrow.amount
    call = calls.get(escrow.public_id)
    when: datetime | None
    if escrow.backing == Escrow.Backing.LEDGER:
        status, tx_hash, when = "payable", None, escrow.updated_at
    elif call is not None and call.status == ChainCall.Status.CONFIRMED:
        status, tx_hash, when = "settled", call.tx_hash, call.confirmed_at
    else:
        status, tx_hash, when = "processing", call.tx_hash if call else None, escrow.updated_at
    return {
        "settlement_id": escrow.public_id,
        "kind": "escrow",
        "service_id": None,
        "job_id": escrow.reference or None,
        "provider_amount_usd": usd_decimal(amount or 0),
        "status": status,
        "tx_hash": tx_hash or None,
        "settled_at": when,
    }


def _payout_settlement(payout: Payout) -> dict[str, Any]:
    return {
        "settlement_id": payout.public_id,
        "kind": "payout",
        "service_id": None,
        "job_id": None,
        "provider_amount_usd": usd_decimal(payout.amount),
        "status": "settled" if payout.status == Payout.Status.CONFIRMED else payout.status,
        "tx_hash": (payout.chain_call.tx_hash if payout.chain_call else "") or None,
        "settled_at": payout.confirmed_at or payout.created_at,
    }


def provider_earnings(participant: Participant) -> dict[str, Any]:
    finished = (Escrow.Status.RELEASED, Escrow.Status.SPLIT)
    escrows = list(
        Escrow.objects.filter(payee=participant, status__in=finished).order_by("-updated_at")[
            :RECENT
        ]
    )
    calls = {
        call.idempotency_key.rsplit(":", 1)[1]: call
        for call in ChainCall.objects.filter(
            idempotency_key__in=[
                f"escrow-{verb}:{e.public_id}" for e in escrows for verb in ("release", "split")
            ]
        )
    }
    payouts = list(
        Payout.objects.filter(provider=participant)
        .select_related("chain_call")
        .order_by("-id")[:RECENT]
    )
    on_chain_settled = sum(
        (e.payee_amount if e.status == Escrow.Status.SPLIT else e.amount) or 0
        for e in Escrow.objects.filter(
            payee=participant, status__in=finished, backing=Escrow.Backing.ON_CHAIN
        )
    )
    paid_out = (
        Payout.objects.filter(provider=participant, status=Payout.Status.CONFIRMED).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    held = (
        Escrow.objects.filter(
            payee=participant, status__in=(Escrow.Status.PENDING, Escrow.Status.HELD)
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    in_flight = (
        Payout.objects.filter(provider=participant, status=Payout.Status.PENDING).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    # The service each job (an escrow's reference) was for: payments knows nothing of
    # services, the marketplace answers through the extension point.
    services = hooks.services_of_jobs([e.reference for e in escrows if e.reference])
    recent = [
        {**_escrow_settlement(e, calls), "service_id": services.get(e.reference)} for e in escrows
    ] + [_payout_settlement(p) for p in payouts]
    recent.sort(key=lambda s: s["settled_at"], reverse=True)
    return {
        "earnings": {
            "settled_usd": usd_decimal(on_chain_settled + paid_out),
            "held_usd": usd_decimal(held),
            "pending_usd": usd_decimal(balance_of(provider_account(participant)) + in_flight),
        },
        "recent_settlements": recent[:RECENT],
    }
