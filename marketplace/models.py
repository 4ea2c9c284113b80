from __future__ import annotations

from django.db import models
from django.utils import timezone

from the402.lib import money
from the402.lib.ids import PREFIXES, new_public_id
from the402.lib.models import BaseModel


def _service_id() -> str:
    return new_public_id(PREFIXES["service"])


class ServiceType(models.TextChoices):
    DATA_API = "data_api", "Data API"
    AUTOMATED_SERVICE = "automated_service", "Automated service"
    HUMAN_SERVICE = "human_service", "Human service"


class FulfillmentType(models.TextChoices):
    INSTANT = "instant", "Instant"
    AUTOMATED = "automated", "Automated"
    HUMAN = "human", "Human"


# One-to-one: a service's type decides how it is fulfilled, and the other way round.
FULFILLMENT_FOR_TYPE: dict[str, str] = {
    ServiceType.DATA_API: FulfillmentType.INSTANT,
    ServiceType.AUTOMATED_SERVICE: FulfillmentType.AUTOMATED,
    ServiceType.HUMAN_SERVICE: FulfillmentType.HUMAN,
}
TYPE_FOR_FULFILLMENT: dict[str, str] = {v: k for k, v in FULFILLMENT_FOR_TYPE.items()}


class PricingModel(models.TextChoices):
    FIXED = "fixed", "Fixed price"
    QUOTE_REQUIRED = "quote_required", "Quote required"


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(status=Service.Status.ACTIVE)


class Service(BaseModel):
    """A listing in the catalog.

    Prices are the provider's, in integer micro-USDC; agents pay them plus the platform fee
    (`the402.lib.money.agent_price`). A fixed-price service has `price_micros`; a quoted one
    has the range `price_micros` (from) to `price_max_micros` (up to).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    public_id = models.CharField(max_length=24, unique=True, default=_service_id, editable=False)
    provider = models.ForeignKey(
        "payments.Participant",
        on_delete=models.PROTECT,
        related_name="services",
        db_index=False,  # service_provider_idx starts with provider
    )
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=5000)
    category = models.CharField(max_length=50)
    tags = models.JSONField(default=list, blank=True)
    service_type = models.CharField(max_length=20, choices=ServiceType.choices)
    pricing_model = models.CharField(
        max_length=16, choices=PricingModel.choices, default=PricingModel.FIXED
    )
    price_micros = models.BigIntegerField(help_text="Fixed price, or the lowest quoted price")
    price_max_micros = models.BigIntegerField(
        null=True, blank=True, help_text="Highest quoted price (quote-required services only)"
    )
    estimated_delivery = models.CharField(max_length=50, blank=True)
    input_schema = models.JSONField(null=True, blank=True)
    deliverable_schema = models.JSONField(null=True, blank=True)
    webhook_url = models.URLField(blank=True, max_length=500)
    # The outcome of the last `POST /v1/services/:id/test` probe (None: never probed).
    webhook_healthy = models.BooleanField(null=True, blank=True)
    webhook_checked_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    listed_at = models.DateTimeField(default=timezone.now)
    # When the provider last changed the price (None: never since listing). A balance
    # purchase without a `max_price` is refused for 15 minutes after a change
    # (`marketplace.commerce.purchase_agreed`).
    price_changed_at = models.DateTimeField(null=True, blank=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["-listed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_micros__gte=0), name="service_price_not_negative"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(pricing_model="fixed", price_max_micros__isnull=True)
                    | models.Q(
                        pricing_model="quote_required",
                        price_max_micros__gte=models.F("price_micros"),
                    )
                ),
                name="service_price_range_matches_model",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-listed_at", "-id"], name="service_newest_idx"),
            models.Index(fields=["status", "price_micros"], name="service_price_idx"),
            models.Index(fields=["status", "category", "price_micros"], name="service_cat_idx"),
            models.Index(fields=["status", "service_type"], name="service_type_idx"),
            # A provider's listings, and the services of top-scored providers (reputation
            # sort): counted from the index alone.
            models.Index(fields=["provider", "status", "-listed_at"], name="service_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"

    @property
    def fulfillment_type(self) -> str:
        return FULFILLMENT_FOR_TYPE[self.service_type]

    @property
    def is_quoted(self) -> bool:
        return self.pricing_model == PricingModel.QUOTE_REQUIRED

    @property
    def agent_price_micros(self) -> int:
        return money.agent_price(self.price_micros)


def _delivery_id() -> str:
    return new_public_id("whd")


class WebhookDelivery(BaseModel):
    """One event for a provider's webhook URL, and the log of trying to deliver it.

    `payload` holds the exact JSON bytes sent on every attempt (so the body, and with it the
    event id providers dedupe on, never changes between retries); the signature and its
    timestamp are made afresh per attempt. The `last_*` fields describe the latest attempt.
    A PENDING delivery is attempted when `next_attempt_at` has passed, until it is
    DELIVERED (2xx) or FAILED (410 Gone, a refused URL, or still failing 24 hours after it
    was created). `marketplace.webhooks` is the only writer.
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
        TEST = "test", "Test"

    public_id = models.CharField(max_length=24, unique=True, default=_delivery_id, editable=False)
    event_id = models.CharField(max_length=24, unique=True)
    event_type = models.CharField(max_length=20, choices=EventType.choices)
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


def _job_id() -> str:
    return new_public_id("job")


class Job(BaseModel):
    """One purchase of a service: the buyer's brief, the provider's work, the escrowed money.

    Moves follow `marketplace.jobs.TRANSITIONS`, each with a `JobTransition` audit row;
    `marketplace.jobs` is the only writer of `status`.
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

    Moves follow `marketplace.threads.TRANSITIONS`, each with a `ThreadTransition` audit row;
    `marketplace.threads` is the only writer of `status`. Once paid, the thread follows its
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
    # (`marketplace.commerce.proposal_agreed`).
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
    and resolved in the admin's "Disputes" (`marketplace.admin.DisputeAdmin`)."""

    class Meta:
        proxy = True
        verbose_name = "dispute"
        verbose_name_plural = "disputes"
