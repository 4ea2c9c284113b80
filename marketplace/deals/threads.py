"""Threads: the conversation between a buyer and a provider about one service.

An agent opens a thread (`thread_open`, an inquiry); the provider answers with messages and
proposals (`proposal_make`); the agent accepts and pays (`marketplace.deals.agreements`),
which
creates the job; from then on the thread follows its job (`thread_follow_job`). A fixed-price
purchase opens its thread already accepted.

Every status change goes through `_move`: one table of allowed moves (`TRANSITIONS`), a
compare-and-swap and an audit row (`ThreadTransition`, the thread's status history).
Lock order, everywhere: a thread before its job (`lock_thread_then_job`).

Credentials (`kind="credential"`) are stored only as AES-256-GCM ciphertext, shown to the
two parties, and erased when the thread is done (completed, verified, cancelled, expired).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.catalog.models import Service
from marketplace.deals import events, reputation_feed
from marketplace.deals.models import Job, Proposal, Thread, ThreadMessage, ThreadTransition
from marketplace.deals.selectors import open_proposal
from payments import crypto
from payments.models import Participant
from the402.lib import money
from the402.lib.errors import ApplicationError, Conflict
from the402.lib.ids import new_public_id
from the402.lib.states import cas_move

logger = logging.getLogger(__name__)

S = Thread.Status
TRANSITIONS: dict[str, frozenset[str]] = {
    S.INQUIRY: frozenset({S.NEGOTIATING, S.CANCELLED, S.EXPIRED}),
    S.NEGOTIATING: frozenset({S.ACCEPTED, S.CANCELLED, S.EXPIRED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.DISPUTED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.DISPUTED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.VERIFIED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.VERIFIED, S.CANCELLED}),  # admin: release (or split) / refund
}
# Where a paid thread stands for each status of its job.
FOR_JOB_STATUS: dict[str, str] = {
    Job.Status.CREATED: S.ACCEPTED,
    Job.Status.DISPATCHED: S.ACCEPTED,
    Job.Status.IN_PROGRESS: S.IN_PROGRESS,
    Job.Status.COMPLETED: S.COMPLETED,
    Job.Status.VERIFIED: S.VERIFIED,
    Job.Status.RELEASED: S.VERIFIED,
    Job.Status.DISPUTED: S.DISPUTED,
    Job.Status.FAILED: S.CANCELLED,
    Job.Status.REFUNDED: S.CANCELLED,
    Job.Status.CANCELLED: S.CANCELLED,
}
OPEN = frozenset({S.INQUIRY, S.NEGOTIATING})
CLOSED = frozenset({S.VERIFIED, S.CANCELLED, S.EXPIRED})
# Credentials are erased on reaching these, and none are accepted there.
DONE = frozenset({S.COMPLETED}) | CLOSED

INQUIRY_TTL = timedelta(days=7)
PROPOSAL_TTL = timedelta(hours=72)
MESSAGE_MAX = 10_000
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
CREDENTIAL_PURPOSE = "thread-credential"


class InvalidThreadTransition(Conflict):
    code = "invalid_thread_transition"


def forbidden(message: str) -> ApplicationError:
    return ApplicationError(message, code="forbidden", status=403)


# --- locking and moves ------------------------------------------------------------------
def lock_thread(thread: Thread) -> Thread:
    return (
        Thread.objects.select_for_update(of=("self",))
        .select_related("service", "buyer", "provider")
        .get(pk=thread.pk)
    )


def move(thread: Thread, to: str, *, actor: Participant | None, note: str = "") -> Thread:
    """Move a thread (inside a transaction, holding its lock or its job's): compare-and-swap
    plus audit row; erases credentials when the thread is done."""
    previous = cas_move(
        thread,
        to,
        transitions=TRANSITIONS,
        error=InvalidThreadTransition,
        fields=None if to in OPEN else {"expires_at": None},
    )
    ThreadTransition.objects.create(
        thread=thread, from_status=previous, to_status=to, actor=actor, note=note[:300]
    )
    now = thread.updated_at
    if to in DONE:
        _erase_credentials(thread, now)
    if to in CLOSED:
        Proposal.objects.filter(thread=thread, status=Proposal.Status.OPEN).update(
            status=Proposal.Status.EXPIRED if to == S.EXPIRED else Proposal.Status.WITHDRAWN,
            updated_at=now,
        )
    return thread


def thread_follow_job(job: Job, *, actor: Participant | None, note: str = "") -> None:
    """Bring a paid thread to where its job now stands (called by every job move, holding
    the job's lock and, by the lock order, its thread's)."""
    if job.thread_id is None:
        return
    thread = job.thread  # loaded with the locked job, or read once and kept
    assert thread is not None  # thread_id is set
    target = FOR_JOB_STATUS[job.status]
    if thread.status != target:
        move(thread, target, actor=actor, note=note or f"job {job.public_id} {job.status}")


def _erase_credentials(thread: Thread, now: datetime) -> None:
    """Destroy each credential's own data key, then drop its ciphertext: no copy of it (a
    WAL, a replica, a backup taken from now on) can be read again."""
    kept = ThreadMessage.objects.filter(
        thread=thread, kind=ThreadMessage.Kind.CREDENTIAL, secret__isnull=False
    )
    for secret in kept.values_list("secret", flat=True):
        assert secret is not None  # filtered on secret__isnull=False
        crypto.destroy(bytes(secret))
    kept.update(secret=None, redacted_at=now, updated_at=now)


# --- opening ----------------------------------------------------------------------------
def _create(
    *,
    service: Service,
    buyer: Participant,
    brief: Any,
    status: str,
    quote: bool,
    public_id: str | None = None,
) -> Thread:
    thread = Thread(
        service=service,
        buyer=buyer,
        provider=service.provider,
        status=status,
        brief=brief,
        expires_at=timezone.now() + INQUIRY_TTL if status == S.INQUIRY else None,
    )
    if public_id is not None:
        thread.public_id = public_id
    if quote:
        thread.quote_id = new_public_id("qt")
    thread.save()
    ThreadTransition.objects.create(thread=thread, from_status="", to_status=status, actor=buyer)
    return thread


@transaction.atomic
def thread_open(
    *, service: Service, buyer: Participant, brief: Any, message: str, quote: bool = False
) -> Thread:
    """An inquiry (or a legacy quote request): the provider hears of it by `thread_inquiry`."""
    if buyer.pk == service.provider_id:
        raise ApplicationError("You cannot open a thread on your own service", code="own_service")
    thread = _create(service=service, buyer=buyer, brief=brief, status=S.INQUIRY, quote=quote)
    if message:
        ThreadMessage.objects.create(thread=thread, sender=buyer, body=message)
    events.thread_inquiry(thread, buyer=buyer, message=message)
    return thread


def thread_for_purchase(
    *, service: Service, buyer: Participant, brief: Any, public_id: str | None = None
) -> Thread:
    """The thread of a fixed-price purchase: paid already, so it starts accepted."""
    return _create(
        service=service,
        buyer=buyer,
        brief=brief,
        status=S.ACCEPTED,
        quote=False,
        public_id=public_id,
    )


# --- messages ---------------------------------------------------------------------------
def _party(thread: Thread, participant: Participant) -> str:
    role = thread.party(participant.pk)
    if role is None:
        raise forbidden("Only the thread's buyer and provider can do this")
    return role


@transaction.atomic
def message_post(
    *,
    thread: Thread,
    sender: Participant,
    kind: str = ThreadMessage.Kind.TEXT,
    text: str = "",
    upload: UploadedFile | None = None,
) -> ThreadMessage:
    """A party writes to the thread: text, a credential (encrypted) or a file."""
    _party(thread, sender)
    thread = lock_thread(thread)
    if thread.status in CLOSED:
        raise InvalidThreadTransition(f"thread {thread.public_id} is {thread.status}")
    message = ThreadMessage(thread=thread, sender=sender, kind=kind)
    if kind == ThreadMessage.Kind.CREDENTIAL:
        if thread.status in DONE:
            raise InvalidThreadTransition(
                f"thread {thread.public_id} is {thread.status}: credentials are no longer kept"
            )
        message.secret = crypto.seal(text, purpose=CREDENTIAL_PURPOSE)
    elif kind == ThreadMessage.Kind.ATTACHMENT:
        if upload is None:
            raise ApplicationError("an attachment message needs a file", code="missing_file")
        if upload.size is None or upload.size > ATTACHMENT_MAX_BYTES:
            raise ApplicationError("attachments are limited to 25 MB", code="file_too_large")
        message.body = text
        message.attachment_name = (upload.name or "attachment")[-200:]
        message.attachment_size = upload.size
        message.attachment_type = (upload.content_type or "application/octet-stream")[:100]
        message.attachment.save(message.attachment_name, upload, save=False)
    else:
        message.body = text
    message.save()
    Thread.objects.filter(pk=thread.pk).update(updated_at=timezone.now())
    if sender.pk == thread.buyer_id:
        events.new_message(thread, message)
    else:
        reputation_feed.provider_answered(thread)  # counts once per thread
    return message


def message_note(
    thread: Thread, *, kind: str, body: str, sender: Participant | None = None
) -> ThreadMessage:
    """A note the platform posts to a thread (dispute reasons, resolutions)."""
    return ThreadMessage.objects.create(thread=thread, sender=sender, kind=kind, body=body)


def credential_text(message: ThreadMessage) -> str | None:
    """The plaintext of a credential (for the two parties only), None once erased."""
    if message.secret is None:
        return None
    return crypto.open_sealed(bytes(message.secret), purpose=CREDENTIAL_PURPOSE)


# --- proposals --------------------------------------------------------------------------
def proposal_seen(thread: Thread, proposal: Proposal | None, *, reader: Participant) -> None:
    """Record that the thread's buyer read `proposal` (the one a thread or quote answer
    showed it): a balance accept without `proposal_id` pays only a proposal so read
    (`marketplace.deals.agreements.proposal_agreed`). Only while it is open; others' reads are
    not recorded."""
    if proposal is None or reader.pk != thread.buyer_id:
        return
    Proposal.objects.filter(pk=proposal.pk, status=Proposal.Status.OPEN).update(
        seen_by_buyer_at=timezone.now()
    )


def proposal_range_check(service: Service, price_micros: int) -> None:
    """A proposal stays within the range a quoted service advertises (400 naming it)."""
    if not service.is_quoted:
        return
    low, high = service.price_micros, service.price_max_micros
    if price_micros < low or (high is not None and price_micros > high):
        advertised = money.format_usd(low) + (f" to {money.format_usd(high)}" if high else "")
        raise ApplicationError(
            f"the price must be within the service's advertised range: {advertised} USD",
            code="price_out_of_range",
        )


@transaction.atomic
def proposal_make(
    *, thread: Thread, provider: Participant, price_micros: int, message: str = ""
) -> Proposal:
    """The provider names a price (the agent pays it plus the platform fee); a new proposal
    supersedes the open one. Valid for 72 hours, like the thread from then on."""
    if thread.provider_id != provider.pk:
        raise forbidden("Only the thread's provider can propose a price")
    if price_micros <= 0:
        raise ApplicationError("price must be positive", code="invalid_price")
    thread = lock_thread(thread)
    proposal_range_check(thread.service, price_micros)
    if thread.status not in OPEN:
        raise InvalidThreadTransition(
            f"thread {thread.public_id} is {thread.status}: proposals are closed"
        )
    now = timezone.now()
    if lapsed(thread, now):  # not yet swept by the expiry task
        raise ThreadExpired(f"Thread {thread.public_id} has expired")
    Proposal.objects.filter(thread=thread, status=Proposal.Status.OPEN).update(
        status=Proposal.Status.SUPERSEDED, updated_at=now
    )
    try:
        proposal = Proposal.objects.create(
            thread=thread,
            price_micros=price_micros,
            fee_micros=money.platform_fee(price_micros),
            message=message,
            expires_at=now + PROPOSAL_TTL,
        )
    except IntegrityError:  # pragma: no cover - the thread lock serialises proposals
        raise Conflict("Another proposal was made at the same time", code="conflict") from None
    if thread.status == S.INQUIRY:
        move(thread, S.NEGOTIATING, actor=provider, note="price proposed")
    Thread.objects.filter(pk=thread.pk).update(expires_at=proposal.expires_at, updated_at=now)
    thread.expires_at = proposal.expires_at
    ThreadMessage.objects.create(
        thread=thread,
        sender=provider,
        kind=ThreadMessage.Kind.PROPOSAL,
        body=message,
        proposal=proposal,
    )
    reputation_feed.provider_answered(thread)  # counts once per thread
    return proposal


def lapsed(thread: Thread, now: datetime | None = None) -> bool:
    """Whether the thread has expired, or is an inquiry or proposal past its deadline that
    the expiry task has not swept yet."""
    if thread.status == S.EXPIRED:
        return True
    deadline = thread.expires_at
    return thread.status in OPEN and deadline is not None and deadline <= (now or timezone.now())


def proposal_to_accept(thread: Thread, now: datetime | None = None) -> Proposal:
    """The open, unexpired proposal of a thread, or the reason it cannot be accepted."""
    if lapsed(thread, now):
        raise ThreadExpired(f"Thread {thread.public_id} has expired")
    if thread.status != S.NEGOTIATING:
        raise InvalidThreadTransition(
            f"thread {thread.public_id} is {thread.status}: there is no proposal to accept"
        )
    proposal = open_proposal(thread)
    if proposal is None:  # pragma: no cover - negotiating always has one open
        raise InvalidThreadTransition(f"thread {thread.public_id} has no open proposal")
    return proposal


class ThreadExpired(ApplicationError):
    status_code = 410
    code = "thread_expired"


# --- expiry -----------------------------------------------------------------------------
def threads_expire_due(now: datetime | None = None) -> int:
    """Expire inquiries older than 7 days and proposals older than 72 hours; returns how
    many threads expired. Each in its own transaction; one accepted meanwhile is skipped."""
    now = now or timezone.now()
    due = Thread.objects.filter(status__in=OPEN, expires_at__lte=now).values_list("pk", flat=True)
    expired = 0
    for pk in list(due):
        with transaction.atomic():
            thread = lock_thread(Thread(pk=pk))
            if thread.status != S.EXPIRED and lapsed(thread, now):
                move(thread, S.EXPIRED, actor=None, note="expired")
                expired += 1
    return expired
