"""The threads API: negotiate, pay, follow the work, verify or dispute, in one conversation.

Reads and messages take an API key (free) or a $0.001 x402 payment from a party's wallet
("payment is authentication"). Views check that the caller is on the thread before reading
any input, then call one service (`threads`, `agreements`, `jobs`); the job actions are
shared with the jobs API (`marketplace.deals.access`).
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.catalog.services import parse_price
from marketplace.deals import agreements, threads
from marketplace.deals.access import (
    PAID_RESPONSES,
    READ_PRICE,
    AcceptBase,
    ByThreadId,
    JobDisputeAction,
    JobUpdateAction,
    JobVerifyAction,
    ThreadPaidView,
    has_api_key,
    party_response,
)
from marketplace.deals.models import Thread
from marketplace.deals.selectors import live_proposal, message_of, thread_get, threads_of
from marketplace.deals.serializers import (
    AcceptInput,
    DeclineInput,
    JobDisputeInput,
    JobUpdateInput,
    JobVerifyInput,
    MessageInput,
    ProposalOutput,
    ProposeInput,
    PurchaseOutput,
    ThreadListOutput,
    ThreadListQuery,
    ThreadOutput,
    ThreadSummaryOutput,
    message_out,
    proposal_out,
    thread_detail,
)
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from the402.lib.api import paged, validated
from the402.lib.bodylimit import MULTIPART_OVERHEAD
from the402.lib.errors import ApplicationError, NotFound
from the402.lib.ratelimit import rate_limit


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
        found = threads_of(paid.participant, status=data.get("status"))
        limit, offset = data["limit"], data["offset"]
        page = ThreadSummaryOutput(found[offset : offset + limit], many=True).data
        return Response(paged("threads", page, total=found.count(), limit=limit, offset=offset))

    @extend_schema(
        operation_id="thread_list",
        summary="List your threads",
        parameters=[ThreadListQuery],
        responses={200: ThreadListOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def get(self, request: Request) -> Response:
        return self.gate(request)


class ThreadDetailView(ThreadPaidView):
    """A thread with its messages, proposals and status history. The buyer's read records
    the open proposal it was shown: a balance accept without `proposal_id` pays only that."""

    description = "Read a thread"

    def perform(self, request: Request, paid: Paid, data: Thread, **kwargs: Any) -> Response:
        shown = live_proposal(data)
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
        if payer is not None and has_api_key(request):
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
        message = message_of(thread, kwargs["message_id"])
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
        responses={201: ProposalOutput, **PAID_RESPONSES},
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


class AcceptView(AcceptBase):
    """Accept the open proposal: pay its agent total (into escrow), creating the job. The
    buyer is charged only a proposal it agreed to (`agreements.proposal_agreed`)."""

    def thread(self, **kwargs: Any) -> Thread:
        return thread_get(kwargs["thread_id"])

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


@extend_schema_view(
    post=extend_schema(
        operation_id="thread_update",
        summary="Update the thread's job (provider)",
        request=JobUpdateInput,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
)
class ThreadUpdateView(ByThreadId, JobUpdateAction):
    """The provider reports progress on the thread's job (as `POST /v1/jobs/:id/update`)."""

    endpoint_auth = "X-API-Key (the thread's provider)"


class ThreadVerifyView(ByThreadId, JobVerifyAction):
    """The buyer accepts the delivery: the escrow is released to the provider."""

    endpoint_auth = "X-API-Key (the thread's buyer), or $0.001 x402 from the buyer's wallet"

    @extend_schema(
        operation_id="thread_verify",
        summary="Verify the delivery (buyer)",
        request=JobVerifyInput,
        responses={200: ThreadOutput, **PAID_RESPONSES},
        tags=["threads"],
    )
    def post(self, request: Request, thread_id: str) -> Response:
        return self.gate(request, thread_id=thread_id)


class ThreadDisputeView(ByThreadId, JobDisputeAction):
    """The buyer disputes the thread's job ($0.005); the reason is posted to the thread."""

    endpoint_auth = "x402 or balance (the thread's buyer)"

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
        thread = agreements.thread_decline(
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
