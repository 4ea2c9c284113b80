"""Funding the prepaid balance from the dashboard: an x402 deposit, as
`POST /v1/balance/deposit?amount=` takes it, signed by the account's wallet.

* A wallet of the owner's own signs in the browser: the server builds the EIP-3009
  `TransferWithAuthorization` typed data (`deposit_prepare`), the page's script asks the
  wallet to sign it (`eth_signTypedData_v4`) and posts the signature back
  (`deposit_submit`).
* A platform-managed wallet is signed for on the server (`deposit_managed`).

Either way the signed authorization goes, as an `X-PAYMENT` header, through the API's own
deposit view and payment gate (`payments.web.gateway`): verified, claimed once, settled on
chain, credited by the ledger. On devnet `faucet` mints test USDC to the account's wallet.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from eth_account.signers.local import LocalAccount

from payments import accounts
from payments.api import MAX_DEPOSIT, MIN_DEPOSIT, DepositView
from payments.chain.client import current_deployment
from payments.eip3009 import Authorization, TokenDomain, sign, typed_data
from payments.gate import PaidView, payment_options
from payments.models import Participant
from payments.networks import current_network
from payments.web import gateway
from payments.web.views import _json_view, dashboard_participant
from payments.x402.encoding import encode_json
from the402.lib import money
from the402.lib.errors import ApplicationError

DEPOSIT_PATH = "/v1/balance/deposit"
VALID_FOR = 600  # seconds the browser has to sign and send the authorization
FAUCET_AMOUNT = 20_000_000  # $20 of test USDC


class AmountForm(forms.Form):
    amount = forms.CharField(max_length=20, label="Amount (USD)")

    def clean_amount(self) -> int:
        return parse_amount(self.cleaned_data["amount"])


def parse_amount(text: Any) -> int:
    """A deposit amount in micro-USDC, by the API's bounds; a 400 otherwise."""
    try:
        amount = money.parse_usd(str(text))
    except money.MoneyError as exc:
        raise ApplicationError(f"amount: {exc}", code="invalid_amount") from None
    if not MIN_DEPOSIT <= amount <= MAX_DEPOSIT:
        raise ApplicationError(
            f"amount must be between {money.format_usd(MIN_DEPOSIT)} and "
            f"{money.format_usd(MAX_DEPOSIT)} USD",
            code="invalid_amount",
        )
    return amount


def _domain() -> TokenDomain:
    network, deployment = current_network(), current_deployment()
    return TokenDomain(network.usdc_name, network.usdc_version, network.chain_id, deployment.usdc)


def deposit_authorization(participant: Participant, amount: int) -> Authorization:
    """What the wallet signs: `amount` from the account's wallet to the treasury."""
    now = int(time.time())
    return Authorization(
        from_address=participant.wallet,
        to_address=current_deployment().treasury,
        value=amount,
        valid_after=now - 60,
        valid_before=now + VALID_FOR,
        nonce="0x" + secrets.token_hex(32),
    )


def payment_header(authorization: Authorization, signature: str) -> str:
    """The x402 v1 `X-PAYMENT` value carrying a signed authorization."""
    return encode_json(
        {
            "x402Version": 1,
            "scheme": "exact",
            "network": current_network().x402_name,
            "payload": {"signature": signature, "authorization": authorization.as_json()},
        }
    )


def deposit_with(
    request: HttpRequest | None, participant: Participant, amount: int, header: str
) -> gateway.Outcome:
    """Run the signed deposit through `POST /v1/balance/deposit` (the API's view and gate)."""
    return gateway.call(
        DepositView,
        request,
        participant=participant,
        pay=header,
        path=DEPOSIT_PATH,
        query={"amount": money.format_usd(amount)},
    )


def deposit_signed_by_platform(
    request: HttpRequest | None, participant: Participant, amount: int
) -> gateway.Outcome:
    """A deposit from a managed wallet, signed here with its sealed key."""
    signer = accounts.managed_signer(participant)
    if signer is None:
        raise ApplicationError(
            "Your wallet is your own: sign the deposit in your browser wallet",
            code="wallet_not_managed",
        )
    authorization = deposit_authorization(participant, amount)
    signature = sign(_domain(), authorization, signer.key)
    return deposit_with(request, participant, amount, payment_header(authorization, signature))


def signed_payment(
    request: HttpRequest | None,
    signer: LocalAccount,
    view_class: type[PaidView],
    *,
    path: str,
    kwargs: dict[str, Any],
) -> str:
    """An x402 header paying what `view_class` asks for `path` (its price, to its payee:
    the treasury, or the escrow contract), signed by `signer` (a managed wallet)."""
    inner = gateway.internal_request(request, path=path)
    view = view_class()
    drf_request = view.initialize_request(inner)
    option = payment_options(drf_request, view.price(drf_request, **kwargs))[0]
    now = int(time.time())
    authorization = Authorization(
        from_address=signer.address,
        to_address=option.pay_to,
        value=option.amount,
        valid_after=now - 60,
        valid_before=now + VALID_FOR,
        nonce="0x" + secrets.token_hex(32),
    )
    return payment_header(authorization, sign(_domain(), authorization, signer.key))


def _authorization_from(body: dict[str, Any]) -> Authorization:
    raw = body.get("authorization")
    if not isinstance(raw, dict):
        raise ApplicationError("`authorization` is required", code="invalid_request")
    try:
        return Authorization(
            from_address=str(raw["from"]),
            to_address=str(raw["to"]),
            value=int(str(raw["value"])),
            valid_after=int(str(raw["validAfter"])),
            valid_before=int(str(raw["validBefore"])),
            nonce=str(raw["nonce"]),
        )
    except (KeyError, ValueError):
        raise ApplicationError("`authorization` is malformed", code="invalid_request") from None


# --- views ---------------------------------------------------------------------------------


@_json_view
def deposit_prepare(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    """The EIP-712 typed data of a deposit of `amount` for the browser wallet to sign."""
    if not request.user.is_authenticated:
        raise ApplicationError("Sign in first", code="not_signed_in", status=401)
    participant = dashboard_participant(request)
    amount = parse_amount(body.get("amount"))
    authorization = deposit_authorization(participant, amount)
    data = typed_data(_domain(), authorization)
    data["message"] = authorization.as_json()  # numbers as decimal strings, nonce as hex
    return JsonResponse(
        {
            "address": participant.wallet,
            "typed_data": data,
            "authorization": authorization.as_json(),
        }
    )


@_json_view
def deposit_submit(request: HttpRequest, body: dict[str, Any]) -> JsonResponse:
    """The browser wallet's signature of a deposit: paid through the deposit endpoint."""
    if not request.user.is_authenticated:
        raise ApplicationError("Sign in first", code="not_signed_in", status=401)
    participant = dashboard_participant(request)
    authorization = _authorization_from(body)
    if authorization.from_address.lower() != participant.wallet.lower():
        # The gate would credit whichever wallet signed: only the account's own may.
        raise ApplicationError(
            "Sign with your account's wallet (see your account page)",
            code="wallet_mismatch",
            status=403,
        )
    signature = body.get("signature")
    if not isinstance(signature, str) or len(signature) > 200:
        raise ApplicationError("`signature` is required", code="invalid_request")
    outcome = deposit_with(
        request, participant, authorization.value, payment_header(authorization, signature)
    )
    if not outcome.ok:
        return JsonResponse({"error": outcome.error, "code": outcome.code}, status=outcome.status)
    messages.success(
        request, f"Deposited ${money.format_usd(authorization.value)} to your balance."
    )
    return JsonResponse({"redirect": reverse("web-balance"), **outcome.data})


@never_cache
@login_required
@require_POST
def deposit_managed(request: HttpRequest) -> HttpResponse:
    """A deposit signed by the platform for its managed wallet (a plain form)."""
    participant = dashboard_participant(request)
    form = AmountForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(
                "; ".join(str(e) for e in form.errors.get("amount", ["Enter an amount"])),
                code="invalid_amount",
            )
        outcome = deposit_signed_by_platform(request, participant, form.cleaned_data["amount"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("web-balance")
    if outcome.ok:
        messages.success(
            request, f"Deposited ${money.format_usd(form.cleaned_data['amount'])} to your balance."
        )
    else:
        messages.error(request, f"The deposit did not go through: {outcome.error}")
    return redirect("web-balance")


@never_cache
@login_required
@require_POST
def faucet(request: HttpRequest) -> HttpResponse:
    """Devnet only: mint test USDC to the account's wallet (the faucet's service)."""
    if settings.NETWORK != "devnet":
        messages.error(request, "Test USDC exists on the devnet only.")
        return redirect("web-balance")
    from payments.chain.usdc import mint

    participant = dashboard_participant(request)
    try:
        mint(token=current_deployment().usdc, to=participant.wallet, amount=FAUCET_AMOUNT)
    except (OSError, ValueError) as exc:
        messages.error(request, f"The devnet faucet failed: {exc}")
        return redirect("web-balance")
    messages.success(
        request,
        f"Minted ${money.format_usd(FAUCET_AMOUNT)} test USDC to your wallet: deposit it now.",
    )
    return redirect("web-balance")
