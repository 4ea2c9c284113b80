"""Extension points of `reputation`: typed hooks the apps above it register in
`AppConfig.ready()`, never by rebinding module globals.

    from reputation.hooks import on_flag_confirmed
    on_flag_confirmed.register(revoke_referral_rewards)

A handler runs inside the transaction that confirms the flag, so what it writes commits or
rolls back with the confirmation; one that raises undoes the confirmation. Tests install a
handler for their duration with `with on_flag_confirmed.installed(fn): ...`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

E = TypeVar("E")


class Hook(Generic[E]):
    """An ordered set of handlers called with one event of type `E`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[E], None]] = []

    def register(self, handler: Callable[[E], None]) -> Callable[[E], None]:
        """Add `handler` (once; registering it again changes nothing). Usable as a
        decorator."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def unregister(self, handler: Callable[[E], None]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    @property
    def handlers(self) -> tuple[Callable[[E], None], ...]:
        return tuple(self._handlers)

    def fire(self, event: E) -> None:
        for handler in list(self._handlers):
            handler(event)

    @contextmanager
    def installed(self, handler: Callable[[E], None]) -> Iterator[None]:
        """`handler` registered for the duration of the block (tests)."""
        self.register(handler)
        try:
            yield
        finally:
            self.unregister(handler)


@dataclass(frozen=True)
class FlagConfirmed:
    """An operator confirmed a sybil flag: these participants faked volume together."""

    flag_public_id: str
    kind: str
    participant_ids: tuple[int, ...]
    wallets: tuple[str, ...]
    decided_by: str  # the operator's username
    note: str


on_flag_confirmed: Hook[FlagConfirmed] = Hook("reputation.flag_confirmed")
