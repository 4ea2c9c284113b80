"""The reputation model as pure functions: what a signal says, how evidence adds up, decays,
and becomes scores, confidence and a tier. No database here (`reputation.services` feeds it
rows); the README's "Reputation" section states the same formulas and constants.

Each signal carries, per dimension, either nothing (it says nothing about that dimension) or
a value in 0..1 (1 = the best outcome). A dimension keeps Beta evidence: `pos` sums
`weight * decay * value`, `neg` sums `weight * decay * (1 - value)`. Its score is the
posterior mean with a Beta prior of mean 0.75 and strength `PRIOR_STRENGTH`:

    score = 100 * (PRIOR_MEAN * PRIOR_STRENGTH + pos) / (PRIOR_STRENGTH + pos + neg)

so no history gives exactly 75, and a value of 1 never lowers a score. A signal's decay is
`0.5 ** (age / half_life)`. Confidence is `volume / (volume + CONFIDENCE_HALF_VOLUME)`
where volume sums the decayed weights of job signals; below `NEW_CONFIDENCE` the provider is
new.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DIMENSIONS: tuple[str, ...] = ("quality", "speed", "reliability", "communication")

PRIOR_MEAN = 0.75  # no history scores 75
PRIOR_STRENGTH = 4.0  # the prior counts as four jobs' worth of evidence
CONFIDENCE_HALF_VOLUME = 8.0  # confidence 0.5 at eight (decayed) jobs
NEW_CONFIDENCE = 0.33  # below: is_new (about four recent jobs)
DEFAULT_SCORE = 100 * PRIOR_MEAN
MAX_HALF_LIVES = 57  # an older signal weighs nothing (2^-57: below any sum's precision)
VALUE_DECIMALS = 9  # a signal's values are rounded to this

# Composite weights per service type; each row sums to 1.
WEIGHTS: dict[str, dict[str, float]] = {
    "data_api": {"quality": 0.20, "speed": 0.40, "reliability": 0.30, "communication": 0.10},
    "automated_service": {
        "quality": 0.30,
        "speed": 0.25,
        "reliability": 0.30,
        "communication": 0.15,
    },
    "human_service": {"quality": 0.40, "speed": 0.15, "reliability": 0.20, "communication": 0.25},
}
DEFAULT_WEIGHTS: dict[str, float] = dict.fromkeys(DIMENSIONS, 0.25)

# Tiers by the composite rounded to one decimal: (lowest score, name), best first.
TIERS: tuple[tuple[float, str], ...] = (
    (90.0, "excellent"),
    (75.0, "good"),
    (60.0, "fair"),
    (40.0, "new"),
    (0.0, "poor"),
)

# Norms the speed and communication values are measured against.
DATA_API_LATENCY_NORM_MS = 1_000  # a data API answering within 1 s is fully fast
FIRST_ANSWER_NORM_SECONDS = 3_600  # a first answer within an hour is fully responsive
INSTANT_DELIVERY_SECONDS = 60  # "instant" in estimated_delivery, for escrowed jobs


def tier(composite: float) -> str:
    rounded = round(composite, 1)
    return next(name for floor, name in TIERS if rounded >= floor)


def decay(age_seconds: float, half_life_seconds: float) -> float:
    """The weight left to a signal `age_seconds` old (a future one counts fully; one older
    than `MAX_HALF_LIVES` half-lives not at all)."""
    half_lives = max(age_seconds, 0.0) / half_life_seconds
    return 0.5**half_lives if half_lives < MAX_HALF_LIVES else 0.0


def confidence(volume: float) -> float:
    return volume / (volume + CONFIDENCE_HALF_VOLUME) if volume > 0 else 0.0


def ratio(norm: float, actual: float | None) -> float | None:
    """1 when `actual` is within `norm`, else `norm / actual` (half as fast: 0.5)."""
    if actual is None:
        return None
    if actual <= norm:
        return 1.0
    return norm / actual


def rating_quality(rating: int | None) -> float:
    """The buyer's optional 1-5 rating as quality: unrated, 4 and 5 are 1; 3 is 0.5; 2 is
    0.25; 1 is 0."""
    if rating is None or rating >= 4:
        return 1.0
    return {3: 0.5, 2: 0.25}.get(rating, 0.0)


_DURATION = re.compile(
    r"(?P<low>\d+(?:\.\d+)?)\s*(?:-\s*(?P<high>\d+(?:\.\d+)?))?\s*"
    r"(?P<unit>s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?)\b",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def estimated_seconds(text: str) -> float | None:
    """A service's `estimated_delivery` in seconds ("10 minutes", "48h", "3-5 days" counts
    the upper bound, "instant" one minute); None when it says no duration."""
    value = text.strip().lower()
    if not value:
        return None
    if value.startswith("instant"):
        return float(INSTANT_DELIVERY_SECONDS)
    match = _DURATION.search(value)
    if match is None:
        return None
    amount = float(match.group("high") or match.group("low"))
    return amount * _UNIT_SECONDS[match.group("unit")[0].lower()] or None


@dataclass
class Evidence:
    """Decayed Beta evidence of one scope (a service, a provider's service type, a provider)
    as of `at`, plus undecayed job counts."""

    pos: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.0))
    neg: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.0))
    volume: float = 0.0
    # Decayed job volume per service type: the provider level mixes the types' weights.
    type_volume: dict[str, float] = field(default_factory=dict)
    total_jobs: int = 0
    completed_jobs: int = 0

    def add(
        self,
        values: Mapping[str, float | None],
        *,
        weight: float,
        is_job: bool,
        completed: bool,
        service_type: str,
    ) -> None:
        """Add one signal whose weight (its own times its decay) is `weight`."""
        for dim in DIMENSIONS:
            value = values.get(dim)
            if value is not None:
                value = min(max(value, 0.0), 1.0)
                self.pos[dim] += weight * value
                self.neg[dim] += weight * (1.0 - value)
        if is_job:
            self.volume += weight
            self.type_volume[service_type] = self.type_volume.get(service_type, 0.0) + weight
            self.total_jobs += 1
            self.completed_jobs += int(completed)

    def decayed(self, factor: float) -> None:
        """Age the evidence: every decayed sum times `factor` (counts stay)."""
        for dim in DIMENSIONS:
            self.pos[dim] *= factor
            self.neg[dim] *= factor
        self.volume *= factor
        self.type_volume = {k: v * factor for k, v in self.type_volume.items()}

    def score(self, dim: str) -> float:
        pos, neg = self.pos[dim], self.neg[dim]
        value = 100.0 * (PRIOR_MEAN * PRIOR_STRENGTH + pos) / (PRIOR_STRENGTH + pos + neg)
        return min(max(value, 0.0), 100.0)

    def dimensions(self) -> dict[str, float]:
        return {dim: self.score(dim) for dim in DIMENSIONS}

    def weights(self, service_type: str | None) -> dict[str, float]:
        """A service type's weights, or for a provider (None) the types' weights mixed by
        their share of its job volume (equal weights without jobs)."""
        if service_type is not None:
            return WEIGHTS.get(service_type, DEFAULT_WEIGHTS)
        total = sum(self.type_volume.values())
        if total <= 0:
            return DEFAULT_WEIGHTS
        mixed = dict.fromkeys(DIMENSIONS, 0.0)
        for kind, volume in self.type_volume.items():
            for dim, w in WEIGHTS.get(kind, DEFAULT_WEIGHTS).items():
                mixed[dim] += w * volume / total
        return mixed

    def composite(self, service_type: str | None) -> float:
        weights = self.weights(service_type)
        dims = self.dimensions()
        value = sum(weights[dim] * dims[dim] for dim in DIMENSIONS)
        return min(max(value, 0.0), 100.0)

    def confidence(self) -> float:
        return confidence(self.volume)

    # Stored on the score row so an incremental update continues from it.
    def to_json(self) -> dict[str, Any]:
        return {
            "pos": self.pos,
            "neg": self.neg,
            "volume": self.volume,
            "type_volume": self.type_volume,
        }

    @classmethod
    def from_row(cls, data: Mapping[str, Any], *, total_jobs: int, completed_jobs: int) -> Evidence:
        evidence = cls(total_jobs=total_jobs, completed_jobs=completed_jobs)
        for dim in DIMENSIONS:
            evidence.pos[dim] = float(data.get("pos", {}).get(dim, 0.0))
            evidence.neg[dim] = float(data.get("neg", {}).get(dim, 0.0))
        evidence.volume = float(data.get("volume", 0.0))
        evidence.type_volume = {k: float(v) for k, v in data.get("type_volume", {}).items()}
        return evidence


def age_factor(since: datetime | None, now: datetime, half_life_seconds: float) -> float:
    """How much evidence stored as of `since` is worth at `now`."""
    if since is None:
        return 1.0
    return decay((now - since).total_seconds(), half_life_seconds)
