"""The double-entry ledger: every movement of money, in integer micro-USDC.

A transaction is a list of postings (from one account to another); it is written in one
database transaction with entries that sum to zero, under an idempotency key, and every
account change is a conditional `UPDATE … SET balance = balance + delta` that refuses to take
a non-negative account below zero. Accounts are updated in id order, so two transactions
touching the same accounts always lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Participant
from the402.lib.errors import ApplicationError, Conflict

# The overdraft rule in one statement: the balance moves only if it stays >= 0.
_MOVE_BALANCE = (
    f"UPDATE {LedgerAccount._meta.db_table} SET balance = balance + %s "  # noqa: S608
    "WHERE id = %s AND (allow_negative OR balance + %s >= 0)"
)
_INSERT_ENTRY = (
    f"INSERT INTO {LedgerEntry._meta.db_table} "  # noqa: S608
    "(transaction_id, account_id, amount, created_at) VALUES (%s, %s, %s, %s)"
)

WORLD = "world:chain"  # USDC that came in from (or went out to) the chain
PLATFORM_FEES = "platform:fees"


class InsufficientFunds(ApplicationError):
    status_code = 402
    code = "insufficient_balance"


@dataclass(frozen=True)
class Posting:
    source: str
    destination: str
    amount: int


def agent_account(participant: Participant) -> str:
    return f"agent:{participant.public_id}"


_KINDS: dict[str, tuple[str, bool]] = {
    # code prefix -> (kind, may go negative)
    "world": (LedgerAccount.Kind.EXTERNAL, True),
    "platform": (LedgerAccount.Kind.REVENUE, False),
    "agent": (LedgerAccount.Kind.AGENT_BALANCE, False),
    "provider": (LedgerAccount.Kind.PROVIDER_PAYABLE, False),
    # payouts sent from the treasury, not yet mined: still owed to providers
    "payouts": (LedgerAccount.Kind.PROVIDER_PAYABLE, False),
    "escrow": (LedgerAccount.Kind.ESCROW, False),
}


def _account_ids(codes: list[str]) -> dict[str, int]:
    """Ids of the accounts with these codes, created on first use (one query when they exist)."""
    found = dict(LedgerAccount.objects.filter(code__in=codes).values_list("code", "pk"))
    for code in codes:
        if code not in found:
            prefix, _, rest = code.partition(":")
            kind, allow_negative = _KINDS[prefix]
            participant = (
                Participant.objects.get(public_id=rest) if prefix in ("agent", "provider") else None
            )
            account, _ = LedgerAccount.objects.get_or_create(
                code=code,
                defaults={
                    "kind": kind,
                    "allow_negative": allow_negative,
                    "participant": participant,
                },
            )
            found[code] = account.pk
    return found


def _deltas(postings: list[Posting]) -> dict[str, int]:
    deltas: dict[str, int] = defaultdict(int)
    for posting in postings:
        if posting.amount <= 0:
            raise ValueError("a posting moves a positive amount")
        if posting.source == posting.destination:
            raise ValueError("a posting moves money between two different accounts")
        deltas[posting.source] -= posting.amount
        deltas[posting.destination] += posting.amount
    return {code: delta for code, delta in deltas.items() if delta}


def ledger_record(
    *,
    kind: str,
    idempotency_key: str,
    postings: list[Posting],
    description: str = "",
    reference: dict[str, Any] | None = None,
) -> LedgerTransaction:
    """Record a movement of money once; a repeat with the same key returns the first.

    Raises `InsufficientFunds` (and writes nothing) when an account would go below zero.
    """
    deltas = _deltas(postings)
    with transaction.atomic():
        account_ids = _account_ids(list(deltas))
        try:
            with transaction.atomic():
                record = LedgerTransaction.objects.create(
                    kind=kind,
                    idempotency_key=idempotency_key,
                    description=description[:300],
                    reference=reference or {},
                )
        except IntegrityError:
            # Recorded before (a retry), or by a concurrent request with the same key.
            existing = LedgerTransaction.objects.get(idempotency_key=idempotency_key)
            return _same_or_conflict(existing, deltas)
        with connection.cursor() as cursor:
            # Plain SQL on the hottest money path (every balance-paid request runs it): the
            # conditional update is the whole overdraft rule, and the ORM cost more than the
            # statements themselves.
            for code, account_id in sorted(account_ids.items(), key=lambda item: item[1]):
                delta = deltas[code]
                cursor.execute(_MOVE_BALANCE, [delta, account_id, delta])
                if cursor.rowcount != 1:
                    raise InsufficientFunds(
                        f"{code} holds less than {-delta} µUSDC", extra={"account": code}
                    )
            now = timezone.now()
            cursor.executemany(
                _INSERT_ENTRY,
                [(record.pk, account_ids[code], delta, now) for code, delta in deltas.items()],
            )
    return record


def _same_or_conflict(existing: LedgerTransaction, deltas: dict[str, int]) -> LedgerTransaction:
    recorded = {
        code: amount for code, amount in existing.entries.values_list("account__code", "amount")
    }
    if recorded != deltas:
        raise Conflict(
            f"ledger transaction {existing.idempotency_key!r} was recorded with other amounts",
            code="idempotency_mismatch",
        )
    return existing


def balance_of(code: str) -> int:
    return LedgerAccount.objects.filter(code=code).values_list("balance", flat=True).first() or 0
