"""The jobs API: list and read jobs, the provider's updates, the buyer's verify and dispute.

Views authenticate, check that the caller is on the job (before reading the input, so a
stranger learns nothing), call one service and respond. The actions are shared with the
threads API (`marketplace.deals.access`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.deals.access import (
    KEY_RESPONSES,
    PAID_RESPONSES,
    READ_PRICE,
    ByJobId,
    JobDisputeAction,
    JobUpdateAction,
    JobVerifyAction,
    has_api_key,
    same_wallet,
)
from marketplace.deals.models import Job
from marketplace.deals.selectors import job_get, jobs_of
from marketplace.deals.serializers import (
    JobDisputeInput,
    JobListOutput,
    JobListQuery,
    JobOutput,
    JobUpdateInput,
    JobVerifyInput,
    job_out,
)
from marketplace.deals.threads import forbidden
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from the402.lib.api import paged, validated


class JobListView(APIView):
    """The caller's jobs, as buyer or provider."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="job_list",
        summary="List your jobs",
        parameters=[JobListQuery],
        responses={200: JobListOutput, **KEY_RESPONSES},
        tags=["jobs"],
    )
    def get(self, request: Request) -> Response:
        caller = api_key_caller(request)
        query = validated(JobListQuery, request.query_params)
        jobs = jobs_of(caller, status=query.get("status"))
        limit, offset = query["limit"], query["offset"]
        page = JobOutput(jobs[offset : offset + limit], many=True).data
        return Response(paged("jobs", page, total=jobs.count(), limit=limit, offset=offset))


class JobDetailView(PaidView):
    """A job's status and result: free with the buyer's or provider's API key, else $0.001
    paid by the buyer's wallet."""

    endpoint_price = "$0.001"
    endpoint_auth = "X-API-Key (buyer or provider), or x402 from the buyer's wallet"
    accepts_api_key = True

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Read a job", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Job:
        job = job_get(kwargs["job_id"])
        allowed = [job.buyer.wallet]
        if self.accepts_api_key and has_api_key(request):
            allowed.append(job.provider.wallet)
        if not any(same_wallet(payer, wallet) for wallet in allowed):
            raise forbidden("Only the job's buyer or provider can read it")
        return job

    def perform(self, request: Request, paid: Paid, data: Job, **kwargs: Any) -> Response:
        return Response(job_out(data))

    @extend_schema(
        operation_id="job_get",
        summary="Get a job",
        request=None,
        responses={200: JobOutput, **PAID_RESPONSES},
        tags=["jobs"],
    )
    def get(self, request: Request, job_id: str) -> Response:
        return self.gate(request, job_id=job_id)


@extend_schema_view(
    post=extend_schema(
        operation_id="job_update",
        summary="Update a job (provider)",
        request=JobUpdateInput,
        responses={200: JobOutput, **KEY_RESPONSES},
        tags=["jobs"],
    )
)
class JobUpdateView(ByJobId, JobUpdateAction):
    """The provider reports progress: in_progress, completed (with deliverables) or failed."""

    endpoint_auth = "X-API-Key (the job's provider)"


class JobVerifyView(ByJobId, JobVerifyAction):
    """The buyer accepts the delivery; the escrow is released to the provider."""

    endpoint_auth = "X-API-Key (the job's buyer), or $0.001 x402 from the buyer's wallet"

    @extend_schema(
        operation_id="job_verify",
        summary="Verify a job (buyer)",
        request=JobVerifyInput,
        responses={200: JobOutput, **PAID_RESPONSES},
        tags=["jobs"],
    )
    def post(self, request: Request, job_id: str) -> Response:
        return self.gate(request, job_id=job_id)


class JobDisputeView(ByJobId, JobDisputeAction):
    """The buyer disputes a job ($0.005): the escrow stays held until it is resolved."""

    endpoint_auth = "x402 or balance (the job's buyer)"

    @extend_schema(
        operation_id="job_dispute",
        summary="Dispute a job (buyer)",
        request=JobDisputeInput,
        responses={200: JobOutput, **PAID_RESPONSES},
        tags=["jobs"],
    )
    def post(self, request: Request, job_id: str) -> Response:
        return self.gate(request, job_id=job_id)
