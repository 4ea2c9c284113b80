from __future__ import annotations

from reputation.models import ReputationScore


def reputation_ensure_provider(*, participant_id: int) -> ReputationScore:
    """Make sure a provider has its provider-level score row (defaults until it has history).

    The catalog joins this row to sort and filter by reputation, so every listed provider
    has one.
    """
    score, _ = ReputationScore.objects.get_or_create(
        participant_id=participant_id, scope=ReputationScore.Scope.PROVIDER, scope_key=""
    )
    return score
