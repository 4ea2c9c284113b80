from __future__ import annotations

from payments.models import Participant
from payments.wallets import is_address, normalize_address


def participant_lookup_filter(identifier: str) -> dict[str, str]:
    """Filter kwargs that find a participant by public id (`p_…`) or by wallet address."""
    if is_address(identifier):
        return {"wallet": normalize_address(identifier)}
    return {"public_id": identifier}


def participant_get(identifier: str) -> Participant | None:
    return Participant.objects.filter(**participant_lookup_filter(identifier)).first()
