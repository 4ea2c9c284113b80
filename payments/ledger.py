"""The double-entry ledger: every movement of money, in integer micro-USDC.

A transaction is a list of postings (from one account to another); it is written in one
database transaction with entries that sum to zero, under an idempotency key, and every
account change is a conditional `UPDATE … SET balance = balance + delta` that refuses to take
a non-negative account below zero. Accounts are updated in code order, so two transactions
touching the same accounts always lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Participant
from the402.lib.errors import ApplicationError, Conflict

# The overdraft rule in one statement: the balance moves only if it stays >= 0. It finds
# the account by code and returns its id, so the hot path needs no look-up first.
_MOVE_BALANCE = (
    f"UPDATE {LedgerAccount._meta.db_table} SET balance = balance + %s "  # noqa: S608
    "WHERE code = %s AND (allow_negative OR balance + %s >= 0) RETURNING id"
)
# All the entries of a transaction in one statement (`{rows}` is one "(%s, %s, %s, %s)" per
# entry): one round trip, where executemany took three on PostgreSQL.
_INSERT_ENTRIES = (
    f"INSERT INTO {LedgerEntry._meta.db_table} "  # noqa: S608
    "(transaction_id, account_id, amount, created_at) VALUES {rows}"
)
# The transaction row, unless its idempotency key is taken (then nothing, and no error that
# would need a savepoint to survive). `{json}` is the JSON parameter's placeholder.
_INSERT_TRANSACTION = (
    f"INSERT INTO {LedgerTransaction._meta.db_table} "  # noqa: S608
    "(kind, idempotency_key, description, reference, created_at) "
    "VALUES (%s, %s, %s, {json}, %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
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
    """The account of the participant's prepaid balance as an agent."""
    return f"agent:{participant.public_id}"


def provider_account(participant: Participant) -> str:
    """The account of what the platform owes the participant as a provider."""
    return f"provider:{participant.public_id}"


_KINDS: dict[str, tuple[str, bool]] = {
    # code prefix -> (kind, may go negative)
    "world": (LedgerAccount.Kind.EXTERNAL, True),
    "platform": (LedgerAccount.Kind.REVENUE, False),
    "agent": (LedgerAccount.Kind.AGENT_BALANCE, False),
    # an agent's balance held for its requests in flight (payments/holds.py): still owed
    "hold": (LedgerAccount.Kind.AGENT_BALANCE, False),
    "provider": (LedgerAccount.Kind.PROVIDER_PAYABLE, False),
    # payouts sent from the treasury, not yet mined: still owed to providers
    "payouts": (LedgerAccount.Kind.PROVIDER_PAYABLE, False),
    "escrow": (LedgerAccount.Kind.ESCROW, False),
    # a referrer's referral earnings not yet withdrawn to its balance (referrals app): owed
    "referral": (LedgerAccount.Kind.AGENT_BALANCE, False),
}


def _account_create(code: str) -> None:
    """Create the account `code` if it does not exist (accounts appear on first use)."""
    prefix, _, rest = code.partition(":")
    kind, allow_negative = _KINDS[prefix]
    participant = (
        Participant.objects.get(public_id=rest)
        if prefix in ("agent", "provider", "hold", "referral")
        else None
    )
    LedgerAccount.objects.get_or_create(
        code=code,
        defaults={"kind": kind, "allow_negative": allow_negative, "participant": participant},
    )


def _move(cursor: Any, code: str, delta: int) -> int:
    """Apply `delta` to the account `code` (created on first use); its id. Raises
    InsufficientFunds when the account would go below zero."""
    cursor.execute(_MOVE_BALANCE, [delta, code, delta])
    row = cursor.fetchone()
    if row is None:
        # Missing, or short. Create it if missing and try once more: a concurrent request may
        # have created it since the update looked (so "it exists now" proves nothing).
        _account_create(code)
        cursor.execute(_MOVE_BALANCE, [delta, code, delta])
        row = cursor.fetchone()
    if row is None:
        raise InsufficientFunds(f"{code} holds less than {-delta} µUSDC", extra={"account": code})
    return int(row[0])


def _insert_transaction(
    cursor: Any, *, kind: str, idempotency_key: str, description: str, reference: dict[str, Any]
) -> LedgerTransaction | None:
    """The new transaction row, or None if the idempotency key is already recorded."""
    sql = _INSERT_TRANSACTION.format(
        json="%s::jsonb" if connection.vendor == "postgresql" else "%s"
    )
    now = timezone.now()
    cursor.execute(sql, [kind, idempotency_key, description, json.dumps(reference), now])
    row = cursor.fetchone()
    if row is None:
        return None
    record = LedgerTransaction(
        pk=row[0],
        kind=kind,
        idempotency_key=idempotency_key,
        description=description,
        reference=reference,
        created_at=now,
    )
    record._state.adding, record._state.db = False, connection.alias
    return record


def _deltas(postings: list[Posting]) -> dict[str, int]:
    deltas: dict[str, int] = defaultdict(int)
    for posting in postings:
        if posting.amount <= 0:
            raise ValueError("a posting moves a positive amount")
        if posting.source == posting.destination:
            raise ValueError("a posting moves money between two different accounts")
        deltas[posting.source] -= posting.amount
        deltas[posting.destination] += posting.amount
    moved = {code: delta for code, delta in deltas.items() if delta}
    if not moved:
        raise ValueError("the postings cancel out: a transaction must move money")
    return moved


def ledger_record(
    *,
    kind: str,
    idempotency_key: str,
    postings: list[Posting],
    description: str = "",
    reference: dict[str, Any] | None = None,
    savepoint: bool = True,
) -> LedgerTransaction:
    """Record a movement of money once; a repeat with the same key returns the first.

    Raises `InsufficientFunds` (and writes nothing) when an account would go below zero.
    `savepoint=False`, inside the caller's transaction: the caller rolls its whole
    transaction back when this raises (as the payment gate does), which spares the hottest
    path a savepoint's two round trips.
    """
    deltas = _deltas(postings)
    # Plain SQL on the hottest money path (every balance-paid request runs it): three kinds
    # of statement, no look-ups, no savepoint; the conditional update is the whole
    # overdraft rule. Accounts are updated in code order, so two transactions touching the
    # same accounts lock them in the same order and cannot deadlock.
    with transaction.atomic(savepoint=savepoint), connection.cursor() as cursor:
        record = _insert_transaction(
            cursor,
            kind=kind,
            idempotency_key=idempotency_key,
            description=description[:300],
            reference=reference or {},
        )
        if record is None:
            # Recorded before (a retry), or by a concurrent request with the same key.
            existing = LedgerTransaction.objects.get(idempotency_key=idempotency_key)
            return _same_or_conflict(existing, deltas)
        account_ids = {code: _move(cursor, code, deltas[code]) for code in sorted(deltas)}
        now = timezone.now()
        cursor.execute(
            _INSERT_ENTRIES.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(deltas))),
            [
                value
                for code, delta in deltas.items()
                for value in (record.pk, account_ids[code], delta, now)
            ],
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
    balances = LedgerAccount.objects.filter(code=code).values_list("balance", flat=True)
    return next(iter(balances), 0)
