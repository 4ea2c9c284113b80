"""The deals' models: threads (negotiation), proposals, messages, jobs (paid work) and the
audit rows of their moves; `Dispute` is the admin's view of a disputed job."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from marketplace.catalog.models import Service
from the402.lib.ids import new_public_id
from the402.lib.models import BaseModel


def _job_id() -> str:
    return new_public_id("job")


class Job(BaseModel):
    """One purchase of a service: the buyer's brief, the provider's work, the escrowed money.

    Moves follow `marketplace.deals.jobs.TRANSITIONS`, each with a `JobTransition` audit row;
    `marketplace.deals.jobs` is the only writer of `status`.
    """

    class Status(models.TextChoices):
        CREATED = "created", "Created"
        DISPATCHED = "dispatched", "Dispatched"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        VERIFIED = "verified", "Verified"
        RELEASED = "released", "Released"
        FAILED = "failed", "Failed"
        DISPUTED = "disputed", "Disputed"
        REFUNDED = "refunded", "Refunded"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.CharField(max_length=24, unique=True, default=_job_id, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="jobs")
    buyer = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="jobs_bought"
    )
    provider = models.ForeignKey(
        "payments.Participant", on_delete=models.PROTECT, related_name="jobs_provided"
    )
    escrow = models.OneToOneField(
        "payments.Escrow", on_delete=models.PROTECT, null=True, blank=True, related_name="job"
    )
    brief = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CREATED)
    deliverables = models.JSONField(null=True, blank=True)
    notes = models.TextField(max_length=5000, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.TextField(max_length=2000, blank=True)
    thread = models.OneToOneField(
        "Thread", on_delete=models.PROTECT, null=True, blank=True, related_name="job"
    )
    resolution = models.CharField(
        max_length=8,
        blank=True,
        choices=[("release", "Released"), ("refund", "Refunded"), ("split", "Split")],
        help_text="How an admin resolved the dispute",
    )
    resolution_note = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The auto-verify scan: completed jobs by completion time.
            models.Index(
                fields=["completed_at"],
                condition=models.Q(status="completed"),
                name="job_completed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"


class Transition(models.Model):
    """The audit row of one move of a job or thread: from, to, who, why, when."""

    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        "payments.Participant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    subject = ""  # the foreign key naming what moved

    def __str__(self) -> str:
        return f"{getattr(self, f'{self.subject}_id')}: {self.from_status} -> {self.to_status}"


class JobTransition(Transition):
    """The audit row of one job move."""

    subject = "job"
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="transitions")


def _thread_id() -> str:
    return new_public_id("thr")


class Thread(BaseModel):
    """A conversation between a buyer and a provider about one service: negotiation,
    payment, delivery.

    Moves follow `marketplace.deals.threads.TRANSITIONS`, each with a `ThreadTransition` audit row;
    `marketplace.deals.threads` is the only writer of `status`. Once paid, the thread follows its
    job (`Job.thread`). A legacy quote (`POST /v1/services/:id/quote`) is a thread with a
    `quote_id`.
    """

    class Status(models.TextChoices):
        INQUIRY = "inquiry", "Inquiry"
        NEGOTIATING = "negotiating", "Negotiating"
        ACCEPTED = "accepted", "Accepted"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        VERIFIED = "verified", "Verified"
        DISPUTED = "disputed", "Disputed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    public_id = models.CharField(max_length=24, unique=True, default=_thread_id, editable=False)
    quote_id = models.CharField(max_length=24, unique=True, null=True, blank=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="threads")
    buyer = models.ForeignKey(
        "payments.Participant",
        on_delete=models.PROTECT,
        related_name="threads_bought",
        db_index=False,  # thread_buyer_idx starts with buyer
    )
    provider = models.ForeignKey(
        "payments.Participant",
        on_delete=models.PROTECT,
        related_name="threads_provided",
        db_index=False,  # thread_provider_idx starts with provider
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INQUIRY)
    brief = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When an inquiry or an open proposal lapses"
    )

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-updated_at"], name="thread_buyer_idx"),
            models.Index(fields=["provider", "-updated_at"], name="thread_provider_idx"),
            # The expiry scan: open threads by deadline.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status__in=["inquiry", "negotiating"]),
                name="thread_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    def party(self, participant_id: int) -> str | None:
        """ "buyer", "provider" or None: the caller's role on this thread."""
        if participant_id == self.buyer_id:
            return "buyer"
        if participant_id == self.provider_id:
            return "provider"
        return None


class ThreadTransition(Transition):
    """The audit row of one thread move (the thread's status history)."""

    subject = "thread"
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="transitions")


def _proposal_id() -> str:
    return new_public_id("prp")


class Proposal(BaseModel):
    """A provider's price for a thread. At most one is open; a new one supersedes it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        SUPERSEDED = "superseded", "Superseded"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    public_id = models.CharField(max_length=24, unique=True, default=_proposal_id, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="proposals")
    price_micros = models.BigIntegerField()
    fee_micros = models.BigIntegerField()
    message = models.TextField(max_length=5000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField()
    # When the buyer last read the thread (or its quote) showing this proposal open: a
    # balance accept without `proposal_id` charges only a proposal its buyer has seen
    # (`marketplace.deals.agreements.proposal_agreed`).
    seen_by_buyer_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_micros__gt=0, fee_micros__gte=0),
                name="proposal_price_positive",
            ),
            # Two concurrent proposals cannot both stay open.
            models.UniqueConstraint(
                fields=["thread"], condition=models.Q(status="open"), name="proposal_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    @property
    def total_micros(self) -> int:
        return self.price_micros + self.fee_micros


def _message_id() -> str:
    return new_public_id("msg")


def attachment_path(message: ThreadMessage, filename: str) -> str:
    return f"threads/{message.thread.public_id}/{message.public_id}/{filename}"


class ThreadMessage(BaseModel):
    """One entry of a thread: a party's text, credential or file, or a system note
    (proposals, status changes, dispute reasons and resolutions).

    A credential's text is kept only as AES-256-GCM ciphertext (`secret`), shown to the two
    parties and erased (`secret` set to NULL, `redacted_at` set) when the thread is done.
    """

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        CREDENTIAL = "credential", "Credential"
        ATTACHMENT = "attachment", "Attachment"
        PROPOSAL = "proposal", "Proposal"
        STATUS = "status", "Status update"
        DISPUTE = "dispute", "Dispute"
        RESOLUTION = "resolution", "Dispute resolution"

    public_id = models.CharField(max_length=24, unique=True, default=_message_id, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        "payments.Participant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    body = models.TextField(max_length=10000, blank=True)
    secret = models.BinaryField(null=True, blank=True, editable=False)
    redacted_at = models.DateTimeField(null=True, blank=True)
    attachment = models.FileField(upload_to=attachment_path, max_length=300, blank=True)
    attachment_name = models.CharField(max_length=200, blank=True)
    attachment_size = models.PositiveBigIntegerField(null=True, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.kind})"


class Dispute(Job):
    """A disputed job as the admin sees it: a proxy of `Job` (no table of its own), listed
    and resolved in the admin's "Disputes" (`marketplace.deals.admin_disputes.DisputeAdmin`)."""

    class Meta:
        proxy = True
        verbose_name = "dispute"
        verbose_name_plural = "disputes"
