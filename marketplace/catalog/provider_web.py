"""The provider's dashboard: becoming a provider, its profile and webhook, its services.

Views stay thin: they check who asks (`marketplace.provider_access.provider_view`), read a
form, and call the same services as the API (`provider_onboard` as `POST
/v1/provider/onboard`, `service_create` / `service_update` as `POST` / `PUT /v1/services`,
`webhook_test` as `POST /v1/services/:id/test`): one rule, two doors.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.catalog.forms import OnboardForm, ProviderProfileForm, ServiceForm
from marketplace.catalog.models import Service
from marketplace.catalog.provider_selectors import provider_service, provider_services
from marketplace.catalog.services import (
    provider_onboard,
    service_create,
    service_delete,
    service_update,
)
from marketplace.notify.webhook_test import webhook_test
from marketplace.provider_access import error_page, provider_view
from payments.models import Participant
from payments.networks import current_network
from payments.services import participant_update, webhook_secret, webhook_secret_rotate
from payments.web.views import dashboard_participant
from the402.lib import money
from the402.lib.errors import ApplicationError
from the402.lib.ratelimit import rate_limit


def _home_context(participant: Participant, **extra: Any) -> dict[str, Any]:
    return {
        "participant": participant,
        "webhook_secret": webhook_secret(participant),
        "payout_threshold": settings.PAYOUT_THRESHOLD,
        "network": current_network(),
        "services_count": Service.objects.filter(provider=participant).count(),
        **extra,
    }


@never_cache
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The provider's overview, or the onboarding form for an account not yet a provider."""
    participant = dashboard_participant(request)
    if not participant.is_provider:
        form = OnboardForm(
            initial={"name": participant.name, "description": participant.description}
        )
        return render(request, "provider/onboard.html", {"form": form, "participant": participant})
    profile = ProviderProfileForm(
        initial={
            "name": participant.name,
            "description": participant.description,
            "webhook_url": participant.webhook_url,
        }
    )
    return render(request, "provider/home.html", _home_context(participant, profile_form=profile))


@never_cache
@login_required
@require_POST
def onboard(request: HttpRequest) -> HttpResponse:
    """Become a provider: `provider_onboard` on the account's wallet (as `POST
    /v1/provider/onboard` on the paying wallet), with the profile typed here."""
    participant = dashboard_participant(request)
    form = OnboardForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                onboarding = provider_onboard(
                    wallet=participant.wallet,
                    name=data["name"],
                    description=data["description"],
                    webhook_url=data["webhook_url"],
                )
                # A registered wallet keeps its profile on the API; here its owner typed it.
                participant_update(
                    participant=onboarding.participant,
                    name=data["name"],
                    description=data["description"],
                )
        except ApplicationError as exc:
            form.add_error("webhook_url" if "webhook" in exc.message else None, exc.message)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "You are a provider now: list your first service.")
            return redirect("dash-provider-home")
    return render(
        request, "provider/onboard.html", {"form": form, "participant": participant}, status=400
    )


@provider_view
@require_POST
def profile_update(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Name, description and webhook URL: as `PUT /v1/participants/:id` (a new URL gets a new
    webhook secret)."""
    form = ProviderProfileForm(request.POST)
    if form.is_valid():
        try:
            rotated = participant_update(participant=participant, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, getattr(exc, "message", None) or "; ".join(exc.messages))
        else:
            messages.success(
                request,
                "Profile saved."
                + (" Your webhook secret changed with the URL." if rotated else ""),
            )
            return redirect("dash-provider-home")
    participant.refresh_from_db()
    return render(
        request, "provider/home.html", _home_context(participant, profile_form=form), status=400
    )


@provider_view
@require_POST
def secret_rotate(request: HttpRequest, participant: Participant) -> HttpResponse:
    webhook_secret_rotate(participant=participant)
    messages.success(request, "A new webhook secret signs your webhooks from now on.")
    return redirect("dash-provider-home")


def _test(participant: Participant, service: Service | None) -> dict[str, Any]:
    rate_limit("webhook_test", participant.public_id)  # each test calls out
    return dict(webhook_test(service, provider=participant))


@provider_view
@require_POST
def webhook_test_send(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Send a signed `test` event to the provider's webhook now; the answer is shown inline."""
    try:
        result = _test(participant, None)
    except ApplicationError as exc:
        result = {"success": False, "error": exc.message, "status_code": None, "warnings": []}
    profile = ProviderProfileForm(
        initial={
            "name": participant.name,
            "description": participant.description,
            "webhook_url": participant.webhook_url,
        }
    )
    return render(
        request,
        "provider/home.html",
        _home_context(participant, profile_form=profile, test_result=result),
    )


# --- services -----------------------------------------------------------------------------
def _services_context(participant: Participant, **extra: Any) -> dict[str, Any]:
    return {"participant": participant, "rows": provider_services(participant), **extra}


@provider_view
@require_GET
def services(request: HttpRequest, participant: Participant) -> HttpResponse:
    return render(request, "provider/services.html", _services_context(participant))


def _form_page(
    request: HttpRequest,
    participant: Participant,
    form: ServiceForm,
    service: Service | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "provider/service_form.html",
        {
            "participant": participant,
            "form": form,
            "service": service,
            "fee_bps": money.PLATFORM_FEE_BPS,
        },
        status=status,
    )


@provider_view
@require_http_methods(["GET", "POST"])
def service_new(request: HttpRequest, participant: Participant) -> HttpResponse:
    """List a service: `service_create`, as `POST /v1/services`."""
    if request.method == "GET":
        return _form_page(request, participant, ServiceForm(), None)
    form = ServiceForm(request.POST)
    if form.is_valid():
        try:
            service = service_create(provider=participant, **form.listing)
        except (ApplicationError, ValidationError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"{service.name} is listed ({service.public_id}).")
            return redirect("dash-provider-services")
    return _form_page(request, participant, form, None, status=400)


@provider_view
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, participant: Participant, service_id: str) -> HttpResponse:
    """Change a listing: `service_update`, as `PUT /v1/services/:id`."""
    service = provider_service(participant, service_id)
    if request.method == "GET":
        return _form_page(request, participant, ServiceForm.for_service(service), service)
    form = ServiceForm(request.POST)
    if form.is_valid():
        try:
            service = service_update(service=service, **form.listing)
        except (ApplicationError, ValidationError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"{service.name} saved.")
            return redirect("dash-provider-services")
    return _form_page(request, participant, form, service, status=400)


@provider_view
@require_POST
def service_status(request: HttpRequest, participant: Participant, service_id: str) -> HttpResponse:
    """Activate, deactivate or archive a listing. Archiving is `service_delete` (as `DELETE
    /v1/services/:id`): a listing without jobs goes for good, one with jobs is archived (out
    of the catalog and of this table, kept for its jobs' history)."""
    service = provider_service(participant, service_id)
    action = request.POST.get("action", "")
    if action in ("activate", "deactivate"):
        status = Service.Status.ACTIVE if action == "activate" else Service.Status.INACTIVE
        service_update(service=service, status=status)
        messages.success(request, f"{service.name} is {status} now.")
    elif action == "archive":
        outcome = service_delete(service=service)
        if outcome == "archived":
            messages.success(
                request,
                f"{service.name} is archived: out of the catalog, kept for its jobs' history.",
            )
        else:
            messages.success(request, f"{service.name} was removed.")
    else:
        return error_page(
            request, ApplicationError("Unknown action", code="invalid_request", status=400)
        )
    return redirect("dash-provider-services")


@provider_view
@require_POST
def service_test(request: HttpRequest, participant: Participant, service_id: str) -> HttpResponse:
    """Test a service's webhook (as `POST /v1/services/:id/test`); the answer is shown inline
    above the table."""
    service = provider_service(participant, service_id)
    try:
        result = _test(participant, service)
    except ApplicationError as exc:
        result = {"success": False, "error": exc.message, "status_code": None, "warnings": []}
    return render(
        request,
        "provider/services.html",
        _services_context(participant, test_result=result, tested=service),
    )
