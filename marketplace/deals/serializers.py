"""API shapes of the deals: the input each endpoint takes, and the output serializers that
are its responses (so `/openapi.json` describes what is sent). Serializers shape data;
they never decide anything.

Output serializers build their dict in `to_representation` (one pass, no per-field DRF
walk); their declared fields are the documented shape and list the same keys.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from marketplace.deals import threads
from marketplace.deals.jobs import PROVIDER_STATUSES, REASON_MAX
from marketplace.deals.models import Job, Proposal, Thread, ThreadMessage
from marketplace.deals.selectors import live_proposal, thread_history
from payments.serializers import HistoryQuery
from the402.lib.api import iso
from the402.lib.money import usd_decimal


# --- input ------------------------------------------------------------------------------
class ThreadListQuery(HistoryQuery):
    status = serializers.ChoiceField(choices=Thread.Status.values, required=False)


class JobListQuery(HistoryQuery):
    status = serializers.ChoiceField(choices=Job.Status.values, required=False)


class MessageInput(serializers.Serializer):
    message = serializers.CharField(
        max_length=threads.MESSAGE_MAX, required=False, allow_blank=True, default=""
    )
    type = serializers.ChoiceField(
        choices=["text", "credential", "attachment"], required=False, default=None
    )
    file = serializers.FileField(required=False, allow_empty_file=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type") or ("attachment" if attrs.get("file") else "text")
        if kind == "attachment" and not attrs.get("file"):
            raise serializers.ValidationError({"file": "an attachment message needs a file"})
        if kind != "attachment" and attrs.get("file"):
            raise serializers.ValidationError({"type": "a file goes with type attachment"})
        if kind in ("text", "credential") and not attrs.get("message"):
            raise serializers.ValidationError({"message": "This field is required."})
        attrs["type"] = kind
        return attrs


class ProposeInput(serializers.Serializer):
    price = serializers.JSONField(help_text='"25.50" or "$25.50"')
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class DeclineInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AcceptInput(serializers.Serializer):
    proposal_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="The proposal you agree to pay (from the thread). Without it, a balance "
        "accept pays the open proposal only if you read it (GET the thread or the quote) "
        "or it is over 10 minutes old; otherwise 409 proposal_changed with its terms.",
    )


class InquireInput(serializers.Serializer):
    message = serializers.CharField(
        max_length=threads.MESSAGE_MAX, required=False, allow_blank=True, default=""
    )
    brief = serializers.JSONField(required=False, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["message"] and attrs["brief"] in (None, "", {}):
            raise serializers.ValidationError("send a message, a brief, or both")
        return attrs


class JobUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(PROVIDER_STATUSES))
    deliverables = serializers.JSONField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class JobDisputeInput(serializers.Serializer):
    reason = serializers.CharField(help_text=f"10 to {REASON_MAX} characters")


class JobVerifyInput(serializers.Serializer):
    """Optional: the buyer's rating of the delivery and a note, for reputation (checked by
    `reputation_feed.rating_check`: 400 `invalid_rating`)."""

    rating = serializers.JSONField(
        required=False, default=None, help_text="An integer from 1 (worst) to 5 (best)"
    )
    feedback = serializers.JSONField(
        required=False,
        default="",  # type: ignore[arg-type]  # stubs allow only a mapping; any JSON is valid
        help_text="Free text, at most 2,000 characters",
    )


# --- output: threads --------------------------------------------------------------------
class ProposalOutput(serializers.Serializer):
    proposal_id = serializers.CharField()
    status = serializers.CharField()
    quoted_price_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, coerce_to_string=False
    )
    platform_fee_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, coerce_to_string=False
    )
    agent_total_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, coerce_to_string=False
    )
    message = serializers.CharField()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()

    def to_representation(self, proposal: Proposal) -> dict[str, Any]:
        return {
            "proposal_id": proposal.public_id,
            "status": proposal.status,
            "quoted_price_usd": usd_decimal(proposal.price_micros),
            "platform_fee_usd": usd_decimal(proposal.fee_micros),
            "agent_total_usd": usd_decimal(proposal.total_micros),
            "message": proposal.message,
            "expires_at": iso(proposal.expires_at),
            "created_at": iso(proposal.created_at),
        }


def proposal_out(proposal: Proposal | None) -> dict[str, Any] | None:
    return None if proposal is None else ProposalOutput(proposal).data


def _role(thread: Thread, participant_id: int | None) -> str:
    if participant_id is None:
        return "system"
    return thread.party(participant_id) or "system"


class AttachmentOutput(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    url = serializers.CharField()


class MessageOutput(serializers.Serializer):
    """One message; a credential's text is shown (only the two parties reach this)."""

    message_id = serializers.CharField()
    kind = serializers.ChoiceField(choices=ThreadMessage.Kind.values)
    sender = serializers.ChoiceField(choices=["buyer", "provider", "system"])
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
    credential = serializers.CharField(required=False, allow_null=True)
    redacted = serializers.BooleanField(required=False)
    attachment = AttachmentOutput(required=False)
    proposal_id = serializers.CharField(required=False, allow_null=True)

    def to_representation(self, message: ThreadMessage) -> dict[str, Any]:
        thread: Thread = self.context["thread"]
        out: dict[str, Any] = {
            "message_id": message.public_id,
            "kind": message.kind,
            "sender": _role(thread, message.sender_id),
            "message": message.body,
            "created_at": iso(message.created_at),
        }
        if message.kind == ThreadMessage.Kind.CREDENTIAL:
            out["credential"] = threads.credential_text(message)
            out["redacted"] = message.secret is None
        if message.kind == ThreadMessage.Kind.ATTACHMENT:
            out["attachment"] = {
                "name": message.attachment_name,
                "size": message.attachment_size,
                "content_type": message.attachment_type,
                "url": f"/v1/threads/{thread.public_id}/messages/{message.public_id}/attachment",
            }
        if message.proposal_id is not None:
            out["proposal_id"] = message.proposal.public_id if message.proposal else None
        return out


def message_out(thread: Thread, message: ThreadMessage) -> dict[str, Any]:
    return MessageOutput(message, context={"thread": thread}).data


class ThreadSummaryOutput(serializers.Serializer):
    thread_id = serializers.CharField()
    status = serializers.CharField(help_text=", ".join(Thread.Status.values))
    service_id = serializers.CharField()
    service_name = serializers.CharField()
    buyer_id = serializers.CharField()
    buyer_wallet = serializers.CharField()
    provider_id = serializers.CharField()
    provider_wallet = serializers.CharField()
    quote_id = serializers.CharField(allow_null=True)
    brief = serializers.JSONField(allow_null=True)
    proposal = ProposalOutput(allow_null=True)
    job_id = serializers.CharField(allow_null=True)
    job_status = serializers.CharField(allow_null=True)
    message_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, thread: Thread) -> dict[str, Any]:
        job = getattr(thread, "job", None)  # the reverse one-to-one: None before acceptance
        count = getattr(thread, "message_count", None)
        return {
            "thread_id": thread.public_id,
            "status": thread.status,
            "service_id": thread.service.public_id,
            "service_name": thread.service.name,
            "buyer_id": thread.buyer.public_id,
            "buyer_wallet": thread.buyer.wallet,
            "provider_id": thread.provider.public_id,
            "provider_wallet": thread.provider.wallet,
            "quote_id": thread.quote_id,
            "brief": thread.brief,
            "proposal": proposal_out(live_proposal(thread)),
            "job_id": job.public_id if job else None,
            "job_status": job.status if job else None,
            "message_count": count if count is not None else thread.messages.count(),
            "expires_at": iso(thread.expires_at),
            "created_at": iso(thread.created_at),
            "updated_at": iso(thread.updated_at),
        }


class StatusChangeOutput(serializers.Serializer):
    to = serializers.CharField()
    note = serializers.CharField()
    at = serializers.DateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_null=True)  # a keyword in Python
        return fields


class ThreadOutput(ThreadSummaryOutput):
    """A thread with its messages, proposals and status history."""

    messages = MessageOutput(many=True)
    proposals = ProposalOutput(many=True)
    status_history = StatusChangeOutput(many=True)

    def to_representation(self, thread: Thread) -> dict[str, Any]:
        history = thread_history(thread)
        return {
            **super().to_representation(thread),
            "messages": [message_out(thread, m) for m in history.messages],
            "proposals": [proposal_out(p) for p in history.proposals],
            "status_history": [
                {
                    "from": t.from_status or None,
                    "to": t.to_status,
                    "note": t.note,
                    "at": iso(t.created_at),
                }
                for t in history.transitions
            ],
        }


def thread_summary(thread: Thread) -> dict[str, Any]:
    return ThreadSummaryOutput(thread).data


def thread_detail(thread: Thread) -> dict[str, Any]:
    return ThreadOutput(thread).data


class ThreadListOutput(serializers.Serializer):
    threads = ThreadSummaryOutput(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class InquiryOutput(serializers.Serializer):
    thread_id = serializers.CharField()
    status = serializers.CharField(help_text=", ".join(Thread.Status.values))
    service_id = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, thread: Thread) -> dict[str, Any]:
        return {
            "thread_id": thread.public_id,
            "status": thread.status,
            "service_id": thread.service.public_id,
            "expires_at": iso(thread.expires_at),
        }


# --- output: jobs and purchases ---------------------------------------------------------
class JobOutput(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.CharField()
    service_id = serializers.CharField()
    thread_id = serializers.CharField(allow_null=True)
    buyer_id = serializers.CharField()
    provider_id = serializers.CharField()
    escrow_id = serializers.CharField(allow_null=True)
    brief = serializers.JSONField()
    deliverables = serializers.JSONField(allow_null=True)
    notes = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    dispute_reason = serializers.CharField()
    resolution = serializers.CharField(help_text="release, refund or split, once resolved")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, job: Job) -> dict[str, Any]:
        return {
            "job_id": job.public_id,
            "status": job.status,
            "service_id": job.service.public_id,
            "thread_id": job.thread.public_id if job.thread is not None else None,
            "buyer_id": job.buyer.public_id,
            "provider_id": job.provider.public_id,
            "escrow_id": job.escrow.public_id if job.escrow is not None else None,
            "brief": job.brief,
            "deliverables": job.deliverables,
            "notes": job.notes,
            "deadline": iso(job.deadline),
            "completed_at": iso(job.completed_at),
            "verified_at": iso(job.verified_at),
            "dispute_reason": job.dispute_reason,
            "resolution": job.resolution,
            "created_at": iso(job.created_at),
            "updated_at": iso(job.updated_at),
        }


def job_out(job: Job) -> dict[str, Any]:
    return JobOutput(job).data


class JobListOutput(serializers.Serializer):
    jobs = JobOutput(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class PurchaseOutput(serializers.Serializer):
    """A paid purchase or accepted proposal: the job created, and where to follow it."""

    job_id = serializers.CharField()
    status = serializers.CharField()
    thread_id = serializers.CharField(allow_null=True)
    status_url = serializers.CharField()
    result = serializers.JSONField(required=False, help_text="Data APIs: the provider's answer")

    def to_representation(self, job: Job) -> dict[str, Any]:
        out: dict[str, Any] = {
            "job_id": job.public_id,
            "status": job.status,
            "thread_id": job.thread.public_id if job.thread else None,
            "status_url": f"/v1/jobs/{job.public_id}",
        }
        if "result" in self.context:
            out["result"] = self.context["result"]
        return out


def purchase_out(job: Job, **context: Any) -> dict[str, Any]:
    return PurchaseOutput(job, context=context).data


# --- output: legacy quotes --------------------------------------------------------------
QUOTE_STATUS: dict[str, str] = {
    Thread.Status.INQUIRY: "pending",
    Thread.Status.NEGOTIATING: "quoted",
    Thread.Status.CANCELLED: "declined",
}


class QuoteOutput(serializers.Serializer):
    """A legacy quote: its thread's proposal (context `proposal`) as a quote."""

    quote_id = serializers.CharField()
    status = serializers.CharField(help_text="pending, quoted, declined or accepted")
    service_id = serializers.CharField()
    thread_id = serializers.CharField()
    quoted_price_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    platform_fee_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    agent_total_usd = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True, coerce_to_string=False
    )
    provider_notes = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    job_id = serializers.CharField(allow_null=True)

    def to_representation(self, thread: Thread) -> dict[str, Any]:
        proposal: Proposal | None = self.context.get("proposal")
        job = getattr(thread, "job", None)
        return {
            "quote_id": thread.quote_id,
            "status": QUOTE_STATUS.get(thread.status, "accepted"),
            "service_id": thread.service.public_id,
            "thread_id": thread.public_id,
            "quoted_price_usd": usd_decimal(proposal.price_micros) if proposal else None,
            "platform_fee_usd": usd_decimal(proposal.fee_micros) if proposal else None,
            "agent_total_usd": usd_decimal(proposal.total_micros) if proposal else None,
            "provider_notes": proposal.message if proposal else "",
            "expires_at": iso(thread.expires_at),
            "job_id": job.public_id if job is not None else None,
        }
