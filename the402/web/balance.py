"""The balance history as people read it: each ledger entry on the account's prepaid balance
described, and linked to what it paid for (a job, a thread, a service) or came from (a
deposit). Reads the ledger (payments) and the deals (marketplace): the top of the graph."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.urls import reverse

from marketplace.deals.models import Job, Thread
from payments.models import Escrow, LedgerEntry, Participant, X402Payment

KIND_LABELS = {
    "x402_payment": "Deposit",
    "deposit": "Deposit",
    "charge": "Payment",
    "hold": "Held for a purchase",
    "hold_release": "Hold released",
    "escrow_hold": "Paid into escrow",
    "escrow_refunded": "Escrow refunded",
    "escrow_split": "Dispute split",
    "escrow_failed": "Escrow failed: refunded",
    "escrow_reclaimed": "Escrow reclaimed",
    "refund_to_balance": "Refund",
}
_PATH = re.compile(r"^/v1/(services|threads|jobs)/([A-Za-z0-9_]+)/?([a-z]*)")
# A data API purchase's job is created within the request that took the hold.
_PURCHASE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class HistoryRow:
    entry: LedgerEntry
    label: str
    description: str
    link: str | None
    link_label: str
    detail: str = ""


def history_rows(participant: Participant, entries: list[LedgerEntry]) -> list[HistoryRow]:
    """Describe and link a page of entries (a fixed number of queries per page)."""
    refs = [entry.transaction.reference or {} for entry in entries]
    escrow_jobs = dict(
        Escrow.objects.filter(
            public_id__in={r["escrow"] for r in refs if isinstance(r.get("escrow"), str)}
        ).values_list("public_id", "reference")
    )
    payments = {
        p.public_id: p
        for p in X402Payment.objects.filter(
            public_id__in={r["payment"] for r in refs if isinstance(r.get("payment"), str)}
        ).only("public_id", "tx_hash", "payer")
    }
    purchased = {
        m.group(2)
        for r in refs
        if (m := _PATH.match(str(r.get("path", "")))) and m.group(1) == "services"
    }
    jobs_by_service: dict[str, list[tuple[object, str]]] = {}
    threads_by_service: dict[str, list[tuple[object, str]]] = {}
    if purchased:
        for created, job_id, service_id in (
            Job.objects.filter(buyer=participant, service__public_id__in=purchased)
            .order_by("created_at")
            .values_list("created_at", "public_id", "service__public_id")
        ):
            jobs_by_service.setdefault(service_id, []).append((created, job_id))
        for created, thread_id, service_id in (
            Thread.objects.filter(buyer=participant, service__public_id__in=purchased)
            .order_by("created_at")
            .values_list("created_at", "public_id", "service__public_id")
        ):
            threads_by_service.setdefault(service_id, []).append((created, thread_id))
    rows = []
    for entry, ref in zip(entries, refs, strict=True):
        kind = entry.transaction.kind
        label = KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())
        link, link_label, detail = None, "", ""
        match = _PATH.match(str(ref.get("path", "")))
        if isinstance(ref.get("escrow"), str) and escrow_jobs.get(ref["escrow"]):
            job_id = escrow_jobs[ref["escrow"]]
            link, link_label = reverse("web-job", args=[job_id]), job_id
        elif isinstance(ref.get("payment"), str):
            payment = payments.get(ref["payment"])
            link_label = ref["payment"]
            link = reverse("web-deposit-receipt", args=[ref["payment"]]) if payment else None
            detail = f"transaction {payment.tx_hash}" if payment and payment.tx_hash else ""
        elif match:
            noun, public_id, action = match.groups()
            if noun == "threads":
                link, link_label = reverse("web-thread", args=[public_id]), public_id
            elif noun == "jobs":
                link, link_label = reverse("web-job", args=[public_id]), public_id
            else:
                found = _nearest(
                    (jobs_by_service if action == "purchase" else threads_by_service).get(
                        public_id, []
                    ),
                    entry.created_at,
                )
                if found and action == "purchase":
                    link, link_label = reverse("web-job", args=[found]), found
                elif found:
                    link, link_label = reverse("web-thread", args=[found]), found
                else:
                    link, link_label = reverse("web-service", args=[public_id]), public_id
        rows.append(
            HistoryRow(
                entry=entry,
                label=label,
                description=entry.transaction.description,
                link=link,
                link_label=link_label,
                detail=detail,
            )
        )
    return rows


def _nearest(candidates: list[tuple[object, str]], moment: object) -> str | None:
    """The first id created at or after `moment`, within the purchase window."""
    for created, public_id in candidates:
        if moment <= created <= moment + _PURCHASE_WINDOW:  # type: ignore[operator]
            return public_id
    return None
