"""The jobs API: list and read jobs, the provider's updates, the buyer's verify and dispute.

Views authenticate, check that the caller is on the job (before reading the input, so a
stranger learns nothing), call one service in `marketplace.jobs` and respond.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.jobs import (
    DISPUTABLE,
    PROVIDER_STATUSES,
    REASON_MAX,
    InvalidJobTransition,
    check_dispute_reason,
    forbidden,
    job_dispute,
    job_update,
    job_verify,
)
from marketplace.models import Job
from payments.gate import Paid, PaidView, Price, authenticated_participant
from payments.ledger import PLATFORM_FEES
from payments.models import Participant
from payments.serializers import HistoryQuery
from the402.lib.errors import NotFound
from the402.lib.ids import is_public_id
from the402.schema import ERROR_RESPONSES, ErrorSerializer

READ_PRICE = 1_000  # $0.001
DISPUTE_PRICE = 5_000  # $0.005

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


# --- input and output -------------------------------------------------------------------
class JobListQuery(HistoryQuery):
    status = serializers.ChoiceField(choices=Job.Status.values, required=False)


class JobUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=list(PROVIDER_STATUSES))
    deliverables = serializers.JSONField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class JobDisputeInput(serializers.Serializer):
    reason = serializers.CharField(help_text=f"10 to {REASON_MAX} characters")


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


class JobListOutput(serializers.Serializer):
    jobs = JobOutput(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


def iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def job_out(job: Job) -> dict[str, Any]:
    return JobOutput(job).data


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- access -----------------------------------------------------------------------------
def _jobs() -> Any:
    return Job.objects.select_related("service", "buyer", "provider", "escrow", "thread")


def _job(job_id: str) -> Job:
    job = _jobs().filter(public_id=job_id).first() if is_public_id(job_id, "job") else None
    if job is None:
        raise NotFound(f"Job {job_id} not found", code="job_not_found")
    return job


def api_key_caller(request: Request) -> Participant:
    return authenticated_participant(request.headers.get("X-API-Key", ""))


def same_wallet(a: str | None, b: str) -> bool:
    return a is not None and a.lower() == b.lower()


# --- views ------------------------------------------------------------------------------
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
        jobs = _jobs().filter(Q(buyer=caller) | Q(provider=caller))
        if "status" in query:
            jobs = jobs.filter(status=query["status"])
        limit, offset = query["limit"], query["offset"]
        return Response(
            {
                "jobs": [job_out(job) for job in jobs[offset : offset + limit]],
                "total": jobs.count(),
                "limit": limit,
                "offset": offset,
            }
        )


class JobDetailView(PaidView):
    """A job's status and result: free with the buyer's or provider's API key, else $0.001
    paid by the buyer's wallet."""

    endpoint_price = "$0.001"
    endpoint_auth = "X-API-Key (buyer or provider), or x402 from the buyer's wallet"
    accepts_api_key = True

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Read a job", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Job:
        job = _job(kwargs["job_id"])
        allowed = [job.buyer.wallet]
        if self.accepts_api_key and request.headers.get("X-API-Key") is not None:
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


class JobUpdateView(APIView):
    """The provider reports progress: in_progress, completed (with deliverables) or failed."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (the job's provider)"

    @extend_schema(
        operation_id="job_update",
        summary="Update a job (provider)",
        request=JobUpdateInput,
        responses={200: JobOutput, **KEY_RESPONSES},
        tags=["jobs"],
    )
    def post(self, request: Request, job_id: str) -> Response:
        caller = api_key_caller(request)
        job = _job(job_id)
        if job.provider_id != caller.pk:
            raise forbidden("Only the job's provider can update it")
        data = validated(JobUpdateInput, request.data)
        return Response(job_out(job_update(job=job, provider=caller, **data)))


class JobVerifyView(APIView):
    """The buyer accepts the delivery; the escrow is released to the provider."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (the job's buyer)"

    @extend_schema(
        operation_id="job_verify",
        summary="Verify a job (buyer)",
        request=None,
        responses={200: JobOutput, **KEY_RESPONSES},
        tags=["jobs"],
    )
    def post(self, request: Request, job_id: str) -> Response:
        caller = api_key_caller(request)
        job = _job(job_id)
        return Response(job_out(job_verify(job=job, buyer=caller)))


class JobDisputeView(PaidView):
    """The buyer disputes a job ($0.005): the escrow stays held until it is resolved."""

    endpoint_price = "$0.005"
    endpoint_auth = "x402 or balance (the job's buyer)"
    accepts_api_key = False

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(DISPUTE_PRICE, "Dispute a job", PLATFORM_FEES)

    def disputed_job(self, payer: str | None, **kwargs: Any) -> Job:
        """The job named by the request, once the payer is known to be its buyer."""
        job = _job(kwargs["job_id"])
        if not same_wallet(payer, job.buyer.wallet):
            raise forbidden("Only the job's buyer can dispute it")
        return job

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> dict[str, Any]:
        job = self.disputed_job(payer, **kwargs)
        reason = check_dispute_reason(validated(JobDisputeInput, request.data)["reason"])
        if job.status not in DISPUTABLE:
            raise InvalidJobTransition(f"job {job.public_id} is {job.status}, cannot be disputed")
        return {"job": job, "reason": reason}

    def perform(
        self, request: Request, paid: Paid, data: dict[str, Any], **kwargs: Any
    ) -> Response:
        job = job_dispute(job=data["job"], buyer=paid.participant, reason=data["reason"])
        return Response(job_out(job))

    @extend_schema(
        operation_id="job_dispute",
        summary="Dispute a job (buyer)",
        request=JobDisputeInput,
        responses={200: JobOutput, **PAID_RESPONSES},
        tags=["jobs"],
    )
    def post(self, request: Request, job_id: str) -> Response:
        return self.gate(request, job_id=job_id)
