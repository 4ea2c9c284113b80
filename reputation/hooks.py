"""Extension points of `reputation`: typed hooks the apps above it register in
`AppConfig.ready()`, never by rebinding module globals.

    from reputation.hooks import on_flag_confirmed
    on_flag_confirmed.register(revoke_referral_rewards)

A handler runs inside the transaction that confirms the flag, so what it writes commits or
rolls back with the confirmation; one that raises undoes the confirmation. Tests install a
handler for their duration with `with on_flag_confirmed.installed(fn): ...`. The mechanism
is `the402.lib.hooks`, shared by every app.
"""

from __future__ import annotations

from dataclasses import dataclass

from the402.lib.hooks import Hook

__all__ = ["FlagConfirmed", "Hook", "on_flag_confirmed"]


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
