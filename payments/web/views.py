"""Account pages of the web dashboard and Sign-In with Ethereum.

Views stay thin: they check who is asking, then call the same services as the API
(`payments.services`, `payments.accounts`, `payments.siwe`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account import app_settings as allauth_account_settings
from allauth.account.internal.flows.login import (
    get_authentication_records,
    record_authentication,
)
from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from payments import accounts, siwe
from payments.models import Participant, SiweNonce
from payments.networks import current_network
from payments.selectors import balance_summary
from payments.services import api_key_issue, participant_update
from payments.web import secrets_once
from payments.web.forms import ExportKeyForm, ProfileForm
from the402.lib.errors import ApplicationError, error_body

JsonView = Callable[..., JsonResponse]


def site_origin(request: HttpRequest) -> str:
    """This site's origin as a browser sees it: the public URL when set, else the request's."""
    return settings.PUBLIC_URL or f"{request.scheme}://{request.get_host()}"


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user; 401 for a visitor (the pages redirect them before this)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise ApplicationError("Sign in first", code="not_signed_in", status=401)
    return user


def dashboard_participant(request: HttpRequest) -> Participant:
    """The signed-in user's participant (created on an email sign-up's first visit; its
    first API key is kept to be shown once)."""
    opened = accounts.web_account_for_user(user=signed_in_user(request))
    if opened.new_api_key:
        secrets_once.keep(request, "api_key", opened.new_api_key)
    return opened.account.participant


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the user proved who they are (password, wallet signature or Google) within
    allauth's re-authentication timeout (5 minutes by default)."""
    records = get_authentication_records(request, request.user)
    if not records:
        return False
    latest = max(float(record.get("at", 0)) for record in records)
    return time.time() - latest < int(allauth_account_settings.REAUTHENTICATION_TIMEOUT)


def _json_view(view: JsonView) -> JsonView:
    """POST only; a JSON body; `ApplicationError` answered in the API's error shape."""

    @wraps(view)
    @require_POST
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return JsonResponse(
                error_body("The body must be a JSON object", "invalid_json"), status=400
            )
        try:
            return view(request, body, *args, **kwargs)
        except ApplicationError as exc:
            return JsonResponse(
                error_body(exc.message, exc.code, **exc.extra), status=exc.status_code
            )

    return wrapper


def _limited(request: HttpRequest) -> JsonResponse | None:
    """Wallet sign-in attempts per address, counted like allauth's log-in limits."""
    if not ratelimit.consume(request, action="siwe"):
        return JsonResponse(
            error_body("Too many sign-in attempts; try again later", "rate_limited"), status=429
        )
    return None


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return str(request.session.session_key)


def _text(body: dict[str, Any], name: str, limit: int = 2000) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ApplicationError(f"`{name}` is required (text)", code="invalid_request")
    return value


def _next_url(request: HttpRequest, candidate: Any, default: str) -> str:
    if isinstance(candidate, str) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


# --- Sign-In with Ethereum -------------------------------------------------------------------


@_json_view
def siwe_nonce(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    """A fresh nonce and the EIP-4361 message for `address` to sign: to sign in, or (signed
    in) to re-authenticate with the current wallet or link a new one."""
    purpose = body.get("purpose", SiweNonce.Purpose.LOGIN)
    if purpose not in SiweNonce.Purpose.values:
        raise ApplicationError("`purpose` is login, reauth or link", code="invalid_request")
    if purpose != SiweNonce.Purpose.LOGIN and not request.user.is_authenticated:
        raise ApplicationError("Sign in first", code="not_signed_in", status=401)
    if purpose == SiweNonce.Purpose.LINK and not recently_authenticated(request):
        raise _reauthentication_required(request)
    limited = _limited(request)
    if limited is not None:
        return limited
    nonce = siwe.nonce_issue(purpose=purpose, session_key=_session_key(request))
    message = siwe.message_for(
        nonce=nonce,
        address=_text(body, "address", 42),
        origin=site_origin(request),
        chain_id=current_network().chain_id,
    )
    return JsonResponse({"message": message.text(), "nonce": nonce.nonce})


def _verified(request: HttpRequest, body: dict[str, Any], purpose: str) -> str:
    return siwe.verify(
        text=_text(body, "message"),
        signature=_text(body, "signature", 200),
        purpose=purpose,
        session_key=_session_key(request),
        origin=site_origin(request),
        chain_id=current_network().chain_id,
    )


@_json_view
def siwe_login(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    """Sign in with a wallet's SIWE signature: the dashboard of the participant it stands
    for (a wallet registered by API included)."""
    limited = _limited(request)
    if limited is not None:
        return limited
    address = _verified(request, body, SiweNonce.Purpose.LOGIN)
    opened = accounts.web_account_for_wallet(wallet=address)
    user = opened.account.user
    if not user.is_active:
        raise ApplicationError("This account is disabled", code="account_disabled", status=403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    record_authentication(request, user, method="siwe", address=address, reauthenticated=True)
    if opened.new_api_key:
        secrets_once.keep(request, "api_key", opened.new_api_key)
    return JsonResponse({"redirect": _next_url(request, body.get("next"), "/dashboard/")})


def _reauthentication_required(request: HttpRequest) -> ApplicationError:
    if signed_in_user(request).has_usable_password():
        url = f"{reverse('account_reauthenticate')}?next={reverse('web-account')}"
        how = "confirm your password"
    else:
        url = reverse("web-account")
        how = "confirm with your current wallet"
    return ApplicationError(
        f"Re-authenticate first: {how}, then try again within 5 minutes",
        code="reauthentication_required",
        status=403,
        extra={"reauthenticate_url": url},
    )


@_json_view
def siwe_reauthenticate(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    """Re-authenticate a wallet-only account by a SIWE signature of its current wallet."""
    if not request.user.is_authenticated:
        raise ApplicationError("Sign in first", code="not_signed_in", status=401)
    participant = dashboard_participant(request)
    address = _verified(request, body, SiweNonce.Purpose.REAUTH)
    if address != participant.wallet:
        raise ApplicationError(
            "Sign with your account's current wallet", code="siwe_wrong_wallet", status=403
        )
    record_authentication(
        request, request.user, method="siwe", address=address, reauthenticated=True
    )
    messages.success(request, "Confirmed: you can change your wallet for the next 5 minutes.")
    return JsonResponse({"redirect": reverse("web-account")})


@_json_view
def siwe_link(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    """Replace the account's wallet by the one that signed (re-authentication first)."""
    if not request.user.is_authenticated:
        raise ApplicationError("Sign in first", code="not_signed_in", status=401)
    if not recently_authenticated(request):
        raise _reauthentication_required(request)
    participant = dashboard_participant(request)
    address = _verified(request, body, SiweNonce.Purpose.LINK)
    accounts.wallet_link(participant=participant, wallet=address)
    messages.success(request, f"Your wallet is now {address}.")
    return JsonResponse({"redirect": reverse("web-account")})


# --- the account page ------------------------------------------------------------------------


def _account_context(request: HttpRequest, participant: Participant) -> dict[str, Any]:
    return {
        "participant": participant,
        "api_key_hint": accounts.api_key_hint(participant),
        "managed_wallets": accounts.managed_wallets(participant),
        "balance": balance_summary(participant),
        "shown_once": secrets_once.take(request),
        "recently_authenticated": recently_authenticated(request),
        "has_password": signed_in_user(request).has_usable_password(),
        "network": current_network(),
    }


@never_cache
@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    participant = dashboard_participant(request)
    context = _account_context(request, participant)
    context["profile_form"] = ProfileForm.for_participant(participant)
    return render(request, "payments/account.html", context)


@never_cache
@login_required
@require_POST
def profile_update(request: HttpRequest) -> HttpResponse:
    """Edit the public profile: the same rules and service as PUT /v1/participants/:id."""
    participant = dashboard_participant(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            secret = participant_update(participant=participant, **form.validated)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if secret:
                secrets_once.keep(request, "webhook_secret", secret)
            messages.success(request, "Profile saved.")
            return redirect("web-account")
    participant.refresh_from_db()
    context = _account_context(request, participant)
    context["profile_form"] = form
    return render(request, "payments/account.html", context, status=400)


@never_cache
@login_required
@require_POST
def rotate_key(request: HttpRequest) -> HttpResponse:
    """A new API key (the old one stops working at once): the service behind
    POST /v1/participants/rotate-key."""
    participant = dashboard_participant(request)
    secrets_once.keep(request, "api_key", api_key_issue(participant=participant))
    messages.success(request, "A new API key was issued; the old one no longer works.")
    return redirect("web-account")


@never_cache
@login_required
@require_POST
def export_key(request: HttpRequest) -> HttpResponse:
    """Show a managed wallet's private key, once, to its re-authenticated owner."""
    participant = dashboard_participant(request)
    form = ExportKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of your managed wallets.")
        return redirect("web-account")
    if not recently_authenticated(request):
        messages.error(request, str(_reauthentication_required(request).message))
        return redirect(
            f"{reverse('account_reauthenticate')}?next={reverse('web-account')}"
            if signed_in_user(request).has_usable_password()
            else "web-account"
        )
    try:
        key = accounts.managed_wallet_export(
            participant=participant, address=form.cleaned_data["address"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("web-account")
    secrets_once.keep(request, "wallet_key", key)
    return redirect("web-account")
