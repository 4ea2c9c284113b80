"""Who may open the provider's dashboard pages: a signed-in account whose participant is a
provider. Shared by the provider pages of each marketplace package (`*/provider_web.py`,
`notify/web.py`).

A page (GET) of an account that is not a provider yet sends it to the onboarding form at
`/dashboard/provider/`; an action (POST) is refused with 403. Objects of another provider
are 404 (the selectors filter by owner), so their existence is not told.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from payments.web.views import dashboard_participant
from the402.lib.errors import ApplicationError

ProviderView = Callable[..., HttpResponseBase]  # a page, a redirect, or a file


def provider_view(view: ProviderView) -> ProviderView:
    """Signed in, a provider (else onboarding or 403), no caching; the view gets the
    participant as its second argument. An `ApplicationError` escaping the view (a 404 of
    another provider's object, a 409 of a move no longer allowed) becomes an HTML error
    page with its status."""

    @wraps(view)
    @never_cache
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        participant = dashboard_participant(request)
        if not participant.is_provider:
            if request.method in ("GET", "HEAD"):
                return redirect("dash-provider-home")
            return error_page(
                request,
                ApplicationError("Become a provider first", code="not_a_provider", status=403),
            )
        try:
            return view(request, participant, *args, **kwargs)
        except ApplicationError as exc:
            return error_page(request, exc)

    return wrapper


def error_page(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(
        request,
        "provider/error.html",
        {"error": exc.message, "code": exc.code},
        status=exc.status_code,
    )
