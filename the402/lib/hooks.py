"""Extension points: how a lower app lets a higher one act, without importing it.

The apps form a one-way DAG (`the402.lib` < `payments` < `reputation` < `marketplace` <
`referrals`). When a lower app must let a higher one decide or react (an escrow expired; a
sybil flag was confirmed), it declares a typed extension point in its own `hooks` module
and the higher app registers into it in its `AppConfig.ready()`; never by rebinding a
module global, never as an import side effect.

Two kinds:

* `Hook[E]`, an event: every registered handler is called, in order, with one event `E`.
  Nobody registered: nothing happens.

      on_flag_confirmed: Hook[FlagConfirmed] = Hook("reputation.flag_confirmed")
      on_flag_confirmed.register(revoke_referral_rewards)      # in AppConfig.ready()
      on_flag_confirmed.fire(FlagConfirmed(...))               # in the lower app

* `Extension[P, R]`, a decision: exactly one implementation answers (a function taking
  `P`, returning `R`), the lower app's default until a higher app implements it.

      escrow_expired: Extension[[Escrow], None] = Extension("payments.escrow_expired", _refund)
      escrow_expired.implement(marketplace_escrow_expired)     # in AppConfig.ready()
      escrow_expired(escrow)                                   # in the lower app

Tests install a handler or implementation for the duration of a block with
`with hook.installed(fn): ...`, which restores what was there before on exit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, ParamSpec, TypeVar

E = TypeVar("E")
P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[E]):
    """An ordered set of handlers called with one event of type `E`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[E], None]] = []

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._handlers)} handler(s)>"

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
        """Call every handler with `event`, in registration order; a handler that raises
        stops the rest (and the caller sees the exception)."""
        for handler in list(self._handlers):
            handler(event)

    @contextmanager
    def installed(self, handler: Callable[[E], None]) -> Iterator[None]:
        """`handler` registered for the duration of the block (tests)."""
        already = handler in self._handlers
        self.register(handler)
        try:
            yield
        finally:
            if not already:
                self.unregister(handler)


class Extension(Generic[P, R]):
    """One implementation of a decision the lower app delegates upward, with a default."""

    def __init__(self, name: str, default: Callable[P, R]) -> None:
        self.name = name
        self.default = default
        self._implementation: Callable[P, R] | None = None

    def __repr__(self) -> str:
        return f"<Extension {self.name}: {self.implementation!r}>"

    @property
    def implementation(self) -> Callable[P, R]:
        """What answers now: the registered implementation, else the default."""
        return self._implementation or self.default

    def implement(self, implementation: Callable[P, R]) -> Callable[P, R]:
        """Make `implementation` the answer. Implementing it again with the same function
        changes nothing; another function raises: two owners of one decision would each
        miss the other's cases. Usable as a decorator."""
        current = self._implementation
        if current is not None and current != implementation:
            raise ValueError(f"{self.name} is already implemented by {current!r}")
        self._implementation = implementation
        return implementation

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.implementation(*args, **kwargs)

    @contextmanager
    def installed(self, implementation: Callable[P, R]) -> Iterator[None]:
        """`implementation` answers for the duration of the block, whatever was
        registered; the previous one answers again afterwards (tests)."""
        previous = self._implementation
        self._implementation = implementation
        try:
            yield
        finally:
            self._implementation = previous
