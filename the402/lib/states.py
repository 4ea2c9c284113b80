"""State machines: one table of allowed moves per model, each move a compare-and-swap.

Jobs, threads and escrows each keep a `TRANSITIONS` table and an audit model; they move
through `cas_move`, which checks the table and updates the row only if it still has the
status the caller read (so of two concurrent moves exactly one wins), then write their own
audit row from the status it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models
from django.utils import timezone


def cas_move(
    obj: models.Model,
    to: str,
    *,
    transitions: Mapping[str, frozenset[str]],
    error: type[Exception],
    fields: Mapping[str, Any] | None = None,
) -> str:
    """Move `obj` (with `status`, `public_id` and `updated_at`) to `to`, setting `fields`
    too; returns the status it left. Raises `error` for a move the table does not allow,
    or when another request moved the row since it was read."""
    what = type(obj)._meta.verbose_name
    current: str = obj.status  # type: ignore[attr-defined]
    public_id = obj.public_id  # type: ignore[attr-defined]
    if to not in transitions.get(current, frozenset()):
        raise error(f"{what} {public_id} is {current}, cannot become {to}")
    values = {"status": to, "updated_at": timezone.now(), **(fields or {})}
    moved = type(obj)._default_manager.filter(pk=obj.pk, status=current).update(**values)
    if moved != 1:
        raise error(f"{what} {public_id} was moved by another request")
    for name, value in values.items():
        setattr(obj, name, value)
    return current
