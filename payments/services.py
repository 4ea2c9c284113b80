"""Writes to identities. Every participant is created through here."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from payments.models import Participant
from payments.wallets import normalize_address
from the402.lib.errors import ApplicationError


@transaction.atomic
def participant_create(
    *,
    wallet: str,
    name: str = "",
    type: str = Participant.Type.AGENT,
    description: str = "",
    webhook_url: str = "",
    capabilities: list[Any] | None = None,
) -> Participant:
    """Create a participant for a wallet (checksummed); the wallet must be new."""
    try:
        wallet = normalize_address(wallet)
    except ValueError as exc:
        raise ApplicationError(str(exc), code="invalid_wallet") from None
    participant = Participant(
        wallet=wallet,
        name=name.strip(),
        type=type,
        description=description.strip(),
        webhook_url=webhook_url,
        capabilities=capabilities or [],
    )
    participant.full_clean()
    participant.save()
    return participant
