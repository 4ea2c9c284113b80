"""The agent's dashboard pages that combine the apps: the overview's recent activity, the
balance with its history and the deposit forms, a deposit's receipt; and the home page's
live figures."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from marketplace.catalog.models import Service
from marketplace.deals.models import Job, Thread
from payments import accounts
from payments.api import MAX_DEPOSIT, MIN_DEPOSIT
from payments.ledger import agent_account
from payments.models import LedgerEntry, X402Payment
from payments.networks import current_network
from payments.selectors import balance_summary
from payments.web.deposits import FAUCET_AMOUNT
from payments.web.views import dashboard_participant
from the402.web.balance import history_rows

HISTORY_PAGE = 25
DONE_JOBS = (Job.Status.COMPLETED, Job.Status.VERIFIED, Job.Status.RELEASED)


def marketplace_figures() -> dict[str, int]:
    """What the home page shows: active services, their providers and categories, and
    jobs completed."""
    active = Service.objects.active()
    return {
        "services": active.count(),
        "providers": active.values("provider_id").distinct().count(),
        "categories": active.values("category").distinct().count(),
        "jobs_completed": Job.objects.filter(status__in=DONE_JOBS).count(),
    }


def recent_activity(participant_id: int) -> dict[str, object]:
    """The overview's latest jobs and threads of the account as a buyer."""
    return {
        "recent_jobs": list(
            Job.objects.filter(buyer_id=participant_id)
            .select_related("service")
            .order_by("-created_at", "-id")[:5]
        ),
        "recent_threads": list(
            Thread.objects.filter(buyer_id=participant_id)
            .select_related("service")
            .order_by("-updated_at", "-id")[:5]
        ),
    }


@never_cache
@login_required
@require_GET
def balance(request: HttpRequest) -> HttpResponse:
    """The prepaid balance, its history, and the ways to fund it."""
    participant = dashboard_participant(request)
    entries = (
        LedgerEntry.objects.filter(account__code=agent_account(participant))
        .select_related("transaction")
        .order_by("-id")
    )
    page = Paginator(entries, HISTORY_PAGE).get_page(request.GET.get("page"))
    managed = accounts.managed_signer(participant) is not None
    return render(
        request,
        "dashboard/balance.html",
        {
            "participant": participant,
            "balance": balance_summary(participant),
            "page": page,
            "rows": history_rows(participant, list(page.object_list)),
            "managed": managed,
            "devnet": settings.NETWORK == "devnet",
            "network": current_network(),
            "faucet_amount": FAUCET_AMOUNT,
            "min_deposit": MIN_DEPOSIT,
            "max_deposit": MAX_DEPOSIT,
        },
    )


@never_cache
@login_required
@require_GET
def deposit_receipt(request: HttpRequest, payment_id: str) -> HttpResponse:
    """One x402 payment credited to the balance (the account's own only)."""
    participant = dashboard_participant(request)
    payment = (
        X402Payment.objects.filter(public_id=payment_id[:40])
        .filter(Q(participant=participant) | Q(payer=participant.wallet.lower()))
        .first()
    )
    if payment is None:
        raise Http404("No such deposit")
    return render(
        request,
        "dashboard/deposit.html",
        {"payment": payment, "network": current_network()},
    )
