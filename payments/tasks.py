"""django-q2 tasks of the payments app: take ids or nothing, re-read, call one service."""

from __future__ import annotations

from payments import crypto, idempotency
from payments.chain_calls import chain_call_run, chain_calls_run_due
from payments.payouts import payouts_run
from payments.reconcile import reconcile


def reconcile_all() -> int:
    """Every 5 minutes: reconcile payments, escrows and calls; returns the open issues."""
    return len(reconcile())


def run_chain_call(call_id: int) -> str:
    """Drive one chain call (enqueued after commit); returns its status. Never raises on
    chain trouble: the call keeps the error and the retry schedule comes back to it."""
    return chain_call_run(call_id).status


def retry_chain_calls() -> int:
    """Every minute: run the chain calls that are due; returns how many were run."""
    return chain_calls_run_due()


def run_payouts() -> int:
    """Hourly: pay the providers owed at least the threshold; returns the payouts made."""
    return len(payouts_run())


def purge_idempotency_records() -> int:
    """Hourly: delete the Idempotency-Key records past their 24 hours; returns how many. On
    SQLite it then checkpoints the WAL, for an erasure whose own checkpoint readers blocked."""
    purged = idempotency.purge_expired()
    crypto.checkpoint_wal()
    return purged
