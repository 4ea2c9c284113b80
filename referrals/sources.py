"""Where the rewards scan finds completed transactions and their platform fees.

A source reads one kind of transaction (escrowed purchases and accepted proposals, data API
calls; later subscription periods and product sales) and yields a `FeeEvent` for each one
that became final since a moment, and a `Reversal` for each one refunded or split after it
was final. `ReferralsConfig.ready()` registers them with `register_source`:

    class ProductSales:
        name = "product_sale"
        def final_since(self, since): ...    # FeeEvent(key="sale:<id>", ...)
        def reversed_since(self, since): ... # Reversal(key="sale:<id>", reason="refunded")

Keys are unique across sources (prefix them with the source's own word): the scan credits
each key once per side, whatever overlaps between runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from marketplace.models import Job, ProductPurchase, Proposal, SubscriptionPeriod
from payments.ledger import PLATFORM_FEES
from payments.models import Escrow, LedgerEntry
from reputation.models import Signal
from the402.lib import money


@dataclass(frozen=True)
class FeeEvent:
    """A final transaction: `fee_micros` reached the platform's fee revenue."""

    key: str  # unique across sources, e.g. "escrow:esc_…"
    source: str  # what it was: purchase, proposal, data_api, ...
    reference: str  # the job, sale or period, for people
    buyer_id: int  # the participant on the demand side
    provider_id: int  # the participant on the supply side
    fee_micros: int
    occurred_at: datetime


@dataclass(frozen=True)
class Reversal:
    """A transaction refunded or split after it was final: its rewards not yet withdrawn
    are reversed."""

    key: str
    reason: str


class Source(Protocol):
    name: str

    def final_since(self, since: datetime) -> Iterable[FeeEvent]: ...

    def reversed_since(self, since: datetime) -> Iterable[Reversal]: ...


SOURCES: dict[str, Source] = {}


def register_source(source: Source) -> Source:
    """Add a source (once per name)."""
    SOURCES[source.name] = source
    return source


class EscrowSettlements:
    """Escrowed jobs (fixed-price purchases and accepted proposals) whose escrow released,
    or split by a dispute, its fee to the platform: read from the ledger, so only a fee the
    platform actually holds counts (an on-chain release counts once it is mined)."""

    name = "escrow"
    KINDS = ("escrow_released", "escrow_split")

    def final_since(self, since: datetime) -> Iterable[FeeEvent]:
        fees = list(
            LedgerEntry.objects.filter(
                transaction__kind__in=self.KINDS,
                transaction__created_at__gte=since,
                account__code=PLATFORM_FEES,
                amount__gt=0,
            ).select_related("transaction")
        )
        by_escrow = {str(e.transaction.reference.get("escrow", "")): e for e in fees}
        escrows = Escrow.objects.filter(public_id__in=by_escrow).in_bulk(field_name="public_id")
        jobs = {
            job.escrow_id: job
            for job in Job.objects.filter(escrow__in=[e.pk for e in escrows.values()])
        }
        proposals = set(
            Proposal.objects.filter(
                thread__in=[j.thread_id for j in jobs.values() if j.thread_id],
                status=Proposal.Status.ACCEPTED,
            ).values_list("thread_id", flat=True)
        )
        for public_id, entry in by_escrow.items():
            escrow = escrows.get(public_id)
            if escrow is None:
                continue
            job = jobs.get(escrow.pk)
            yield FeeEvent(
                key=f"escrow:{public_id}",
                source="proposal" if job is not None and job.thread_id in proposals else "purchase",
                reference=job.public_id if job is not None else public_id,
                buyer_id=escrow.payer_id,
                provider_id=escrow.payee_id,
                fee_micros=int(entry.amount),
                occurred_at=entry.transaction.created_at,
            )

    def reversed_since(self, since: datetime) -> Iterable[Reversal]:
        return ()  # a released or split escrow is final: it never moves again


class DataApiCalls:
    """Data API calls: answered, paid (provider share and fee at once) and released in the
    purchase's own transaction. The fee is the platform fee on the price the call was paid
    at (`reputation` records it with the call)."""

    name = "data_api"

    def final_since(self, since: datetime) -> Iterable[FeeEvent]:
        jobs = list(
            Job.objects.filter(
                escrow__isnull=True,
                status=Job.Status.RELEASED,
                updated_at__gte=since,
                # a purchase a subscription covered paid no fee of its own (its period did)
                subscription_use__isnull=True,
            ).select_related("service")
        )
        paid = dict(
            Signal.objects.filter(
                kind=Signal.Kind.DATA_API_ANSWERED, reference__in=[j.public_id for j in jobs]
            ).values_list("reference", "amount_micros")
        )
        for job in jobs:
            price = paid.get(job.public_id, job.service.price_micros)
            fee = money.platform_fee(int(price))
            if fee <= 0:
                continue
            yield FeeEvent(
                key=f"job:{job.public_id}",
                source="data_api",
                reference=job.public_id,
                buyer_id=job.buyer_id,
                provider_id=job.provider_id,
                fee_micros=fee,
                occurred_at=job.verified_at or job.updated_at,
            )

    def reversed_since(self, since: datetime) -> Iterable[Reversal]:
        return ()  # a data API call is paid for its answer and never refunded


class SubscriptionPeriods:
    """Paid subscription periods (the first, by x402 or balance, and each renewal): final
    when paid (no refund on cancel)."""

    name = "subscription"

    def final_since(self, since: datetime) -> Iterable[FeeEvent]:
        periods = SubscriptionPeriod.objects.filter(created_at__gte=since).select_related(
            "subscription", "subscription__plan"
        )
        for period in periods:
            if period.fee_micros <= 0:
                continue
            sub = period.subscription
            yield FeeEvent(
                key=f"subscription:{sub.public_id}:{period.number}",
                source="subscription",
                reference=f"{sub.public_id} period {period.number}",
                buyer_id=sub.agent_id,
                provider_id=sub.plan.provider_id,
                fee_micros=int(period.fee_micros),
                occurred_at=period.created_at,
            )

    def reversed_since(self, since: datetime) -> Iterable[Reversal]:
        return ()  # a paid period is never refunded


class ProductSales:
    """Digital product purchases: final when paid (downloads are not refunded)."""

    name = "product_sale"

    def final_since(self, since: datetime) -> Iterable[FeeEvent]:
        sales = ProductPurchase.objects.filter(created_at__gte=since).select_related("product")
        for sale in sales:
            if sale.fee_micros <= 0:
                continue
            yield FeeEvent(
                key=f"sale:{sale.public_id}",
                source="product_sale",
                reference=sale.public_id,
                buyer_id=sale.buyer_id,
                provider_id=sale.product.provider_id,
                fee_micros=int(sale.fee_micros),
                occurred_at=sale.created_at,
            )

    def reversed_since(self, since: datetime) -> Iterable[Reversal]:
        return ()
