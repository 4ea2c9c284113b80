"""Reads of the provider's dashboard: the jobs inbox, one job with its thread, the
inquiries waiting for an answer, and the earnings' series (daily, per service).

Each read loads what its page walks in a fixed number of queries, whatever the number of
jobs (the inbox and earnings pages pin their query counts in tests).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from marketplace.catalog.models import ServiceType
from marketplace.deals.models import Job, Thread, ThreadMessage
from marketplace.notify.models import WebhookDelivery
from payments.models import Escrow, Participant
from the402.lib.errors import NotFound

S = Job.Status

# The inbox's tabs, in order: each job status belongs to exactly one.
INBOX_BUCKETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "new": ("New", (S.CREATED, S.DISPATCHED)),
    "in_progress": ("In progress", (S.IN_PROGRESS,)),
    "awaiting_verification": ("Awaiting verification", (S.COMPLETED, S.VERIFIED)),
    "disputed": ("Disputed", (S.DISPUTED,)),
    "finished": ("Finished", (S.RELEASED, S.REFUNDED, S.FAILED, S.CANCELLED)),
}
BUCKET_OF_STATUS = {
    status: key for key, (_, statuses) in INBOX_BUCKETS.items() for status in statuses
}
INBOX_LIMIT = 100
OPEN_THREAD_STATUSES = (Thread.Status.INQUIRY, Thread.Status.NEGOTIATING)


def _provider_jobs(provider: Participant) -> QuerySet[Job]:
    return Job.objects.filter(provider=provider).select_related(
        "service", "buyer", "escrow", "thread"
    )


@dataclass(frozen=True)
class Inbox:
    bucket: str
    jobs: list[Job]
    counts: dict[str, int]  # jobs per bucket
    inquiries: list[Thread]  # threads without a job, waiting for the provider


def provider_inbox(provider: Participant, bucket: str) -> Inbox:
    """The jobs of one tab (newest first, at most INBOX_LIMIT), how many each tab holds,
    and the open inquiries: three queries."""
    if bucket not in INBOX_BUCKETS:
        raise NotFound(f"No inbox tab {bucket}", code="not_found")
    per_status = dict(
        Job.objects.filter(provider=provider)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts = {key: 0 for key in INBOX_BUCKETS}
    for status, n in per_status.items():
        counts[BUCKET_OF_STATUS.get(status, "finished")] += n
    jobs = list(
        _provider_jobs(provider)
        .filter(status__in=INBOX_BUCKETS[bucket][1])
        .order_by("-created_at", "-id")[:INBOX_LIMIT]
    )
    inquiries = list(
        Thread.objects.filter(provider=provider, status__in=OPEN_THREAD_STATUSES)
        .select_related("service", "buyer")
        .order_by("-updated_at", "-id")[:INBOX_LIMIT]
    )
    return Inbox(bucket, jobs, counts, inquiries)


def inbox_fingerprint(provider: Participant) -> str:
    """Changes whenever a job, thread or message of the provider's changes (what the
    inbox's polling script compares): one query."""
    latest = (
        Thread.objects.filter(provider=provider)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    job_latest = (
        Job.objects.filter(provider=provider)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    return f"{latest and latest.isoformat()}|{job_latest and job_latest.isoformat()}"


def provider_job(provider: Participant, job_id: str) -> Job:
    """One of the provider's jobs; 404 for an unknown id and for another provider's."""
    job = _provider_jobs(provider).filter(public_id=job_id[:24]).first()
    if job is None:
        raise NotFound(f"Job {job_id} not found", code="job_not_found")
    return job


def provider_thread(provider: Participant, thread_id: str) -> Thread:
    """One of the provider's threads; 404 for an unknown id and for another provider's."""
    thread = (
        Thread.objects.filter(provider=provider, public_id=thread_id[:24])
        .select_related("service", "buyer", "provider")
        .first()
    )
    if thread is None:
        raise NotFound(f"Thread {thread_id} not found", code="thread_not_found")
    return thread


def thread_messages(thread: Thread | None) -> list[ThreadMessage]:
    """A thread's messages in order, with their proposals and senders (one query)."""
    if thread is None:
        return []
    return list(thread.messages.select_related("proposal", "sender").order_by("created_at", "id"))


def thread_message(thread: Thread, message_id: str) -> ThreadMessage:
    message = ThreadMessage.objects.filter(thread=thread, public_id=message_id[:24]).first()
    if message is None or not message.attachment:
        raise NotFound(f"File {message_id} not found", code="message_not_found")
    return message


# --- earnings ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """A daily series for a chart: one value per day, oldest first."""

    label: str
    days: list[date]
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


def _days(window: int, today: date) -> list[date]:
    return [today - timedelta(days=window - 1 - i) for i in range(window)]


def daily_earnings(provider: Participant, window: int) -> Series:
    """Micro-USDC released to the provider per day (escrows released or split to it, by
    the day they ended), over the last `window` days: one query."""
    today = timezone.localdate()
    since = timezone.now() - timedelta(days=window)
    per_day: dict[date, int] = defaultdict(int)
    rows = Escrow.objects.filter(
        payee=provider,
        status__in=(Escrow.Status.RELEASED, Escrow.Status.SPLIT),
        updated_at__gte=since,
    ).values_list("updated_at", "status", "amount", "payee_amount")
    for ended, status, amount, payee_amount in rows:
        share = payee_amount if status == Escrow.Status.SPLIT else amount
        per_day[timezone.localdate(ended)] += share or 0
    days = _days(window, today)
    return Series("Earnings", days, [per_day.get(day, 0) for day in days])


def sales_per_service(provider: Participant, window: int) -> list[Series]:
    """Jobs sold per day for each of the provider's services over the last `window` days,
    busiest service first: one query."""
    today = timezone.localdate()
    since = timezone.now() - timedelta(days=window)
    rows = (
        Job.objects.filter(provider=provider, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("service__name", "day")
        .annotate(n=Count("id"))
    )
    per_service: dict[str, dict[date, int]] = defaultdict(dict)
    for name, day, n in rows:
        per_service[name][day] = n
    days = _days(window, today)
    series = [
        Series(name, days, [counts.get(day, 0) for day in days])
        for name, counts in per_service.items()
    ]
    return sorted(series, key=lambda s: (-s.total, s.label))


@dataclass(frozen=True)
class DataApiStats:
    service_name: str
    service_id: str
    calls: int
    errors: int
    median_latency_ms: int | None

    @property
    def error_rate_pct(self) -> float:
        return round(100 * self.errors / self.calls, 1) if self.calls else 0.0


def data_api_stats(provider: Participant, window: int) -> list[DataApiStats]:
    """Calls, failures and median latency of each data API over the last `window` days,
    from the call log (each call is a one-attempt `job_dispatch` delivery): one query."""
    since = timezone.now() - timedelta(days=window)
    rows = WebhookDelivery.objects.filter(
        participant=provider,
        event_type=WebhookDelivery.EventType.JOB_DISPATCH,
        service__service_type=ServiceType.DATA_API,
        created_at__gte=since,
    ).values_list("service__public_id", "service__name", "status", "last_latency_ms")
    grouped: dict[tuple[str, str], list[tuple[str, int | None]]] = defaultdict(list)
    for service_id, name, status, latency in rows:
        grouped[(service_id, name)].append((status, latency))
    stats = []
    for (service_id, name), calls in grouped.items():
        latencies = [latency for _, latency in calls if latency is not None]
        stats.append(
            DataApiStats(
                service_name=name,
                service_id=service_id,
                calls=len(calls),
                errors=sum(1 for status, _ in calls if status == WebhookDelivery.Status.FAILED),
                median_latency_ms=int(statistics.median(latencies)) if latencies else None,
            )
        )
    return sorted(stats, key=lambda s: -s.calls)


def settlements_csv_rows(provider: Participant) -> list[dict[str, Any]]:
    """Every escrow that paid or pays the provider, oldest first, with its job: the CSV
    export (one query)."""
    return [
        {
            "escrow_id": escrow.public_id,
            "job_id": escrow.reference,
            "status": escrow.status,
            "amount_micros": escrow.payee_amount
            if escrow.status == Escrow.Status.SPLIT
            else escrow.amount,
            "fee_micros": escrow.fee,
            "backing": escrow.backing,
            "created_at": _iso(escrow.created_at),
            "updated_at": _iso(escrow.updated_at),
        }
        for escrow in Escrow.objects.filter(payee=provider).order_by("created_at", "id")
    ]


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def jobs_by_public_id(provider: Participant, job_ids: list[str]) -> dict[str, Job]:
    """The provider's jobs among `job_ids` (earnings rows name their job): one query."""
    return {
        job.public_id: job
        for job in Job.objects.filter(provider=provider, public_id__in=job_ids).select_related(
            "service"
        )
    }
