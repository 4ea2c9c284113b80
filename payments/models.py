from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from the402.lib import money
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
    webhook_secret_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    # After a rotation on request: the previous secret (sealed) still signs each webhook as
    # `X-Webhook-Signature-Previous` until `webhook_secret_grace_until`.
    webhook_secret_previous_sealed = models.BinaryField(null=True, blank=True, editable=False)
    webhook_secret_grace_until = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set by POST /v1/register; empty for wallets known only by a payment",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["type"], name="participant_type_idx")]

    def __str__(self) -> str:
        return f"{self.name or self.public_id} ({self.wallet})"

    @property
    def is_provider(self) -> bool:
        return self.type in (self.Type.PROVIDER, self.Type.BOTH)


class ApiKey(BaseModel):
    """A participant's API key: found by keyed hash, kept encrypted, never stored in clear.

    At most one key per participant is live; rotation revokes the old one in the same
    transaction that creates the new one.
    """

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="api_keys")
    key_hash = models.CharField(max_length=64, unique=True)
    key_encrypted = models.BinaryField()
    hint = models.CharField(max_length=12, help_text="The first characters, for people")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_key_one_live_per_participant",
            )
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "live"
        return f"{self.hint}… ({state})"


class LedgerAccount(BaseModel):
    """An account of the double-entry ledger, in micro-USDC.

    `balance` is a cached projection of the account's entries, changed only by
    `payments.ledger` under a conditional update; `ledger_check` proves it equals the sum.
    Only accounts standing for the outside world may go negative.
    """

    class Kind(models.TextChoices):
        EXTERNAL = "external", "Outside world (on-chain inflows and outflows)"
        AGENT_BALANCE = "agent_balance", "Agent prepaid balance"
        PROVIDER_PAYABLE = "provider_payable", "Owed to a provider"
        ESCROW = "escrow", "Held in escrow"
        REVENUE = "revenue", "Platform revenue"

    code = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    balance = models.BigIntegerField(default=0)
    allow_negative = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(allow_negative=True) | models.Q(balance__gte=0),
                name="ledger_account_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} (${money.format_usd(self.balance)})"


class LedgerTransaction(models.Model):
    """One movement of money: entries summing to zero, written together, never changed."""

    kind = models.CharField(max_length=32, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    description = models.CharField(max_length=300, blank=True)
    reference = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class LedgerEntry(models.Model):
    """One leg of a transaction: a signed amount on one account (+ in, − out)."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-id"], name="ledger_entry_account_idx")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_entry_not_zero")
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} on {self.account_id} (transaction {self.transaction_id})"


class X402Payment(BaseModel):
    """One x402 authorization we accepted, from verification to settlement.

    The unique (network, asset, payer, nonce) row is claimed before settling, so an
    authorization pays for one request only, however often and however concurrently it is
    replayed. A settlement whose outcome is unknown stays `pending` until reconciliation: it
    is never answered with a fresh 402 (the buyer would pay twice).
    """

    class Status(models.TextChoices):
        SETTLING = "settling", "Settling"
        SETTLED = "settled", "Settled"
        FAILED = "failed", "Failed"
        PENDING = "pending", "Outcome unknown (awaiting the chain)"

    public_id = models.CharField(max_length=24, unique=True)
    x402_version = models.PositiveSmallIntegerField()
    network = models.CharField(max_length=40)
    asset = models.CharField(max_length=42)
    payer = models.CharField(max_length=42, db_index=True)
    pay_to = models.CharField(max_length=42)
    amount = models.BigIntegerField()
    nonce = models.CharField(max_length=66)
    valid_before = models.BigIntegerField()
    fingerprint = models.CharField(max_length=64, unique=True)
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(max_length=8)
    resource = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SETTLING)
    tx_hash = models.CharField(max_length=66, blank=True)
    error_reason = models.CharField(max_length=100, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(
        null=True, blank=True, help_text="When the paid request's work was committed"
    )
    # The answer of the request it paid for (committed with its work), so a copy of the same
    # payment header on the same request gets that answer, not a 409: the request's
    # fingerprint (payments.idempotency.request_fingerprint), and the body, encrypted.
    request_fingerprint = models.CharField(max_length=64, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network", "asset", "payer", "nonce"], name="x402_payment_nonce_once"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="x402_amount_positive"),
        ]
        indexes = [
            models.Index(
                fields=["status", "created_at"],
                condition=models.Q(status__in=["settling", "pending"]),
                name="x402_payment_unfinished_idx",
            )
        ]

    def __str__(self) -> str:
        amount = money.format_usd(self.amount)
        return f"{self.public_id} ${amount} from {self.payer} ({self.status})"


class IdempotencyRecord(BaseModel):
    """A purchase-like request seen with an `Idempotency-Key` (Stripe semantics); see
    `payments.idempotency`.

    The key is scoped by caller, so one client cannot read another's response. The first
    request claims the row under a lease; a retry after it completed gets the stored response;
    a retry while it runs gets 409, and takes it over once the lease has expired (the process
    running it died); the same key with a different request gets 422. A record expires 24
    hours after its first request (then the key is new again) and is purged on a schedule.
    The stored response body is AES-GCM ciphertext: it may hold an API key.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    # Bumped by every claim of the record (the first request, a take-over): the claimant
    # that completes or releases it must still hold that attempt.
    attempt = models.PositiveIntegerField(default=1)
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="While in progress: until when its runner owns it"
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="From then on the key is new again"
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True, editable=False)
    response_headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once")
        ]


class DataKey(BaseModel):
    """The own data key of one secret sealed by `payments.crypto.seal` (envelope
    encryption), kept wrapped by the master key. `crypto.destroy` deletes the row: the
    secret's ciphertext, wherever a copy of it lies, can then no longer be read."""

    key_id = models.CharField(max_length=32, unique=True, editable=False)
    purpose = models.CharField(max_length=40, editable=False)
    wrapped = models.BinaryField(editable=False)

    def __str__(self) -> str:
        return f"{self.purpose} {self.key_id}"


class ChainCall(BaseModel):
    """One transaction we must get mined exactly once (escrow moves, payouts).

    The transaction is signed before it is sent and its raw bytes and hash are stored first,
    so a retry after any crash re-sends the very same transaction (same nonce, same hash): it
    can be mined once at most. Only when its nonce has been used by another transaction is it
    known dead, and only then is it signed afresh.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent, awaiting its receipt"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    contract = models.CharField(max_length=42)
    function = models.CharField(max_length=64)
    args = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    sender = models.CharField(max_length=42, blank=True)
    nonce = models.BigIntegerField(null=True, blank=True)
    raw_tx = models.TextField(blank=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    gas_used = models.BigIntegerField(null=True, blank=True)
    # The block its transaction succeeded in: looked at again until the chain finalizes it.
    block_number = models.BigIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=models.Q(status__in=["queued", "sent"]),
                name="chain_call_open_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key} ({self.status})"


class Escrow(BaseModel):
    """Money held for a job until delivery is verified (released) or it fails (refunded).

    `on_chain` escrows hold USDC in The402Escrow under `chain_id`; `ledger` escrows hold
    funds already in our treasury (balance-paid purchases). Either way the held money is the
    ledger account `escrow:<public_id>`. Moves follow `payments.escrow.TRANSITIONS`.
    """

    class Backing(models.TextChoices):
        ON_CHAIN = "on_chain", "On-chain (The402Escrow)"
        LEDGER = "ledger", "Ledger (treasury)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (being funded on-chain)"
        HELD = "held", "Held"
        RELEASED = "released", "Released to the provider"
        REFUNDED = "refunded", "Refunded to the agent"
        SPLIT = "split", "Split by a dispute settlement"
        RECLAIMED = "reclaimed", "Reclaimed by the agent after expiry"
        FAILED = "failed", "Failed"

    public_id = models.CharField(max_length=24, unique=True)
    backing = models.CharField(max_length=10, choices=Backing.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    payer = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="escrows_paid")
    payee = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="escrows_received"
    )
    amount = models.BigIntegerField(help_text="The provider's share, micro-USDC")
    fee = models.BigIntegerField(help_text="The platform fee, micro-USDC")
    payee_amount = models.BigIntegerField(
        null=True, blank=True, help_text="What the provider got in a split"
    )
    expires_at = models.DateTimeField()
    chain_id = models.CharField(max_length=66, unique=True, help_text="bytes32 id on-chain")
    reference = models.CharField(max_length=64, blank=True, db_index=True)
    funding_payment = models.OneToOneField(
        X402Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="escrow"
    )
    deferred = models.CharField(
        max_length=10,
        blank=True,
        help_text="A release, refund or split asked for while the on-chain funding was still "
        "pending: made as soon as the escrow is funded",
    )
    deferred_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0, fee__gte=0), name="escrow_amounts_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(payee_amount__isnull=True)
                | models.Q(payee_amount__gte=0, payee_amount__lte=models.F("amount")),
                name="escrow_split_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="escrow_status_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status} ${money.format_usd(self.total)}"

    @property
    def total(self) -> int:
        return self.amount + self.fee


class EscrowTransition(models.Model):
    """The audit trail: one row per move of an escrow's state."""

    escrow = models.ForeignKey(Escrow, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=10)
    to_status = models.CharField(max_length=10)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.escrow_id}: {self.from_status} -> {self.to_status}"


class Payout(BaseModel):
    """USDC sent from the treasury to a provider's wallet for what it is owed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed (amount returned to the provider's payable)"

    public_id = models.CharField(max_length=24, unique=True)
    provider = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="payouts")
    wallet = models.CharField(max_length=42)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    chain_call = models.OneToOneField(
        ChainCall, null=True, blank=True, on_delete=models.PROTECT, related_name="payout"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ${money.format_usd(self.amount)} to {self.wallet} ({self.status})"


class ReconciliationIssue(BaseModel):
    """A mismatch between the chain and our records, for an operator to act on. Open until
    an operator resolves it, or until a reconciliation run no longer finds it."""

    class ResolvedBy(models.TextChoices):
        OPERATOR = "operator", "an operator"
        RECONCILE = "reconcile", "reconciliation (no longer found)"

    kind = models.CharField(max_length=40)
    subject = models.CharField(max_length=80, help_text="escrow, payout or call id")
    detail = models.TextField()
    action = models.TextField(help_text="What to do about it")
    last_seen_at = models.DateTimeField(
        default=timezone.now, help_text="The last reconciliation run that found it"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=10, choices=ResolvedBy.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="reconciliation_issue_open_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


# --- web dashboard accounts -----------------------------------------------------------------


class WebAccount(BaseModel):
    """A dashboard sign-in (a Django user: email and password, Google, or a wallet by
    Sign-In with Ethereum) tied to exactly one participant, and a participant to at most one
    dashboard account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_account"
    )
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="web_account"
    )

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.participant_id}"


class ManagedWallet(BaseModel):
    """A wallet whose key the platform generated for an email sign-up, sealed at rest.

    Its owner may export the key once (after re-authentication). Once they link a wallet of
    their own it is `replaced`: its key stays exportable while the address holds USDC.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="managed_wallets"
    )
    address = models.CharField(max_length=42, unique=True)
    key_sealed = models.BinaryField(editable=False)
    exported_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.address} (managed for {self.participant_id})"


class SiweNonce(models.Model):
    """A Sign-In with Ethereum nonce we handed out: used once, before it expires, by the
    browser session it was given to (so a signed message cannot be replayed elsewhere)."""

    class Purpose(models.TextChoices):
        LOGIN = "login", "Sign in"
        REAUTH = "reauth", "Confirm the signed-in account's current wallet"
        LINK = "link", "Link a wallet to the signed-in account"

    nonce = models.CharField(max_length=32, unique=True)
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    session_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.purpose} nonce ({'used' if self.used_at else 'open'})"
