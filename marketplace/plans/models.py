"""Subscription plans: a provider's bundle of services at a monthly or annual price, the
agents' subscriptions to it, their paid periods and renewal attempts, and the covered
purchases counted against a period's quota."""

from __future__ import annotations

from datetime import timedelta

from django.db import models

from marketplace.catalog.models import Service
from the402.lib import money
from the402.lib.ids import new_public_id
from the402.lib.models import BaseModel


def _plan_id() -> str:
    return new_public_id("plan")


def _subscription_id() -> str:
    return new_public_id("sub")


class BillingPeriod(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


# How long one paid period lasts.
PERIOD_LENGTH: dict[str, timedelta] = {
    BillingPeriod.MONTHLY: timedelta(days=30),
    BillingPeriod.ANNUAL: timedelta(days=365),
}


class Plan(BaseModel):
    """A provider's plan. `price_micros` is the provider's price per period; agents pay it
    plus the platform fee. A deleted plan takes no new subscribers and renews nobody."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DELETED = "deleted", "Deleted"

    public_id = models.CharField(max_length=24, unique=True, default=_plan_id, editable=False)
    provider = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="plans"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=5000, blank=True)
    price_micros = models.BigIntegerField()
    billing_period = models.CharField(max_length=8, choices=BillingPeriod.choices)
    services = models.ManyToManyField(Service, related_name="plans")
    max_requests = models.PositiveIntegerField(
        null=True, blank=True, help_text="Covered purchases per period (empty: no limit)"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    # When the provider last changed the price: a balance subscription without max_price is
    # refused for 15 minutes after (as purchases of services are).
    price_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_micros__gt=0), name="plan_price_positive"
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="plan_status_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    @property
    def agent_price_micros(self) -> int:
        return money.agent_price(self.price_micros)

    @property
    def period_length(self) -> timedelta:
        return PERIOD_LENGTH[self.billing_period]


class Subscription(BaseModel):
    """An agent's subscription to a plan. It renews at `period_end` from the agent's balance
    at `price_micros`, the plan's price when the agent subscribed (a new plan price applies
    to new subscribers only). Moves through `plans.services` (`cas_move`, audit row)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        PAST_DUE = "past_due", "Past due"
        EXPIRED = "expired", "Expired"

    public_id = models.CharField(
        max_length=24, unique=True, default=_subscription_id, editable=False
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    agent = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="subscriptions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    price_micros = models.BigIntegerField(help_text="The provider's price per period, agreed")
    period_number = models.PositiveIntegerField(default=1)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    requests_used = models.PositiveIntegerField(default=0)
    # Renewal from a short balance: failures so far this period (1 = past_due, then up to 3
    # retries), and when the next retry is due.
    renewal_failures = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live subscription per agent and plan.
            models.UniqueConstraint(
                fields=["plan", "agent"],
                condition=~models.Q(status="expired"),
                name="subscription_one_live_per_plan",
            ),
            models.CheckConstraint(
                condition=models.Q(price_micros__gt=0), name="subscription_price_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "period_end"], name="subscription_due_idx"),
            models.Index(fields=["agent", "status"], name="subscription_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    @property
    def fee_micros(self) -> int:
        return money.platform_fee(self.price_micros)

    @property
    def agent_price_micros(self) -> int:
        return money.agent_price(self.price_micros)


class SubscriptionTransition(models.Model):
    """Audit row of every move of a subscription (and of each renewal)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        "payments.Participant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} -> {self.to_status}"


class SubscriptionPeriod(models.Model):
    """One paid period: what the agent paid, the provider's share and the platform's fee.
    Period 1 is paid on subscribing (x402 or balance), the others by renewal."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="periods")
    number = models.PositiveIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    price_micros = models.BigIntegerField()
    fee_micros = models.BigIntegerField()
    method = models.CharField(max_length=10)  # x402, balance, renewal
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "number"], name="subscription_period_once"
            )
        ]

    def __str__(self) -> str:
        return f"period {self.number}"


class RenewalAttempt(models.Model):
    """Each try to renew a subscription from the agent's balance, and how it ended."""

    class Outcome(models.TextChoices):
        RENEWED = "renewed", "Renewed"
        SHORT = "short", "Balance short"
        EXPIRED = "expired", "Expired"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="renewal_attempts"
    )
    period_number = models.PositiveIntegerField(help_text="The period it tried to pay")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    amount_micros = models.BigIntegerField()
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"period {self.period_number}: {self.outcome}"


class CoveredUse(models.Model):
    """A purchase a subscription covered: its job, counted against the period's quota."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="covered_uses"
    )
    job = models.OneToOneField(
        "marketplace.Job", on_delete=models.CASCADE, related_name="subscription_use"
    )
    period_number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"covered job {self.job_id} (period {self.period_number})"
