"""What a provider has earned: settled (in its wallet), held (in escrow), pending (owed).

Recent settlements list every kind of sale with its job and service: a data API sale (paid
straight into what the platform owes the provider), a released escrow, a dispute's split;
and the payouts of what was owed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Sum

from payments import hooks
from payments.ledger import balance_of, provider_account
from payments.models import ChainCall, Escrow, LedgerEntry, Participant, Payout
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
        "kind": "split" if escrow.status == Escrow.Status.SPLIT else "escrow",
        "service_id": None,
        "job_id": escrow.reference or None,
        "provider_amount_usd": usd_decimal(amount or 0),
        "status": status,
        "tx_hash": tx_hash or None,
        "settled_at": when,
    }


# Ledger kinds of a sale paid straight to the provider's payable account (a data API's
# share): by balance (`charge`) or by x402 (`x402_payment`).
_SALE_KINDS = ("charge", "x402_payment")


def _sale_settlement(entry: LedgerEntry) -> dict[str, Any]:
    reference = entry.transaction.reference
    job = reference.get("job") or None
    return {
        "settlement_id": job or reference.get("payment") or f"ltx_{entry.transaction_id}",
        "kind": "data_api",
        "service_id": reference.get("service") or None,
        "job_id": job,
        "provider_amount_usd": usd_decimal(entry.amount),
        # Owed by the platform until a payout sends it, as a ledger escrow's release is.
        "status": "payable",
        "tx_hash": None,
        "settled_at": entry.created_at,
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
    sales = list(
        LedgerEntry.objects.filter(
            account__code=provider_account(participant),
            amount__gt=0,
            transaction__kind__in=_SALE_KINDS,
        )
        .select_related("transaction")
        .order_by("-id")[:RECENT]
    )
    recent = (
        [_escrow_settlement(e, calls) for e in escrows]
        + [_sale_settlement(entry) for entry in sales]
        + [_payout_settlement(p) for p in payouts]
    )
    # The service each job was for: payments knows nothing of services, the marketplace
    # answers through the extension point.
    services = hooks.services_of_jobs([s["job_id"] for s in recent if s["job_id"]])
    for settlement in recent:
        if settlement["job_id"] and settlement["job_id"] in services:
            settlement["service_id"] = services[settlement["job_id"]]
    recent.sort(key=lambda s: s["settled_at"], reverse=True)
    return {
        "earnings": {
            "settled_usd": usd_decimal(on_chain_settled + paid_out),
            "held_usd": usd_decimal(held),
            "pending_usd": usd_decimal(balance_of(provider_account(participant)) + in_flight),
        },
        "recent_settlements": recent[:RECENT],
    }
