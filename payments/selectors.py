from __future__ import annotations

from django.db.models import Q, Sum

from payments.ledger import agent_account
from payments.models import LedgerAccount, LedgerEntry, Participant
from payments.wallets import is_address, normalize_address


def participant_lookup_filter(identifier: str) -> dict[str, str]:
    """Filter kwargs that find a participant by public id (`p_…`) or by wallet address."""
    if is_address(identifier):
        return {"wallet": normalize_address(identifier)}
    return {"public_id": identifier}


def participant_get(identifier: str) -> Participant | None:
    return Participant.objects.filter(**participant_lookup_filter(identifier)).first()


def balance_summary(participant: Participant) -> dict[str, int]:
    """The prepaid balance, what went in, and what was spent, in micro-USDC."""
    code = agent_account(participant)
    balance = LedgerAccount.objects.filter(code=code).values_list("balance", flat=True).first()
    totals = LedgerEntry.objects.filter(account__code=code).aggregate(
        deposited=Sum("amount", filter=Q(amount__gt=0)),
        spent=Sum("amount", filter=Q(amount__lt=0)),
    )
    return {
        "balance": balance or 0,
        "deposited": totals["deposited"] or 0,
        "spent": -(totals["spent"] or 0),
    }


def balance_history(
    participant: Participant, *, limit: int, offset: int
) -> tuple[int, list[LedgerEntry]]:
    """Entries on the participant's balance, newest first."""
    entries = (
        LedgerEntry.objects.filter(account__code=agent_account(participant))
        .select_related("transaction")
        .order_by("-id")
    )
    return entries.count(), list(entries[offset : offset + limit])
