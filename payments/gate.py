"""The payment gate: one way for any endpoint to charge for a request.

A paid view subclasses `PaidView` and says three things: its `price` for this request,
how to `validate` the input (no writes), and what to `perform` once paid (inside a database
transaction). The gate then:

* answers a request without payment with `402`: the x402 v1 JSON body and the v2
  `PAYMENT-REQUIRED` header, both listing the same requirements;
* with `X-BALANCE-AUTH: <api key>`, charges the prepaid balance and performs in one database
  transaction (a short balance falls through to the 402 challenge, which says so);
* with `X-PAYMENT` (v1) or `PAYMENT-SIGNATURE` (v2), validates the input, verifies the
  authorization, claims it (one row per payer nonce, so it pays for one request only), settles
  it, and only then performs; the receipt goes back in `X-PAYMENT-RESPONSE` and
  `PAYMENT-RESPONSE`.

Input is validated before any payment is taken, so a 400/404/409 is never charged. Settlement
comes before the work, so a failed settlement creates nothing. A settlement that times out is
answered `202 payment_pending`, never with a fresh 402: the same request with the same payment
header completes it later, even after the process settling it died (the chain says whether
the authorization was used; one that died before sending it is settled by the replay once its
claim's lease is over). Balance-paid costly work runs on money held for it (payments/holds.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from payments import crypto, x402
from payments.chain.client import current_deployment
from payments.chain.usdc import SettleResult
from payments.charges import Paid, Price
from payments.facilitators import facilitator
from payments.holds import hold_charge, hold_release, hold_take
from payments.idempotency import idempotency_keep, idempotent, request_fingerprint
from payments.ledger import (
    WORLD,
    InsufficientFunds,
    Posting,
    agent_account,
    balance_of,
    ledger_record,
)
from payments.models import Participant, X402Payment
from payments.networks import current_network
from payments.services import participant_for_api_key, participant_for_wallet
from payments.settlements import (
    claim_lease,
    payment_chain_outcome,
    payment_claim_fulfilment,
    payment_claim_renew,
    payment_credit_to_balance,
    payment_record_outcome,
    payment_refund,
    payment_return_from_escrow,
    payment_unclaim,
)
from the402.lib.errors import ApplicationError, error_body
from the402.lib.ids import new_public_id
from the402.lib.money import format_usd
from the402.lib.urls import public_base_url

logger = logging.getLogger(__name__)

PAYMENT_HEADERS = (("PAYMENT-SIGNATURE", 2), ("X-PAYMENT", 1))
# A copy of a paid request waiting for the first one's answer (`_first_outcome`): how often
# it looks, and how long a settlement may be mined yet unrecorded before its request is
# taken for dead.
COPY_POLL_SECONDS = 0.05
DEAD_AFTER_MINED = 2.0
ANSWER_PURPOSE = "x402-answer"


class PaymentRequired(ApplicationError):
    status_code = 402
    code = "payment_required"


_Priced = TypeVar("_Priced")


class PaidView(APIView):
    """Base of every paid endpoint. Subclasses implement price, validate and perform, and
    route their paid method to `gate` (`post = PaidView.gate`).

    With `accepts_api_key`, a caller presenting a valid `X-API-Key` is served without paying
    ("API key, or a $0.001 x402 payment from the owning wallet").
    """

    endpoint_auth = "x402 or balance"
    accepts_api_key = False
    # Balance payments: check the balance covers the price before `prepare` and `perform`,
    # for views whose work is costly or leaves traces outside the database (a provider's
    # call, a stored file). Otherwise a short balance is found by the charge itself.
    check_balance_first = False

    def priced(self, load: Callable[[], _Priced]) -> _Priced:
        """The row this request's price comes from (a service, a plan, a product), read once
        per request: `price` and `validate` then see the same row, so the amount checked
        against the buyer's `max_price` is the amount charged."""
        if not hasattr(self, "_priced_row"):
            self._priced_row = load()
        return self._priced_row

    def price(self, request: Request, **kwargs: Any) -> Price:
        raise NotImplementedError

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        """Check the input without writing anything; raise ApplicationError to refuse.

        `payer` is the paying wallet once it is known (verified), else None.
        """
        return None

    def prepare(self, request: Request, data: Any) -> Any:
        """Work that decides whether to charge at all (calling a data API), done once the
        payment is verified and before any money moves, with no database transaction open.
        Raise ApplicationError to refuse without charging; the result goes to `perform`."""
        return data

    def perform(self, request: Request, paid: Paid, data: Any, **kwargs: Any) -> Response:
        raise NotImplementedError

    def gate(self, request: Request, **kwargs: Any) -> Response:
        return PaymentGate(self, request, kwargs).handle()


def payment_options(request: HttpRequest, price: Price) -> list[x402.PaymentOption]:
    deployment = current_deployment()
    network = current_network()
    return [
        x402.PaymentOption(
            network=network,
            asset=deployment.usdc,
            asset_name=network.usdc_name,
            asset_version=network.usdc_version,
            pay_to=deployment.escrow if price.escrow else deployment.treasury,
            amount=price.amount,
            resource=public_base_url(request) + request.path,
            description=price.description,
            input_schema=price.input_schema,
            output_schema=price.output_schema,
            method=request.method or "POST",
        )
    ]


def accepted_headers(price: Price, *, api_key: bool = False) -> list[str]:
    """The request headers an endpoint takes as credentials, in the order it tries them."""
    headers = ["X-API-Key"] if api_key else []
    if price.allow_balance:
        headers.append("X-BALANCE-AUTH")
    return [*headers, *(header for header, _ in PAYMENT_HEADERS)]


def www_authenticate(headers: list[str]) -> str:
    """The `WWW-Authenticate` value naming each accepted header, one challenge apiece."""
    scheme = {"X-API-Key": "ApiKey", "X-BALANCE-AUTH": "Balance"}
    return ", ".join(f'{scheme.get(header, "x402")} header="{header}"' for header in headers)


def challenge(
    request: HttpRequest, price: Price, error: str, code: str, *, api_key: bool = False
) -> Response:
    """The 402: a v1 body for v1 clients and a v2 header for v2 clients, same terms, and
    `WWW-Authenticate` naming the headers that pay (or, with `api_key`, authenticate)."""
    options = payment_options(request, price)
    body = x402.payment_required_body(options, error)
    body["code"] = code
    response = Response(body, status=402)
    required = x402.payment_required_header(options, error)
    response["PAYMENT-REQUIRED"] = required
    # The seeds' clients read `X-PAYMENT-REQUIRED`: the same value under that name too.
    response["X-PAYMENT-REQUIRED"] = required
    response["Cache-Control"] = "no-store"
    response["WWW-Authenticate"] = www_authenticate(accepted_headers(price, api_key=api_key))
    return response


class PaymentGate:
    def __init__(self, view: PaidView, request: Request, kwargs: dict[str, Any]) -> None:
        self.view = view
        self.request = request
        self.kwargs = kwargs

    def handle(self) -> Response:
        price = self.view.price(self.request, **self.kwargs)
        api_key = self.request.headers.get("X-API-Key")
        if self.view.accepts_api_key and api_key is not None:
            return self._serve_with_api_key(api_key)
        balance_key = self.request.headers.get("X-BALANCE-AUTH")
        if balance_key is not None:
            return self._pay_from_balance(price, balance_key)
        for header, version in PAYMENT_HEADERS:
            value = self.request.headers.get(header)
            if value is not None:
                return self._pay_with_x402(price, value, version)
        return self._challenge(price, "Payment required: send an x402 payment", "payment_required")

    def _challenge(self, price: Price, error: str, code: str) -> Response:
        return challenge(self.request, price, error, code, api_key=self.view.accepts_api_key)

    def _serve_with_api_key(self, key: str) -> Response:
        return self.serve_as(authenticated_participant(key))

    def serve_as(self, participant: Participant) -> Response:
        """Serve, free, a caller authenticated otherwise: by its API key, or (the web
        dashboard, `payments.web.gateway`) by its signed-in session."""
        data = self.view.validate(self.request, participant.wallet, **self.kwargs)
        with transaction.atomic():
            return self.view.perform(
                self.request, Paid("api_key", participant, 0), data, **self.kwargs
            )

    # --- prepaid balance ----------------------------------------------------------------
    def _pay_from_balance(self, price: Price, key: str) -> Response:
        self._balance_accepted(price)
        return self.pay_from_balance_as(authenticated_participant(key), price)

    @staticmethod
    def _balance_accepted(price: Price) -> None:
        if not price.allow_balance:
            raise ApplicationError(
                "This endpoint cannot be paid from a prepaid balance; pay with x402",
                code="balance_not_accepted",
            )

    def pay_from_balance_as(self, participant: Participant, price: Price | None = None) -> Response:
        """Charge the prepaid balance of a caller authenticated otherwise: by the key in
        `X-BALANCE-AUTH`, or (the web dashboard, `payments.web.gateway`) by its session.
        The same checks, holds, charge and ledger either way."""
        if price is None:
            price = self.view.price(self.request, **self.kwargs)
        self._balance_accepted(price)
        data = self.view.validate(self.request, participant.wallet, **self.kwargs)
        return idempotent(
            self.request,
            f"p:{participant.public_id}",
            lambda: self._charge_balance(price, participant, data),
        )

    def _short(self, price: Price) -> Response:
        return self._challenge(
            price,
            f"Insufficient balance for {format_usd(price.amount)} USDC: pay with x402 "
            "or deposit to your balance",
            "insufficient_balance",
        )

    def _charge_balance(self, price: Price, participant: Participant, data: Any) -> Response:
        if self.view.check_balance_first and not price.escrow and price.amount > 0:
            return self._charge_held(price, participant, data)
        # An escrowed purchase's `perform` takes the money itself, and its `prepare` calls
        # nobody; still, no work at all when the balance cannot pay.
        if self.view.check_balance_first and balance_of(agent_account(participant)) < price.amount:
            return self._short(price)
        data = self.view.prepare(self.request, data)
        try:
            with transaction.atomic():
                paid = Paid("balance", participant, price.amount)
                # The work before the charge: it locks its rows (a thread, then its job)
                # before any ledger account, the order everything else uses (a release locks
                # its job, then the accounts). Charging first deadlocked a dispute against a
                # verify on PostgreSQL. A balance spent meanwhile rolls the work back.
                response = self.view.perform(self.request, paid, data, **self.kwargs)
                if not price.escrow:
                    ledger_record(
                        kind="charge",
                        idempotency_key=new_public_id("chg"),
                        postings=_postings(
                            price, agent_account(participant), price.amount, participant
                        ),
                        description=price.description,
                        reference=self._reference(paid, path=self.request.path),
                        savepoint=False,  # a short balance rolls this whole block back
                    )
                idempotency_keep(self.request, response)
                return response
        except InsufficientFunds:
            return self._short(price)

    def _charge_held(self, price: Price, participant: Participant, data: Any) -> Response:
        """Costly work (a provider's call, a stored file) is done only on money held for it:
        the amount leaves the balance before `prepare` (so concurrent requests cannot all
        pass a check of the same money) and the hold becomes the charge in `perform`'s
        transaction; a refusal gives it back, and reconciliation releases the hold of a
        request that died in between (payments/holds.py)."""
        try:
            hold = hold_take(
                participant, price.amount, description=price.description, path=self.request.path
            )
        except InsufficientFunds:
            return self._short(price)
        try:
            data = self.view.prepare(self.request, data)
            with transaction.atomic():
                paid = Paid("balance", participant, price.amount)
                response = self.view.perform(self.request, paid, data, **self.kwargs)
                hold_charge(
                    hold,
                    _postings(price, hold.account, price.amount, participant),
                    description=price.description,
                    path=self.request.path,
                    reference=self._reference(paid),
                )
                idempotency_keep(self.request, response)
                return response
        except BaseException:
            try:
                hold_release(hold, reason="request refused")
            except Exception:  # the database is gone too: reconciliation releases it
                logger.exception("releasing hold %s failed", hold.public_id)
            raise

    # --- x402 ---------------------------------------------------------------------------
    def _pay_with_x402(self, price: Price, header: str, version: int) -> Response:
        try:
            payload = x402.decode_payment_header(header, version=version)
            option = x402.select_option(payload, payment_options(self.request, price))
            self._payload = payload
        except x402.X402Error as exc:
            return self._challenge(price, exc.message, exc.reason)
        claimed = X402Payment.objects.filter(fingerprint=payload.fingerprint()).first()
        if claimed is not None:
            # A replay of an authorization verified when it was claimed: verifying it again
            # would only say it is now used, or expired, where its claim knows how it ended.
            payer = claimed.payer
        else:
            verified = facilitator().verify(payload, option)
            if not verified.is_valid:
                return self._challenge(
                    price,
                    verified.message or "Invalid payment",
                    verified.reason or "invalid_payment",
                )
            payer = verified.payer or payload.authorization.from_address
        data = self.view.validate(self.request, payer, **self.kwargs)
        return idempotent(
            self.request,
            f"w:{payer.lower()}",
            lambda: self._settle_and_perform(price, payload, option, data),
        )

    def _settle_and_perform(
        self, price: Price, payload: x402.PaymentPayload, option: x402.PaymentOption, data: Any
    ) -> Response:
        payment, claimed = self._claim(payload, option)
        if not claimed:
            answer = self._first_outcome(payment, payload)
            if answer is not None:
                return answer
            answer = self._already_claimed(price, payment)
            if answer is not None:
                return answer
            if payment.status == X402Payment.Status.SETTLED:
                # Settled, but its request never completed: complete it now.
                data = self.view.prepare(self.request, data)
                return self._fulfil(price, payment, payload, data)
            # Still settling: the request that claimed it died before sending its
            # settlement, and this replay took it over (`_already_claimed`).
        try:
            data = self.view.prepare(self.request, data)
        except BaseException:
            # Refused before any money moved: the authorization was never used, so it may
            # pay for a retry.
            payment_unclaim(payment)
            raise
        if not payment_claim_renew(payment):
            # This request outlived its claim and a replay took the payment over: that one
            # settles it, and a further replay learns the outcome.
            return pending(payment)
        try:
            result = facilitator().settle(payload, option)
        except Exception:
            # The chain or facilitator failed mid-way: the transfer may or may not have
            # been sent. Unknown is "pending", never a fresh 402 that would make the buyer
            # pay twice; reconciliation reads the token to resolve it.
            logger.exception("settling payment %s failed", payment.public_id)
            result = SettleResult("pending", "", "settlement_error")
        if not claimed and result.status == "failed":
            # The request that died may have sent this settlement before it died: the
            # authorization used since is that transfer (as reconciliation concludes).
            on_chain = payment_chain_outcome(payment, timezone.now())
            if on_chain.status == "settled":
                result = on_chain
        payment_record_outcome(payment, result)
        if payment.status == X402Payment.Status.FAILED:
            return self._challenge(
                price,
                f"Settlement failed: {payment.error_reason}",
                payment.error_reason or "settlement_failed",
            )
        if payment.status != X402Payment.Status.SETTLED:
            return pending(payment)
        return self._fulfil(price, payment, payload, data)

    def _claim(
        self, payload: x402.PaymentPayload, option: x402.PaymentOption
    ) -> tuple[X402Payment, bool]:
        """Claim the authorization for this request: a unique row per (payer, nonce)."""
        auth = payload.authorization
        try:
            with transaction.atomic():
                return (
                    X402Payment.objects.create(
                        public_id=new_public_id("pay"),
                        x402_version=payload.version,
                        network=option.network.caip2,
                        asset=option.asset.lower(),
                        payer=auth.from_address.lower(),
                        pay_to=option.pay_to.lower(),
                        amount=auth.value,
                        nonce=auth.nonce.lower(),
                        valid_before=auth.valid_before,
                        fingerprint=payload.fingerprint(),
                        method=self.request.method or "POST",
                        resource=option.resource[:500],
                    ),
                    True,
                )
        except IntegrityError:
            existing = X402Payment.objects.filter(fingerprint=payload.fingerprint()).first()
            if existing is None:
                # Same payer and nonce, different signed content: never the same payment.
                raise PaymentRequired(
                    "This authorization nonce was already used",
                    code="invalid_exact_evm_nonce_already_used",
                ) from None
            return existing, False

    def _already_claimed(self, price: Price, payment: X402Payment) -> Response | None:
        """A replayed payment header: finish an interrupted request, or refuse."""
        resource = public_base_url(self.request) + self.request.path
        if payment.resource != resource[:500]:
            raise ApplicationError(
                f"This payment was made for {payment.resource}, not {resource}",
                code="payment_already_used",
                status=409,
            )
        if payment.status in (X402Payment.Status.SETTLING, X402Payment.Status.PENDING):
            # Its outcome is unknown: a receipt timed out, or the request settling it died
            # (or is still at it). The chain knows; whichever request then fulfils first
            # wins (`payment_claim_fulfilment`), so the work is done once.
            now = timezone.now()
            result = payment_chain_outcome(payment, now)
            if result.status == "pending":
                # The authorization is unused and still valid. Claimed by a request that
                # died before sending it (its lease over): this replay settles it instead.
                if payment_claim_renew(payment, stale_before=now - claim_lease()):
                    return None
                # Another request holds it (or just took it over): its answer is this one's.
                return self._first_outcome(payment, self._payload) or pending(payment)
            payment_record_outcome(payment, result)
        if payment.status == X402Payment.Status.FAILED:
            return self._challenge(
                price,
                f"This payment failed to settle ({payment.error_reason}); sign a new one",
                payment.error_reason or "settlement_failed",
            )
        if payment.fulfilled_at is not None:
            refund = payment_refund(payment)
            if refund == "balance":
                raise ApplicationError(
                    "This payment settled but its request never completed: its "
                    f"{format_usd(payment.amount)} USDC were credited to your prepaid balance",
                    code="payment_credited_to_balance",
                    status=409,
                    extra={"refunded_to_balance": format_usd(payment.amount)},
                )
            if refund == "wallet":
                raise ApplicationError(
                    "This payment settled but its request never completed: its "
                    f"{format_usd(payment.amount)} USDC were sent back to your wallet",
                    code="payment_returned_to_wallet",
                    status=409,
                    extra={"returned_to_wallet": format_usd(payment.amount)},
                )
            raise ApplicationError(
                "This payment has already paid for a request",
                code="payment_already_used",
                status=409,
            )
        return None  # settled but its request never completed (or taken over): complete it

    def _fulfil(
        self, price: Price, payment: X402Payment, payload: x402.PaymentPayload, data: Any
    ) -> Response:
        participant = participant_for_wallet(payment.payer)
        if payment.participant_id is None:
            X402Payment.objects.filter(pk=payment.pk).update(participant=participant)
        receipt = _receipt(payment, payload)
        paid = Paid("x402", participant, payment.amount, payment)
        try:
            with transaction.atomic():
                if not payment_claim_fulfilment(payment):
                    raise ApplicationError(
                        "This payment has already paid for a request",
                        code="payment_already_used",
                        status=409,
                    )
                # Recorded after the work, as a balance charge is (the lock order: its rows,
                # then the ledger's accounts), except a deposit: its answer reads the balance.
                deposit = price.destination is None
                if not price.escrow and deposit:
                    self._record_x402(price, payment, paid)
                response = self.view.perform(self.request, paid, data, **self.kwargs)
                if not price.escrow and not deposit:
                    self._record_x402(price, payment, paid)
                self._keep_answer(payment, response)
                response["X-PAYMENT-RESPONSE"] = receipt
                response["PAYMENT-RESPONSE"] = receipt
                idempotency_keep(self.request, response)
        except ApplicationError as exc:
            if exc.code in ("payment_already_used",):
                # A copy of this request fulfilled it first: its answer is this one's.
                answer = self._first_outcome(payment, payload)
                if answer is not None:
                    return answer
                raise
            # The money moved but the work was refused (a race since validation): keep the
            # buyer whole. Money in the treasury is credited to its prepaid balance; money in
            # the escrow contract goes back to its wallet.
            if price.escrow:
                payment_return_from_escrow(payment)
                refund = {"returned_to_wallet": format_usd(payment.amount)}
            else:
                payment_credit_to_balance(payment, participant, reason=exc.code)
                refund = {"refunded_to_balance": format_usd(payment.amount)}
            response = Response(error_body(exc.message, exc.code, **refund), status=exc.status_code)
            self._keep_answer(payment, response)
        response["X-PAYMENT-RESPONSE"] = receipt
        response["PAYMENT-RESPONSE"] = receipt
        return response

    # --- copies of one paid request -----------------------------------------------------
    def _fingerprint(self) -> str:
        """What identifies this request (method, path, media type, body): a copy of it has
        the same. A body the view never parsed, in a type it does not parse, counts by its
        media type alone."""
        if not hasattr(self, "_request_fingerprint"):
            try:
                self._request_fingerprint = request_fingerprint(self.request)
            except APIException:
                what = [self.request.method, self.request.path, self.request.content_type]
                self._request_fingerprint = hashlib.sha256(json.dumps(what).encode()).hexdigest()
        return self._request_fingerprint

    def _keep_answer(self, payment: X402Payment, response: Any) -> None:
        """Store the answer of the request this payment paid for (encrypted: it may hold
        an API key), for a copy of the same request (`_first_outcome`). A view's
        `replay_data` is what may be stored (credentials left out); a file is not kept."""
        if not isinstance(response, Response) or response.status_code >= 500:
            return
        body = json.dumps(getattr(response, "replay_data", response.data), cls=JSONEncoder)
        X402Payment.objects.filter(pk=payment.pk).update(
            request_fingerprint=self._fingerprint(),
            response_status=response.status_code,
            response_body=crypto.encrypt(body, purpose=ANSWER_PURPOSE),
        )

    def _kept_answer(self, payment: X402Payment, payload: x402.PaymentPayload) -> Response | None:
        """The stored answer of the request `payment` paid for, if it is this request."""
        if payment.response_status is None or payment.response_body is None:
            return None
        if payment.request_fingerprint != self._fingerprint():
            return None  # another request: `_already_claimed` refuses it
        text = crypto.decrypt(bytes(payment.response_body), purpose=ANSWER_PURPOSE)
        response = Response(json.loads(text), status=payment.response_status)
        receipt = _receipt(payment, payload)
        response["X-PAYMENT-RESPONSE"] = receipt
        response["PAYMENT-RESPONSE"] = receipt
        response["X-Payment-Replayed"] = "true"
        return response

    def _first_outcome(self, payment: X402Payment, payload: x402.PaymentPayload) -> Response | None:
        """A copy of a payment header already claimed: without an Idempotency-Key (whose
        own rules answer a concurrent repeat with 409), wait for the request that claimed
        it, up to `THE402_SETTLE_TIMEOUT`, and give its answer (the job, the result) to
        this copy too: one charge, one piece of work, the same answer. 202 when the wait
        runs out; None when `_already_claimed` decides (the payment failed, went to a
        refund, paid for another request, or its request died: taken over from here)."""
        if self.request.headers.get("Idempotency-Key") is not None:
            return None
        deadline = time.monotonic() + settings.SETTLE_TIMEOUT
        next_chain_look, used_on_chain_at = 0.0, None
        while True:
            payment.refresh_from_db()
            answer = self._kept_answer(payment, payload)
            if answer is not None:
                return answer
            now, clock = timezone.now(), time.monotonic()
            if payment.fulfilled_at is not None or payment.status in (
                X402Payment.Status.FAILED,
                X402Payment.Status.PENDING,  # its request gave up waiting: the chain decides
            ):
                return None
            if payment.updated_at < now - claim_lease():
                return None  # its request died: a replay takes it over
            if payment.status == X402Payment.Status.SETTLING and clock >= next_chain_look:
                # Sent and mined, yet not recorded: a live request records it at once, so
                # one that has not within a grace died after sending it.
                next_chain_look = clock + 1.0
                if payment_chain_outcome(payment, now).status != "pending":
                    used_on_chain_at = used_on_chain_at or clock
                    if clock - used_on_chain_at >= DEAD_AFTER_MINED:
                        return None
            if clock >= deadline:
                return pending(payment)
            time.sleep(COPY_POLL_SECONDS)

    def _record_x402(self, price: Price, payment: X402Payment, paid: Paid) -> None:
        base = {"payment": payment.public_id, "tx": payment.tx_hash}
        if price.destination is None:  # to the payer's own balance: a deposit
            base["deposit"] = payment.public_id
        ledger_record(
            kind="x402_payment",
            idempotency_key=f"x402:{payment.public_id}",
            postings=_postings(price, WORLD, payment.amount, paid.participant),
            description=price.description,
            reference=self._reference(paid, **base),
        )

    def _reference(self, paid: Paid, **base: str) -> dict[str, str]:
        """The ledger reference of this request's money: `base`, the objects its URL names
        (a job, a thread, a service, a quote) and what `perform` put in `paid.reference`."""
        named = {
            name.removesuffix("_id"): value
            for name, value in self.kwargs.items()
            if name in _REFERENCED_KWARGS and isinstance(value, str)
        }
        return {**base, **named, **paid.reference}


def _receipt(payment: X402Payment, payload: x402.PaymentPayload) -> str:
    """The settlement receipt (`X-PAYMENT-RESPONSE` / `PAYMENT-RESPONSE`)."""
    return x402.encode_settle_response(
        success=True,
        transaction=payment.tx_hash,
        network=current_network().caip2 if payload.version == 2 else current_network().x402_name,
        payer=payload.authorization.from_address,
    )


# URL parameters naming what a paid request is about, recorded on its ledger movement.
_REFERENCED_KWARGS = ("job_id", "thread_id", "service_id", "quote_id")


def _postings(price: Price, source: str, amount: int, participant: Participant) -> list[Posting]:
    """`amount` from `source`: the price's shares to their accounts, the rest to its
    destination (or the payer's own balance)."""
    rest = amount - sum(part for _, part in price.shares)
    parts = [*price.shares, (price.destination or agent_account(participant), rest)]
    return [Posting(source, account, part) for account, part in parts if part]


def authenticated_participant(key: str) -> Participant:
    """The participant behind an API key, or a 401."""
    if not key:
        raise ApplicationError(
            "This endpoint needs your API key in the X-API-Key header",
            code="api_key_required",
            status=401,
            headers={"WWW-Authenticate": www_authenticate(["X-API-Key"])},
        )
    participant = participant_for_api_key(key)
    if participant is None:
        raise ApplicationError("Invalid or revoked API key", code="invalid_api_key", status=401)
    return participant


def pending(payment: X402Payment) -> Response:
    return Response(
        {
            "error": "The payment's settlement is not confirmed yet. Send the same request "
            "with the same payment header to complete it; do not pay again.",
            "code": "payment_pending",
            "payment_id": payment.public_id,
            "transaction": payment.tx_hash,
        },
        status=202,
    )
