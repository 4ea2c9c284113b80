"""The notify package's model: one webhook event for a provider and the log of its
delivery."""

from __future__ import annotations

from django.db import models

from marketplace.catalog.models import Service
from the402.lib.ids import new_public_id
from the402.lib.models import BaseModel


def _delivery_id() -> str:
    return new_public_id("whd")


class WebhookDelivery(BaseModel):
    """One event for a provider's webhook URL, and the log of trying to deliver it.

    `payload` holds the exact JSON bytes sent on every attempt (so the body, and with it the
    event id providers dedupe on, never changes between retries); the signature and its
    timestamp are made afresh per attempt. The `last_*` fields describe the latest attempt.
    A PENDING delivery is attempted when `next_attempt_at` has passed, until it is
    DELIVERED (2xx) or FAILED (410 Gone, a refused URL, or still failing 24 hours after it
    was created). `marketplace.notify.outbox` is the only writer.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    class EventType(models.TextChoices):
        JOB_DISPATCH = "job_dispatch", "Job dispatch"
        THREAD_INQUIRY = "thread_inquiry", "Thread inquiry"
        NEW_MESSAGE = "new_message", "New message"
        PROPOSAL_ACCEPTED = "proposal_accepted", "Proposal accepted"
        JOB_VERIFIED = "job_verified", "Job verified"
        JOB_DISPUTED = "job_disputed", "Job disputed"
        DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
        THREAD_DECLINED = "thread_declined", "Thread declined"
        JOB_CANCELLED = "job_cancelled", "Job cancelled"
        SUBSCRIPTION_CREATED = "subscription_created", "Subscription created"
        SUBSCRIPTION_RENEWED = "subscription_renewed", "Subscription renewed"
        SUBSCRIPTION_PAST_DUE = "subscription_past_due", "Subscription past due"
        SUBSCRIPTION_CANCELLED = "subscription_cancelled", "Subscription cancelled"
        SUBSCRIPTION_EXPIRED = "subscription_expired", "Subscription expired"
        TEST = "test", "Test"

    public_id = models.CharField(max_length=24, unique=True, default=_delivery_id, editable=False)
    event_id = models.CharField(max_length=24, unique=True)
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    participant = models.ForeignKey(
        "payments.Participant",
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
        db_index=False,  # webhook_delivery_log_idx starts with participant
    )
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_deliveries",
    )
    url = models.URLField(max_length=500)
    payload = models.TextField(help_text="The JSON body, byte for byte as sent")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    signed = models.BooleanField(
        default=True, help_text="Whether the last attempt carried a signature"
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_response_excerpt = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The retry schedule's scan: pending deliveries by when they are next due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
            # A provider's delivery log, newest first.
            models.Index(
                fields=["participant", "-created_at", "-id"], name="webhook_delivery_log_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.url} ({self.status})"
