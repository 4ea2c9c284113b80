"""What the deals' API modules share: who may act on a thread or job, the prices of reads
and disputes, the answer that may show a credential, and the job actions.

The job actions (`update`, `verify`, `dispute`) are reachable by the job's id
(`/v1/jobs/:id/...`) and by its thread's (`/v1/threads/:id/...`): each is implemented once
here (`JobUpdateAction`, `JobVerifyAction`, `JobDisputeAction`); a `JobLocator` says how the
URL names the job and what the answer shows.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.deals import agreements, reputation_feed, threads
from marketplace.deals.jobs import (
    DISPUTABLE,
    InvalidJobTransition,
    check_dispute_reason,
    job_dispute,
    job_update,
    job_verify,
)
from marketplace.deals.models import Job, Thread
from marketplace.deals.selectors import job_get, job_of_thread, thread_get
from marketplace.deals.serializers import (
    AcceptInput,
    JobDisputeInput,
    JobUpdateInput,
    JobVerifyInput,
    job_out,
    purchase_out,
    thread_detail,
)
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from the402.lib.api import API_KEY_HEADER, ERROR_RESPONSES, ErrorSerializer, validated

READ_PRICE = 1_000  # $0.001
DISPUTE_PRICE = 5_000  # $0.005
THREAD_AUTH = "X-API-Key (buyer or provider), or $0.001 x402 from a party's wallet"

KEY_RESPONSES = {
    **ERROR_RESPONSES,
    401: OpenApiResponse(ErrorSerializer, description="Missing or invalid X-API-Key"),
    403: OpenApiResponse(ErrorSerializer, description="Not your job"),
    404: OpenApiResponse(ErrorSerializer, description="Unknown job id"),
    409: OpenApiResponse(ErrorSerializer, description="The job cannot make this move now"),
}
PAID_RESPONSES = {
    **KEY_RESPONSES,
    402: OpenApiResponse(description="Payment required: x402 requirements (v1 body, v2 header)"),
}


# --- who may act ------------------------------------------------------------------------
def same_wallet(a: str | None, b: str) -> bool:
    return a is not None and a.lower() == b.lower()


def require_party(thread: Thread, payer: str | None, *, roles: tuple[str, ...]) -> None:
    """403 unless the paying wallet is the thread's party in one of `roles`."""
    wallets = {"buyer": thread.buyer.wallet, "provider": thread.provider.wallet}
    if not any(same_wallet(payer, wallets[role]) for role in roles):
        who = " or ".join(f"the thread's {role}" for role in roles)
        raise threads.forbidden(f"Only {who} can do this")


def pays_from_balance(request: Request) -> bool:
    """Whether the gate charges this request to a prepaid balance: it does whenever the
    header is there, on views that take no plain API key (purchases, accepts)."""
    return "X-BALANCE-AUTH" in request.headers


# --- answers that may hold a credential -------------------------------------------------
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


class TextBriefParser(BaseParser):
    """`text/plain` bodies (what `fetch` sends for a string body with no content type): JSON
    if they parse as JSON, else the text itself, a plain string brief."""

    media_type = "text/plain"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        text = stream.read().decode("utf-8", errors="replace") if stream is not None else ""
        try:
            return json.loads(text)
        except ValueError:
            return text


# --- thread access ----------------------------------------------------------------------
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
        require_party(thread, payer, roles=self.roles)
        return thread


# --- the job actions, once --------------------------------------------------------------
class JobLocator:
    """How a URL names a job (its own id, or its thread's) and what the answer shows."""

    noun = "job"

    def subject(self, **kwargs: Any) -> Job | Thread:
        raise NotImplementedError

    def job_of(self, subject: Job | Thread) -> Job:
        raise NotImplementedError

    def require_buyer(self, subject: Job | Thread, payer: str | None, action: str) -> None:
        raise NotImplementedError

    def answer(self, job: Job) -> Response:
        raise NotImplementedError


class ByJobId(JobLocator):
    """`/v1/jobs/:job_id/...`: the answer is the job."""

    def subject(self, **kwargs: Any) -> Job:
        return job_get(kwargs["job_id"])

    def job_of(self, subject: Job | Thread) -> Job:
        assert isinstance(subject, Job)
        return subject

    def require_buyer(self, subject: Job | Thread, payer: str | None, action: str) -> None:
        if not same_wallet(payer, subject.buyer.wallet):
            raise threads.forbidden(f"Only the job's buyer can {action} it")

    def answer(self, job: Job) -> Response:
        return Response(job_out(job))


class ByThreadId(JobLocator):
    """`/v1/threads/:thread_id/...`: the thread's job (409 `no_job` before it is paid);
    the answer is the thread, read again."""

    noun = "thread"

    def subject(self, **kwargs: Any) -> Thread:
        return thread_get(kwargs["thread_id"])

    def job_of(self, subject: Job | Thread) -> Job:
        assert isinstance(subject, Thread)
        return job_of_thread(subject)

    def require_buyer(self, subject: Job | Thread, payer: str | None, action: str) -> None:
        assert isinstance(subject, Thread)
        require_party(subject, payer, roles=("buyer",))

    def answer(self, job: Job) -> Response:
        assert job.thread is not None
        return party_response(thread_detail(thread_get(job.thread.public_id)))


class JobUpdateAction(JobLocator, APIView):
    """The provider reports progress (X-API-Key): in_progress, completed (with
    deliverables) or failed."""

    endpoint_price = "free"

    def post(self, request: Request, **kwargs: Any) -> Response:
        caller = api_key_caller(request)
        subject = self.subject(**kwargs)
        if subject.provider_id != caller.pk:
            raise threads.forbidden(f"Only the {self.noun}'s provider can update it")
        data = validated(JobUpdateInput, request.data)
        return self.answer(job_update(job=self.job_of(subject), provider=caller, **data))


class JobVerifyAction(JobLocator, PaidView):
    """The buyer accepts the delivery: the escrow is released to the provider. Free with
    the buyer's API key, else $0.001 by x402 from the buyer's wallet (as the seeds'
    `the402Fetch` does); an optional `rating` (1 to 5) and `feedback` feed reputation."""

    accepts_api_key = True
    endpoint_price = "$0.001"

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Verify a delivery", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        subject = self.subject(**kwargs)
        self.require_buyer(subject, payer, "verify")
        body = request.data if request.data not in (None, "") else {}
        data = validated(JobVerifyInput, body)
        reputation_feed.rating_check(data["rating"], data["feedback"])
        return {"job": self.job_of(subject), **data}

    def perform(
        self, request: Request, paid: Paid, data: dict[str, Any], **kwargs: Any
    ) -> Response:
        job = job_verify(
            job=data["job"],
            buyer=paid.participant,
            rating=data["rating"],
            feedback=data["feedback"],
        )
        return self.answer(job)


class JobDisputeAction(JobLocator, PaidView):
    """The buyer disputes ($0.005, x402 or balance): the escrow stays held until an admin
    resolves it; the reason is posted to the thread."""

    endpoint_price = "$0.005"
    accepts_api_key = False

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(DISPUTE_PRICE, "Dispute a job", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        subject = self.subject(**kwargs)
        self.require_buyer(subject, payer, "dispute")
        job = self.job_of(subject)
        reason = check_dispute_reason(validated(JobDisputeInput, request.data)["reason"])
        if job.status not in DISPUTABLE:
            raise InvalidJobTransition(f"job {job.public_id} is {job.status}, cannot be disputed")
        return {"job": job, "reason": reason}

    def perform(
        self, request: Request, paid: Paid, data: dict[str, Any], **kwargs: Any
    ) -> Response:
        job = job_dispute(job=data["job"], buyer=paid.participant, reason=data["reason"])
        return self.answer(job)


def has_api_key(request: Request) -> bool:
    return request.headers.get(API_KEY_HEADER) is not None


# --- accepting a proposal (a thread's, or a legacy quote's) -----------------------------
class AcceptBase(PaidView):
    """Pay the open proposal's agent total (into escrow), creating the job; subclasses say
    how the URL names the thread (`thread`). The buyer is charged only a proposal it agreed
    to (`agreements.proposal_agreed`)."""

    endpoint_price = "the proposal's agent total"
    endpoint_auth = "x402, or balance except for human services (the thread's buyer)"

    def thread(self, **kwargs: Any) -> Thread:
        raise NotImplementedError

    def price(self, request: Request, **kwargs: Any) -> Price:
        thread = self.thread(**kwargs)
        return agreements.proposal_price(thread, threads.proposal_to_accept(thread))

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        thread = self.thread(**kwargs)
        body = request.data if request.data not in (None, "") else {}
        proposal = agreements.accept_validate(
            thread=thread,
            payer=payer,
            proposal_id=validated(AcceptInput, body).get("proposal_id"),
            by_balance=pays_from_balance(request),
        )
        return {"thread": thread, "proposal": proposal}

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        job = agreements.accept_perform(thread=data["thread"], proposal=data["proposal"], paid=paid)
        return Response(purchase_out(job), status=201)
