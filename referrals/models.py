"""The referral programme: who referred whom, and the rewards each transaction earned.

A participant's code is `ref_<participant public id>` (nothing stored). A `Referral` ties a
referred participant to its referrer once and forever; a `ReferralReward` is one share of
one transaction's platform fee, unique per transaction and side, so two overlapping scans
credit it once. Both move through `cas_move` (`referrals.services.*_TRANSITIONS`) with an
audit row each.
"""

from __future__ import annotations

from django.db import models

from the402.lib import money
from the402.lib.ids import new_public_id
from the402.lib.models import BaseModel


def _referral_id() -> str:
    return new_public_id("rfl")


def _reward_id() -> str:
    return new_public_id("rwd")


class Referral(BaseModel):
    """A referred participant, tied to its referrer once and forever."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for activity"
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    public_id = models.CharField(max_length=24, unique=True, default=_referral_id, editable=False)
    referrer = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="referrals_made"
    )
    referee = models.OneToOneField(
        "payments.Participant", on_delete=models.PROTECT, related_name="referred_by"
    )
    code = models.CharField(max_length=64)
    side = models.CharField(
        max_length=8, help_text="How the referee signed up: agent or provider", default="agent"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it was revoked")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referrer", "created_at"], name="referral_referrer_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(referrer=models.F("referee")), name="referral_not_self"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.referrer_id} -> {self.referee_id} ({self.status})"


class ReferralReward(BaseModel):
    """The referrer's share of one transaction's platform fee (`key`: the transaction and the
    side the referee played in it)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (the referee's first transactions)"
        CREDITED = "credited", "Credited to referral earnings"
        REVERSED = "reversed", "Reversed (the transaction was refunded or split)"
        REVOKED = "revoked", "Revoked (sybil flag or an operator)"
        WITHDRAWN = "withdrawn", "Withdrawn to the balance"

    public_id = models.CharField(max_length=24, unique=True, default=_reward_id, editable=False)
    key = models.CharField(max_length=120, unique=True, help_text="<transaction key>:<side>")
    transaction_key = models.CharField(max_length=100, db_index=True)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="rewards")
    referrer = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="referral_rewards"
    )
    source = models.CharField(max_length=20, help_text="purchase, proposal, data_api, ...")
    reference = models.CharField(max_length=40, blank=True, help_text="The job, sale, period")
    side = models.CharField(max_length=8, help_text="The referee's role: agent or provider")
    fee_micros = models.BigIntegerField(help_text="The platform fee of the transaction")
    rate_bps = models.PositiveIntegerField(help_text="The share of the fee, in basis points")
    amount_micros = models.BigIntegerField(help_text="What the referrer earns")
    capped_micros = models.BigIntegerField(default=0, help_text="Cut by the monthly cap")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    occurred_at = models.DateTimeField(help_text="When the transaction became final")
    credited_at = models.DateTimeField(null=True, blank=True, db_index=True)
    withdrawal = models.CharField(max_length=24, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["referrer", "status"], name="referral_reward_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_micros__gte=0, fee_micros__gte=0, capped_micros__gte=0),
                name="referral_reward_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ${money.format_usd(self.amount_micros)} ({self.status})"


class Transition(models.Model):
    """The audit row of one move of a referral or reward: from, to, why, when."""

    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


class ReferralTransition(Transition):
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="transitions")

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status} -> {self.to_status}"


class RewardTransition(Transition):
    reward = models.ForeignKey(ReferralReward, on_delete=models.CASCADE, related_name="transitions")

    def __str__(self) -> str:
        return f"{self.reward_id}: {self.from_status} -> {self.to_status}"


class ScanRun(models.Model):
    """One run of the rewards scan; the next run starts from the last finished one."""

    started_at = models.DateTimeField()
    since = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    events = models.PositiveIntegerField(default=0)
    credited = models.PositiveIntegerField(default=0)
    reversed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"scan {self.started_at:%Y-%m-%d %H:%M} ({self.credited} credited)"
