from __future__ import annotations

from django.db import models

from the402.lib.ids import PREFIXES, new_public_id
from the402.lib.models import BaseModel


def _participant_id() -> str:
    return new_public_id(PREFIXES["participant"])


class Participant(BaseModel):
    """An agent, a provider or both, identified by its wallet ("payment IS authentication")."""

    class Type(models.TextChoices):
        AGENT = "agent", "Agent"
        PROVIDER = "provider", "Provider"
        BOTH = "both", "Agent and provider"

    public_id = models.CharField(
        max_length=20, unique=True, default=_participant_id, editable=False
    )
    wallet = models.CharField(max_length=42, unique=True, help_text="EIP-55 checksummed address")
    name = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.AGENT)
    description = models.TextField(blank=True, max_length=2000)
    webhook_url = models.URLField(blank=True, max_length=500)
    capabilities = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["type"], name="participant_type_idx")]

    def __str__(self) -> str:
        return f"{self.name or self.public_id} ({self.wallet})"

    @property
    def is_provider(self) -> bool:
        return self.type in (self.Type.PROVIDER, self.Type.BOTH)
