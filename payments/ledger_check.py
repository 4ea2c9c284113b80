"""Invariants of the ledger, checked by `manage.py ledger_check` and after every money test."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction


def ledger_problems() -> list[str]:
    """Every broken invariant, described; an empty list means the ledger is sound."""
    problems: list[str] = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id").annotate(total=Sum("amount")).exclude(total=0)
    )
    problems += [
        f"transaction {row['transaction_id']} entries sum to {row['total']}, not 0"
        for row in unbalanced
    ]
    thin = LedgerTransaction.objects.annotate(n=Count("entries")).filter(n__lt=2)
    problems += [f"transaction {tx.pk} ({tx.kind}) has fewer than two entries" for tx in thin]
    for account in LedgerAccount.objects.annotate(total=Sum("entries__amount")):
        total = account.total or 0
        if total != account.balance:
            problems.append(
                f"account {account.code} caches {account.balance} but its entries sum to {total}"
            )
    negative = LedgerAccount.objects.filter(allow_negative=False, balance__lt=0)
    problems += [f"account {a.code} is negative: {a.balance}" for a in negative]
    return problems


def owed_micros() -> int:
    """What the platform owes others: agent balances, provider payables, ledger escrow."""
    owed = LedgerAccount.objects.filter(
        Q(kind=LedgerAccount.Kind.AGENT_BALANCE)
        | Q(kind=LedgerAccount.Kind.PROVIDER_PAYABLE)
        | Q(kind=LedgerAccount.Kind.ESCROW)
    ).aggregate(total=Sum("balance"))["total"]
    return owed or 0
