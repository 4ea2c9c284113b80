"""Holds on a prepaid balance: the amount of a request is taken before its work is done.

A balance-paid request whose work leaves the database (a data API's provider is called, a
file is stored) first moves its amount from the agent's balance to the agent's hold account
(`hold:<participant>`), a balanced ledger transaction whose conditional update refuses an
overdraft: thirty concurrent purchases on money for eleven hold eleven times, and only those
eleven call out. The hold then ends exactly once, under the ledger key `hold-end:<hold>`:

* charged, inside the request's own transaction (the same postings a charge makes, from the
  hold account instead of the balance);
* released back to the balance when the request is refused (the provider failed, a race since
  validation), or by reconciliation once it is older than any request can live (its process
  died between the hold and the charge).

A charge and a release of the same hold record different movements under the same key, so
whichever comes second is refused by the ledger itself: never both, never twice.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from payments.ledger import Posting, agent_account, ledger_record
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction, Participant
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.ids import new_public_id

logger = logging.getLogger(__name__)

HOLD_KIND = "balance_hold"
_HOLD_KEY = "hold:"
_END_KEY = "hold-end:"


def hold_end_key(hold_id: str) -> str:
    """The idempotency key of the ledger transaction that ends a hold (its charge or its
    release): a balance history finds through it what a hold paid for."""
    return f"{_END_KEY}{hold_id}"


# Beyond its provider's call, what a request may still spend before its charge commits.
HOLD_MARGIN = timedelta(minutes=5)


class HoldReleased(ApplicationError):
    """The hold was released before the request could charge it: nothing is charged."""

    status_code = 409
    code = "hold_released"


@dataclass(frozen=True)
class Hold:
    public_id: str
    participant: Participant
    amount: int

    @property
    def account(self) -> str:
        return hold_account(self.participant)


def hold_account(participant: Participant) -> str:
    """The account of the amounts held on the participant's balance for requests in flight."""
    return f"hold:{participant.public_id}"


def hold_stale_after() -> timedelta:
    """The age past which a hold's request is surely gone (it outlives the provider's call)."""
    return timedelta(seconds=settings.DATA_API_TIMEOUT) + HOLD_MARGIN


def hold_take(participant: Participant, amount: int, *, description: str, path: str) -> Hold:
    """Hold `amount` of the participant's balance; raises `InsufficientFunds` (nothing
    written) when the balance cannot cover it."""
    hold = Hold(new_public_id("hld"), participant, amount)
    ledger_record(
        kind=HOLD_KIND,
        idempotency_key=f"{_HOLD_KEY}{hold.public_id}",
        postings=[Posting(agent_account(participant), hold.account, amount)],
        description=f"Held for: {description}",
        reference={"hold": hold.public_id, "path": path},
    )
    return hold


def hold_charge(
    hold: Hold,
    postings: list[Posting],
    *,
    description: str,
    path: str,
    reference: dict[str, str] | None = None,
) -> None:
    """Turn the hold into its charge (`postings`, from the hold account), inside the caller's
    transaction: it rolls the whole transaction back when this raises. Raises `HoldReleased`
    when the hold was released meanwhile."""
    try:
        ledger_record(
            kind="charge",
            idempotency_key=f"{_END_KEY}{hold.public_id}",
            postings=postings,
            description=description,
            reference={**(reference or {}), "path": path, "hold": hold.public_id},
            savepoint=False,
        )
    except Conflict:
        raise HoldReleased(
            "This request outlived its hold on your balance, which was released: you were "
            "not charged"
        ) from None


def hold_release(hold: Hold, *, reason: str) -> bool:
    """Give the held amount back to the balance, once; False if the hold already ended
    (charged, or released by someone else)."""
    return _release(hold.public_id, hold.participant, hold.amount, reason)


def _release(hold_id: str, participant: Participant, amount: int, reason: str) -> bool:
    mine = secrets.token_hex(8)
    try:
        record = ledger_record(
            kind="hold_release",
            idempotency_key=f"{_END_KEY}{hold_id}",
            postings=[Posting(hold_account(participant), agent_account(participant), amount)],
            description=f"Hold {hold_id} released: {reason}",
            reference={"hold": hold_id, "release": mine},
        )
    except Conflict:
        return False  # charged
    return bool(record.reference.get("release") == mine)


def holds_release_stale(*, now: datetime | None = None) -> int:
    """Release the holds whose request died before ending them (older than
    `hold_stale_after`); returns how many this call released."""
    now = now or timezone.now()
    holding = LedgerAccount.objects.filter(code__startswith=_HOLD_KEY, balance__gt=0)
    ended = LedgerTransaction.objects.filter(
        idempotency_key=Concat(
            Value(_END_KEY), Substr(OuterRef("transaction__idempotency_key"), len(_HOLD_KEY) + 1)
        )
    )
    stale = (
        LedgerEntry.objects.filter(
            account__in=holding,
            amount__gt=0,
            transaction__kind=HOLD_KIND,
            created_at__lt=now - hold_stale_after(),
        )
        .exclude(Exists(ended))
        .select_related("transaction", "account__participant")
    )
    released = 0
    for entry in stale:
        hold_id = entry.transaction.idempotency_key.removeprefix(_HOLD_KEY)
        participant = entry.account.participant
        if participant is not None and _release(
            hold_id, participant, entry.amount, "its request did not finish"
        ):
            logger.warning("reconcile: hold %s of a request that died released", hold_id)
            released += 1
    return released
