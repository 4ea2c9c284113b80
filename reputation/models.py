from __future__ import annotations

from django.db import models

from the402.lib.models import BaseModel

DEFAULT_SCORE = 75.0
NEW_PROVIDER_CONFIDENCE = 0.33


class ReputationScore(BaseModel):
    """A stored reputation score of one participant at one scope.

    Scopes: the provider as a whole (`scope_key` empty), one service type (`scope_key` is
    the type) or one service (`scope_key` is the service's public id; this app sits below
    `marketplace` and so refers to services by id, not by foreign key). Until a later issue
    computes scores from job history, rows hold the seeds' defaults: 75, confidence 0, new.
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
    def completion_rate(self) -> float | None:
        if not self.total_jobs:
            return None
        return round(100.0 * self.completed_jobs / self.total_jobs, 1)
