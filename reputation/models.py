from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from reputation import scoring
from the402.lib.ids import new_public_id
from the402.lib.models import BaseModel

DEFAULT_SCORE = scoring.DEFAULT_SCORE
NEW_PROVIDER_CONFIDENCE = scoring.NEW_CONFIDENCE


class ReputationScore(BaseModel):
    """A computed reputation score of one participant at one scope.

    Scopes: the provider as a whole (`scope_key` empty), one service type (`scope_key` is
    the type) or one service (`scope_key` is the service's public id; this app sits below
    `marketplace` and so refers to services by id, not by foreign key). Written only by
    `reputation.services` from `Signal` rows: the `*_pos`, `*_neg` and `volume*` columns hold
    the decayed sums as of `decay_ref`, from which an incremental update continues. A row
    without history holds the prior: 75, confidence 0, new.
    """

    class Scope(models.TextChoices):
        PROVIDER = "provider", "Provider"
        SERVICE_TYPE = "service_type", "Service type"
        SERVICE = "service", "Service"

    participant = models.ForeignKey(
        "payments.Participant", on_delete=models.CASCADE, related_name="reputation_scores"
    )
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.PROVIDER)
    scope_key = models.CharField(max_length=40, blank=True, default="")
    composite = models.FloatField(default=DEFAULT_SCORE)
    quality = models.FloatField(default=DEFAULT_SCORE)
    speed = models.FloatField(default=DEFAULT_SCORE)
    reliability = models.FloatField(default=DEFAULT_SCORE)
    communication = models.FloatField(default=DEFAULT_SCORE)
    confidence = models.FloatField(default=0.0)
    total_jobs = models.PositiveIntegerField(default=0)
    completed_jobs = models.PositiveIntegerField(default=0)
    # The decayed sums the scores come from, aged to `decay_ref` (seconds since the epoch):
    # per dimension the Beta evidence for and against, the job volume, and that volume per
    # service type (the provider level mixes the types' weights by it). An incremental
    # update ages them and adds one signal's in one statement (`reputation.scoresql`).
    quality_pos = models.FloatField(default=0.0, editable=False)
    quality_neg = models.FloatField(default=0.0, editable=False)
    speed_pos = models.FloatField(default=0.0, editable=False)
    speed_neg = models.FloatField(default=0.0, editable=False)
    reliability_pos = models.FloatField(default=0.0, editable=False)
    reliability_neg = models.FloatField(default=0.0, editable=False)
    communication_pos = models.FloatField(default=0.0, editable=False)
    communication_neg = models.FloatField(default=0.0, editable=False)
    volume = models.FloatField(default=0.0, editable=False)
    volume_data_api = models.FloatField(default=0.0, editable=False)
    volume_automated_service = models.FloatField(default=0.0, editable=False)
    volume_human_service = models.FloatField(default=0.0, editable=False)
    volume_other = models.FloatField(default=0.0, editable=False)
    decay_ref = models.FloatField(default=0.0, editable=False)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "scope", "scope_key"], name="reputation_one_per_scope"
            ),
            models.CheckConstraint(
                condition=models.Q(composite__gte=0, composite__lte=100),
                name="reputation_composite_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1),
                name="reputation_confidence_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(completed_jobs__lte=models.F("total_jobs")),
                name="reputation_completed_le_total",
            ),
        ]
        indexes = [
            models.Index(fields=["scope", "-composite"], name="reputation_scope_composite"),
        ]

    def __str__(self) -> str:
        key = f":{self.scope_key}" if self.scope_key else ""
        return f"{self.participant_id} {self.scope}{key} = {self.composite:.1f}"

    @property
    def is_new(self) -> bool:
        return self.confidence < NEW_PROVIDER_CONFIDENCE

    @property
    def tier(self) -> str:
        return scoring.tier(self.composite)

    @property
    def completion_rate(self) -> float | None:
        if not self.total_jobs:
            return None
        return round(100.0 * self.completed_jobs / self.total_jobs, 1)


class Signal(models.Model):
    """One event reputation learns from, written by `reputation.services.record_*` (which
    `marketplace` calls when a job, thread or delivery ends). Each dimension holds a value
    in 0..1 (1 the best outcome) or nothing when the event says nothing about it; the
    mapping per kind is in `reputation.services` and the README. The service is stored as
    plain fields (public id and type): reputation sits below `marketplace`."""

    class Kind(models.TextChoices):
        JOB_RELEASED = "job_released", "Job verified and released"
        JOB_FAILED = "job_failed", "Job failed by the provider"
        JOB_CANCELLED = "job_cancelled", "Job cancelled by the provider"
        JOB_EXPIRED = "job_expired", "Job expired before work started"
        DISPUTE_RELEASE = "dispute_release", "Dispute resolved: released"
        DISPUTE_REFUND = "dispute_refund", "Dispute resolved: refunded"
        DISPUTE_SPLIT = "dispute_split", "Dispute resolved: split"
        DATA_API_ANSWERED = "data_api_answered", "Data API answered"
        DATA_API_FAILED = "data_api_failed", "Data API gave no answer"
        DATA_API_REJECTED = "data_api_rejected", "Data API answer rejected by its schema"
        FIRST_ANSWER = "first_answer", "Provider's first answer in a thread"
        WEBHOOK_DELIVERED = "webhook_delivered", "Webhook delivered"
        WEBHOOK_FAILED = "webhook_failed", "Webhook delivery failed"

    provider = models.ForeignKey(
        "payments.Participant", on_delete=models.CASCADE, related_name="reputation_signals"
    )
    buyer = models.ForeignKey(
        "payments.Participant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    service_public_id = models.CharField(max_length=24, blank=True)
    service_type = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reference = models.CharField(
        max_length=40, blank=True, help_text="The job, thread or delivery the event is about"
    )
    quality = models.FloatField(null=True, blank=True)
    speed = models.FloatField(null=True, blank=True)
    reliability = models.FloatField(null=True, blank=True)
    communication = models.FloatField(null=True, blank=True)
    weight = models.FloatField(default=1.0)
    is_job = models.BooleanField(default=False, help_text="Counts as a job (volume, counts)")
    completed = models.BooleanField(default=False)
    amount_micros = models.BigIntegerField(default=0, help_text="What the buyer paid")
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The buyer's rating on verify, 1 to 5"
    )
    feedback = models.TextField(blank=True, help_text="The buyer's words on verify (not scored)")
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "reference"],
                condition=~models.Q(reference=""),
                name="reputation_signal_once",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "occurred_at"], name="reputation_signal_provider"),
            models.Index(
                fields=["occurred_at", "buyer", "provider"],
                condition=models.Q(is_job=True),
                name="reputation_signal_jobs",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference} (provider {self.provider_id})"

    def values(self) -> dict[str, float | None]:
        return {dim: getattr(self, dim) for dim in scoring.DIMENSIONS}


def _flag_id() -> str:
    return new_public_id("syb")


class SybilFlag(BaseModel):
    """A suspicion that some wallets fake volume, with its evidence. While `open` or
    `confirmed`, jobs between any two of its parties do not count toward reputation;
    `dismissed` counts them again and whitelists every pair of its parties. Moves follow
    `reputation.sybil.TRANSITIONS`, each with a `SybilFlagTransition` audit row."""

    class Kind(models.TextChoices):
        CIRCULAR = "circular", "Circular transactions"
        SAME_WALLET = "same_wallet", "Same wallet on both sides"
        FUNDED_BY_PROVIDER = "funded_by_provider", "Buyer funded by the provider"
        SAME_ACCOUNT = "same_account", "Same account on both sides"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"

    public_id = models.CharField(max_length=24, unique=True, default=_flag_id, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    fingerprint = models.CharField(
        max_length=255, unique=True, help_text="The kind and its parties: one flag each"
    )
    parties = models.ManyToManyField("payments.Participant", related_name="sybil_flags")
    evidence = models.JSONField(default=dict)
    note = models.TextField(max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="sybil_flag_status_kind")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} ({self.status})"


class SybilFlagTransition(models.Model):
    """The audit row of one move of a flag: from, to, which operator, why, when."""

    flag = models.ForeignKey(SybilFlag, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.flag_id}: {self.from_status} -> {self.to_status}"


class SybilWhitelist(models.Model):
    """A pair of participants an operator cleared (a dismissed flag): the detector no longer
    flags trade between them. `low` has the smaller id."""

    low = models.ForeignKey("payments.Participant", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("payments.Participant", on_delete=models.CASCADE, related_name="+")
    flag = models.ForeignKey(SybilFlag, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], name="sybil_whitelist_pair"),
            models.CheckConstraint(
                condition=models.Q(low__lte=models.F("high")), name="sybil_whitelist_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.low_id} and {self.high_id}"


class FundingCheck(models.Model):
    """Cache of the USDC transfers from a provider's wallet to a buyer's wallet found on
    chain (`eth_getLogs`), and the last block searched: the next scan continues from
    there."""

    funder = models.ForeignKey("payments.Participant", on_delete=models.CASCADE, related_name="+")
    funded = models.ForeignKey("payments.Participant", on_delete=models.CASCADE, related_name="+")
    chain_id = models.PositiveBigIntegerField()
    checked_through_block = models.PositiveBigIntegerField()
    transfers = models.JSONField(default=list)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["funder", "funded", "chain_id"], name="funding_check_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.funder_id} -> {self.funded_id} through block {self.checked_through_block}"
