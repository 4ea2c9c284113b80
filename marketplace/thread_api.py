"""The threads API: negotiate, pay, follow the work, verify or dispute, in one conversation.

Reads and messages take an API key (free) or a $0.001 x402 payment from a party's wallet
("payment is authentication"). Views check that the caller is on the thread before reading
any input, then call one service (`marketplace.threads`, `marketplace.commerce`,
`marketplace.jobs`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import commerce, threads
from marketplace.job_api import (
    PAID_RESPONSES,
    READ_PRICE,
    JobDisputeInput,
    JobDisputeView,
    JobUpdateInput,
    api_key_caller,
    iso,
    same_wallet,
    validated,
)
from marketplace.jobs import (
    job_dispute,
    job_update,
    job_verify,
)
from marketplace.models import Job, Proposal, Thread, ThreadMessage
from marketplace.services import parse_price
from payments.gate import Paid, PaidView, Price
from payments.ledger import PLATFORM_FEES
from payments.serializers import HistoryQuery
from the402.lib.bodylimit import MULTIPART_OVERHEAD
from the402.lib.errors import ApplicationError, Conflict, NotFound
from the402.lib.ids import is_public_id
from the402.lib.money import usd_decimal
from the402.lib.ratelimit import rate_limit

THREAD_AUTH = "X-API-Key (buyer or provider), or $0.001 x402 from a party's wallet"


# --- output -----------------------------------------------------------------------------
def proposal_out(proposal: Proposal | None) -> dict[str, Any] | None:
    if proposal is None:
        return None
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


def _role(thread: Thread, participant_id: int | None) -> str:
    if participant_id is None:
        return "system"
    return thread.party(participant_id) or "system"


def message_out(thread: Thread, message: ThreadMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": message.public_id,
        "kind": message.kind,
        "sender": _role(thread, message.sender_id),
        "message": message.body,
        "created_at": iso(message.created_at),
    }
    if message.kind == ThreadMessage.Kind.CREDENTIAL:
        # Only the two parties ever reach this serializer.
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


LIVE_PROPOSALS = (Proposal.Status.OPEN, Proposal.Status.ACCEPTED)


def _live_proposal(thread: Thread) -> Proposal | None:
    """The open proposal, else the accepted one (prefetched as `live_proposals` in lists)."""
    live = getattr(thread, "live_proposals", None)
    if live is None:
        live = list(thread.proposals.filter(status__in=LIVE_PROPOSALS))
    by_status = {p.status: p for p in live}
    return by_status.get(Proposal.Status.OPEN) or by_status.get(Proposal.Status.ACCEPTED)


def thread_summary(thread: Thread) -> dict[str, Any]:
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
        "proposal": proposal_out(_live_proposal(thread)),
        "job_id": job.public_id if job else None,
        "job_status": job.status if job else None,
        "message_count": count if count is not None else thread.messages.count(),
        "expires_at": iso(thread.expires_at),
        "created_at": iso(thread.created_at),
        "updated_at": iso(thread.updated_at),
    }


def redacted(data: Any) -> Any:
    """A copy of a response body with every credential's text removed: what may be stored
    (an Idempotency-Key replay) where a credential must never rest in clear."""
    if isinstance(data, list):
        return [redacted(item) for item in data]
    if not isinstance(data, dict):
        return data
    copy = {key: redacted(value) for key, value in data.items()}
    if copy.get("credential") is not None:
        copy["credential"], copy["redacted"] = None, True
    return copy


def party_response(data: Any, status: int = 200) -> Response:
    """A response that may show a credential to a party: never stored with it."""
    response = Response(data, status=status)
    response.replay_data = redacted(data)  # type: ignore[attr-defined]
    return response


def thread_detail(thread: Thread) -> dict[str, Any]:
    messages = thread.messages.select_related("proposal").order_by("created_at", "id")
    return {
        **thread_summary(thread),
        "messages": [message_out(thread, m) for m in messages],
        "proposals": [proposal_out(p) for p in thread.proposals.order_by("created_at", "id")],
        "status_history": [
            {
                "from": t.from_status or None,
                "to": t.to_status,
                "note": t.note,
                "at": iso(t.created_at),
            }
            for t in thread.transitions.order_by("created_at", "id")
        ],
    }


# --- input ------------------------------------------------------------------------------
class ThreadListQuery(HistoryQuery):
    status = serializers.ChoiceField(choices=Thread.Status.values, required=False)


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


class ThreadOutput(serializers.Serializer):
    thread_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Thread.Status.values)
    service_id = serializers.CharField()
    proposal = serializers.JSONField(allow_null=True)
    job_id = serializers.CharField(allow_null=True)
    messages = serializers.ListField(child=serializers.JSONField(), required=False)
    status_history = serializers.ListField(child=serializers.JSONField(), required=False)


class PurchaseOutput(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.CharField()
    thread_id = serializers.CharField()
    status_url = serializers.CharField()
    result = serializers.JSONField(required=False, help_text="Data APIs: the provider's answer")


def pays_from_balance(request: Request) -> bool:
    """Whether the gate charges this request to a prepaid balance: it does whenever the
    header is there, on views that take no plain API key (purchases, accepts)."""
    return "X-BALANCE-AUTH" in request.headers


def purchase_out(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.public_id,
        "status": job.status,
        "thread_id": job.thread.public_id if job.thread else None,
        "status_url": f"/v1/jobs/{job.public_id}",
    }


# --- access -----------------------------------------------------------------------------
def _threads() -> Any:
    return Thread.objects.select_related("service", "buyer", "provider")


def thread_get(thread_id: str) -> Thread:
    found = (
        _threads().filter(public_id=thread_id).first() if is_public_id(thread_id, "thr") else None
    )
    if found is None:
        raise NotFound(f"Thread {thread_id} not found", code="thread_not_found")
    return found


def _party_wallet(thread: Thread, payer: str | None, *, roles: tuple[str, ...]) -> None:
    wallets = {"buyer": thread.buyer.wallet, "provider": thread.provider.wallet}
    if not any(same_wallet(payer, wallets[role]) for role in roles):
        who = " or ".join(f"the thread's {role}" for role in roles)
        raise threads.forbidden(f"Only {who} can do this")


def _job_of(thread: Thread) -> Job:
    job = (
        Job.objects.select_related("service", "buyer", "provider", "escrow", "thread")
        .filter(thread=thread)
        .first()
    )
    if job is None:
        raise Conflict(
            f"thread {thread.public_id} is {thread.status}: it has no job yet", code="no_job"
        )
    return job


class ThreadPaidView(PaidView):
    """A thread action for its parties: free with an API key, else $0.001 by x402."""

    accepts_api_key = True
    endpoint_price = "$0.001"
    endpoint_auth = THREAD_AUTH
    roles: tuple[str, ...] = ("buyer", "provider")
    description = "Thread access"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, self.description, PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        thread = thread_get(kwargs["thread_id"])
        _party_wallet(thread, payer, roles=self.roles)
        return thread


# --- views ------------------------------------------------------------------------------
class ThreadListView(PaidView):
    """The caller's threads, as buyer or provider."""

    accepts_api_key = True
    endpoint_price = "$0.001"
    endpoint_auth = "X-API-Key, or $0.001 x402 (the paying wallet's threads)"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "List threads", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        return validated(ThreadListQuery, request.query_params)

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        caller = paid.participant
        found = (
            _threads()
            .filter(Q(buyer=caller) | Q(provider=caller))
            .select_related("job")
            .annotate(message_count=Count("messages"))
            .prefetch_related(
                Prefetch(
                    "proposals",
                    queryset=Proposal.objects.filter(status__in=LIVE_PROPOSALS),
                    to_attr="live_proposals",
                )
            )
        )
        if "status" in data:
            found = found.filter(status=data["status"])
        limit, offset = data["limit"], data["offset"]
        return Response(
            {
                "threads": [thread_summary(t) for t in found[offset : offset + limit]],
                "total": found.count(),
                "limit": limit,
                "offset": offset,
            }
        )

    @extend_schema(
        operation_id="thread_list",
        summary="List your threads",
        parameters=[ThreadListQuery],
        responses={
            200: OpenApiResponse(description="{threads, total, limit, offset}"),
            **PAID_RESPONSES,
        },
        tags=["threads"],
    )
    def get(self, request: Request) -> Response:
        return self.gate(request)


class ThreadDetailView(ThreadPaidView):
    """A thread with its messages, proposals and status history. The buyer's read records
    the open proposal it was shown: a balance accept without `proposal_id` pays only that."""

    description = "Read a thread"

    def perform(self, request: Request, paid: Paid, data: Thread, **kwargs: Any) -> Response:
        shown = _live_proposal(data)
        detail = thread_detail(data)
        threads.proposal_seen(data, shown, reader=paid.participant)
        return party_response(detail)

    @extend_schema(
        operation_id="thread_get",
        summary="Get a thread",
        request=None,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def get(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)


class ThreadMessageView(ThreadPaidView):
    """Write to a thread: text, a credential (encrypted at rest, erased when the thread is
    done) or a file of up to 25 MB (multipart, field `file`)."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]
    # A larger body is refused (413) before it is read or spooled.
    max_body_bytes = threads.ATTACHMENT_MAX_BYTES + MULTIPART_OVERHEAD
    description = "Post a thread message"
    check_balance_first = True  # an attachment is stored before the charge

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        thread = super().validate(request, payer, **kwargs)
        if payer is not None and request.headers.get("X-API-Key") is not None:
            rate_limit("thread_message", payer)  # free with a key: limited per caller
        return {"thread": thread, **validated(MessageInput, request.data)}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        message = threads.message_post(
            thread=data["thread"],
            sender=paid.participant,
            kind=data["type"],
            text=data["message"],
            upload=data.get("file"),
        )
        return party_response(message_out(data["thread"], message), status=201)

    @extend_schema(
        operation_id="thread_message",
        summary="Send a message",
        request=MessageInput,
        responses={201: OpenApiResponse(description="The message"), **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)


class ThreadAttachmentView(ThreadPaidView):
    """Download a file sent in a thread (its parties only)."""

    description = "Download a thread attachment"

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        thread = super().validate(request, payer, **kwargs)
        message = threads.message_for(thread, kwargs["message_id"])
        if not message.attachment:
            raise NotFound("This message has no attachment", code="attachment_not_found")
        return message

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Any:
        return FileResponse(
            data.attachment.open("rb"),
            as_attachment=True,
            filename=data.attachment_name,
            content_type=data.attachment_type,
        )

    @extend_schema(
        operation_id="thread_attachment",
        summary="Download an attachment",
        request=None,
        responses={200: OpenApiResponse(description="The file"), **PAID_RESPONSES},
        tags=["threads"],
    )
    def get(self, request: Request, thread_id: str, message_id: str) -> Any:
        return self.gate(request, thread_id=thread_id, message_id=message_id)


class ThreadProposeView(APIView):
    """The provider names a price; the agent sees it with the fee and its total."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (the thread's provider)"

    @extend_schema(
        operation_id="thread_propose",
        summary="Propose a price (provider)",
        request=ProposeInput,
        responses={201: OpenApiResponse(description="The proposal"), **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        caller = api_key_caller(request)
        thread = thread_get(thread_id)
        if thread.provider_id != caller.pk:
            raise threads.forbidden("Only the thread's provider can propose a price")
        data = validated(ProposeInput, request.data)
        price, price_max = parse_price(data["price"])
        if price_max is not None:
            raise ApplicationError("a proposal is one price, not a range", code="invalid_price")
        proposal = threads.proposal_make(
            thread=thread, provider=caller, price_micros=price, message=data["message"]
        )
        return Response(proposal_out(proposal), status=201)


class AcceptInput(serializers.Serializer):
    proposal_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="The proposal you agree to pay (from the thread). Without it, a balance "
        "accept pays the open proposal only if you read it (GET the thread or the quote) "
        "or it is over 10 minutes old; otherwise 409 proposal_changed with its terms.",
    )


class AcceptView(PaidView):
    """Accept the open proposal: pay its agent total (into escrow), creating the job. The
    buyer is charged only a proposal it agreed to (`commerce.proposal_agreed`)."""

    endpoint_price = "the proposal's agent total"
    endpoint_auth = "x402, or balance except for human services (the thread's buyer)"

    def thread(self, **kwargs: Any) -> Thread:
        return thread_get(kwargs["thread_id"])

    def price(self, request: Request, **kwargs: Any) -> Price:
        thread = self.thread(**kwargs)
        return commerce.proposal_price(thread, threads.proposal_to_accept(thread))

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        thread = self.thread(**kwargs)
        body = request.data if request.data not in (None, "") else {}
        proposal = commerce.accept_validate(
            thread,
            payer,
            proposal_id=validated(AcceptInput, body).get("proposal_id"),
            by_balance=pays_from_balance(request),
        )
        return {"thread": thread, "proposal": proposal}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        job = commerce.accept_perform(data["thread"], data["proposal"], paid)
        return Response(purchase_out(job), status=201)

    @extend_schema(
        operation_id="thread_accept",
        summary="Accept the proposal and pay",
        request=AcceptInput,
        responses={
            201: PurchaseOutput,
            **PAID_RESPONSES,
            409: OpenApiResponse(description="proposal_changed: the open proposal's terms"),
        },
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)


class ThreadUpdateView(APIView):
    """The provider reports progress on the thread's job (as `POST /v1/jobs/:id/update`)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (the thread's provider)"

    @extend_schema(
        operation_id="thread_update",
        summary="Update the thread's job (provider)",
        request=JobUpdateInput,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        caller = api_key_caller(request)
        thread = thread_get(thread_id)
        if thread.provider_id != caller.pk:
            raise threads.forbidden("Only the thread's provider can update it")
        data = validated(JobUpdateInput, request.data)
        job_update(job=_job_of(thread), provider=caller, **data)
        return Response(thread_detail(thread_get(thread_id)))


class ThreadVerifyView(ThreadPaidView):
    """The buyer accepts the delivery: the escrow is released to the provider."""

    roles = ("buyer",)
    description = "Verify a delivery"
    endpoint_auth = "X-API-Key (the thread's buyer), or $0.001 x402 from the buyer's wallet"

    def perform(self, request: Request, paid: Paid, data: Thread, **kwargs: Any) -> Response:
        job_verify(job=_job_of(data), buyer=paid.participant)
        return party_response(thread_detail(thread_get(data.public_id)))

    @extend_schema(
        operation_id="thread_verify",
        summary="Verify the delivery (buyer)",
        request=None,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)


class ThreadDisputeView(JobDisputeView):
    """The buyer disputes the thread's job ($0.005); the reason is posted to the thread."""

    endpoint_auth = "x402 or balance (the thread's buyer)"

    def disputed_job(self, payer: str | None, **kwargs: Any) -> Job:
        thread = thread_get(kwargs["thread_id"])
        _party_wallet(thread, payer, roles=("buyer",))
        return _job_of(thread)

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        job = job_dispute(job=data["job"], buyer=paid.participant, reason=data["reason"])
        return party_response(thread_detail(thread_get(job.thread.public_id)))

    @extend_schema(
        operation_id="thread_dispute",
        summary="Dispute the delivery (buyer)",
        request=JobDisputeInput,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)


class ThreadDeclineView(ThreadPaidView):
    """Either party ends the thread; what was paid goes back if the work had not started."""

    description = "Decline a thread"

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        thread = super().validate(request, payer, **kwargs)
        return {"thread": thread, **validated(DeclineInput, request.data)}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        thread = commerce.thread_decline(
            thread=data["thread"], participant=paid.participant, reason=data["reason"]
        )
        return party_response(thread_detail(thread))

    @extend_schema(
        operation_id="thread_decline",
        summary="Decline the thread (either party)",
        request=DeclineInput,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)
