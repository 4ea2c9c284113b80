"""Reads of the provider's dashboard: its own listings, with their sales and reputation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from marketplace.catalog.models import Service
from payments.models import Participant
from reputation.models import ReputationScore
from reputation.selectors import ReputationView, default_score, reputation_view
from the402.lib.errors import NotFound

SALES_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class ServiceRow:
    """One line of the provider's services table."""

    service: Service
    sales_30d: int
    reputation: ReputationView


def provider_services(provider: Participant) -> list[ServiceRow]:
    """The provider's services, newest first, each with its sales in the last 30 days (jobs
    created, whatever became of them) and its service-level reputation: two queries."""
    since = timezone.now() - SALES_WINDOW
    services = list(
        Service.objects.filter(provider=provider)
        .exclude(status=Service.Status.ARCHIVED)
        .annotate(sales_30d=Count("jobs", filter=Q(jobs__created_at__gte=since)))
        .order_by("-listed_at", "-id")
    )
    scores = {
        score.scope_key: score
        for score in ReputationScore.objects.filter(
            participant=provider,
            scope=ReputationScore.Scope.SERVICE,
            scope_key__in=[s.public_id for s in services],
        )
    }
    return [
        ServiceRow(
            service=service,
            sales_30d=service.sales_30d,
            reputation=reputation_view(
                scores.get(service.public_id)
                or default_score(provider.pk, ReputationScore.Scope.SERVICE, service.public_id)
            ),
        )
        for service in services
    ]


def provider_service(provider: Participant, service_id: str) -> Service:
    """One of the provider's own services; 404 for an unknown id, an archived one and
    another provider's (the dashboard does not tell them apart)."""
    found = (
        Service.objects.filter(provider=provider, public_id=service_id[:24])
        .exclude(status=Service.Status.ARCHIVED)
        .first()
    )
    if found is None:
        raise NotFound(f"Service {service_id} not found", code="service_not_found")
    return found
