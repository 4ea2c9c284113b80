"""Pages that combine the apps (the top of the dependency graph): the dashboard overview.

The catalog, service and provider pages and the agent's buying pages arrive with the
marketplace's web views.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from payments.networks import current_network
from payments.selectors import balance_summary
from payments.web.views import dashboard_participant
from the402.web.agent import recent_activity


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """What the marketplace is, and how to connect an agent to this deployment."""
    from payments.web.views import site_origin
    from the402.web.agent import marketplace_figures

    return render(
        request,
        "home.html",
        {
            "origin": site_origin(request),
            "network": current_network(),
            "figures": marketplace_figures(),
        },
    )


@never_cache
@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    participant = dashboard_participant(request)
    return render(
        request,
        "dashboard/overview.html",
        {
            "participant": participant,
            "balance": balance_summary(participant),
            "network": current_network(),
            **recent_activity(participant.pk),
        },
    )
