"""The demo providers' history (`reputation.json`), written by `manage.py seed_demo`.

`reputation.json` maps a demo provider's key (from `catalog.json`) to its profile: the
fields of `reputation.demo.Profile` (how many jobs, data API calls and answered threads over
how many days, how jobs ended, the buyers' ratings, late deliveries, API latency and
failures, the wait for a first answer). A provider without a profile keeps no history (it
stays new, 75). The profiles are chosen so the demo catalog spans the tiers: excellent
(ChainProof, Datapoint), good, fair, a poor one (Signal House) and a new one (Pixel North).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from marketplace.catalog.models import Service
from payments.models import Participant
from reputation.demo import DemoService, Profile, seed_history
from reputation.services import RecomputeReport

HISTORY_PATH = Path(__file__).with_name("reputation.json")


def demo_profiles(path: Path = HISTORY_PATH) -> dict[str, Profile]:
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return {key: Profile.from_json(profile) for key, profile in data.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path.name}: {exc}") from None


def seed_demo_history(providers: Mapping[str, Participant]) -> RecomputeReport:
    """Give the demo providers (demo key -> participant) their history, once."""
    services: dict[str, list[DemoService]] = {}
    keys = {participant.pk: key for key, participant in providers.items()}
    listed = Service.objects.filter(provider__in=list(keys)).order_by("pk")
    for provider_id, public_id, service_type, estimate in listed.values_list(
        "provider_id", "public_id", "service_type", "estimated_delivery"
    ):
        services.setdefault(keys[provider_id], []).append(
            DemoService(public_id, service_type, estimate)
        )
    return seed_history(
        {key: participant.pk for key, participant in providers.items()},
        services,
        demo_profiles(),
    )
