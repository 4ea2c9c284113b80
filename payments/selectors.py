from __future__ import annotations

from django.db.models import Q, Sum

from payments.ledger import agent_account, provider_account
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
    """Entries on the participant's balance and on what it is owed as a provider (its
    sales, released escrows, payouts), newest first."""
    accounts = [agent_account(participant), provider_account(participant)]
    entries = (
        LedgerEntry.objects.filter(account__code__in=accounts)
        .select_related("transaction", "account")
        .order_by("-id")
    )
    return entries.count(), list(entries[offset : offset + limit])


def payment_terms() -> dict[str, str | int | None]:
    """Where payments go on this deployment (network, USDC address, treasury), for discovery.

    Never raises: a deployment whose chain is not configured yet still answers /health,
    with the unknown parts as None.
    """
    from django.core.exceptions import ImproperlyConfigured

    from payments.chain.client import current_deployment
    from payments.networks import current_network

    network = current_network()
    terms: dict[str, str | int | None] = {
        "network": network.x402_name,
        "caip2": network.caip2,
        "chain_id": network.chain_id,
        "asset": network.usdc_address,
        "pay_to": None,
    }
    try:
        deployment = current_deployment()
    except ImproperlyConfigured:
        return terms
    return {**terms, "asset": deployment.usdc, "pay_to": deployment.treasury}
