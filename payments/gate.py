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

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import x402
from payments.chain.client import current_deployment
from payments.chain.usdc import SettleResult
from payments.charges import Paid, Price
from payments.facilitators import facilitator
from payments.holds import hold_charge, hold_release, hold_take
from payments.idempotency import idempotent
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


class PaymentRequired(ApplicationError):
    status_code = 402
    code = "payment_required"


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


def challenge(request: HttpRequest, price: Price, error: str, code: str) -> Response:
    """The 402: a v1 body for v1 clients and a v2 header for v2 clients, same terms."""
    options = payment_options(request, price)
    body = x402.payment_required_body(options, error)
    body["code"] = code
    response = Response(body, status=402)
    required = x402.payment_required_header(options, error)
    response["PAYMENT-REQUIRED"] = required
    # The seeds' clients read `X-PAYMENT-REQUIRED`: the same value under that name too.
    response["X-PAYMENT-REQUIRED"] = required
    response["Cache-Control"] = "no-store"
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
        return challenge(
            self.request, price, "Payment required: send an x402 payment", "payment_required"
        )

    def _serve_with_api_key(self, key: str) -> Response:
        participant = authenticated_participant(key)
        data = self.view.validate(self.request, participant.wallet, **self.kwargs)
        with transaction.atomic():
            return self.view.perform(
                self.request, Paid("api_key", participant, 0), data, **self.kwargs
            )

    # --- prepaid balance ----------------------------------------------------------------
    def _pay_from_balance(self, price: Price, key: str) -> Response:
        if not price.allow_balance:
            raise ApplicationError(
                "This endpoint cannot be paid from a prepaid balance; pay with x402",
                code="balance_not_accepted",
            )
        participant = authenticated_participant(key)
        data = self.view.validate(self.request, participant.wallet, **self.kwargs)
        return idempotent(
            self.request,
            f"p:{participant.public_id}",
            lambda: self._charge_balance(price, participant, data),
        )

    def _short(self, price: Price) -> Response:
        return challenge(
            self.request,
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
                        reference={"path": self.request.path},
                        savepoint=False,  # a short balance rolls this whole block back
                    )
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
                )
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
        except x402.X402Error as exc:
            return challenge(self.request, price, exc.message, exc.reason)
        claimed = X402Payment.objects.filter(fingerprint=payload.fingerprint()).first()
        if claimed is not None:
            # A replay of an authorization verified when it was claimed: verifying it again
            # would only say it is now used, or expired, where its claim knows how it ended.
            payer = claimed.payer
        else:
            verified = facilitator().verify(payload, option)
            if not verified.is_valid:
                return challenge(
                    self.request,
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
            return challenge(
                self.request,
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
                return pending(payment)
            payment_record_outcome(payment, result)
        if payment.status == X402Payment.Status.FAILED:
            return challenge(
                self.request,
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
        receipt = x402.encode_settle_response(
            success=True,
            transaction=payment.tx_hash,
            network=current_network().caip2
            if payload.version == 2
            else current_network().x402_name,
            payer=payload.authorization.from_address,
        )
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
                    self._record_x402(price, payment, participant)
                response = self.view.perform(self.request, paid, data, **self.kwargs)
                if not price.escrow and not deposit:
                    self._record_x402(price, payment, participant)
        except ApplicationError as exc:
            if exc.code in ("payment_already_used",):
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
        response["X-PAYMENT-RESPONSE"] = receipt
        response["PAYMENT-RESPONSE"] = receipt
        return response

    def _record_x402(self, price: Price, payment: X402Payment, participant: Participant) -> None:
        ledger_record(
            kind="x402_payment",
            idempotency_key=f"x402:{payment.public_id}",
            postings=_postings(price, WORLD, payment.amount, participant),
            description=price.description,
            reference={"payment": payment.public_id, "tx": payment.tx_hash},
        )


def _postings(price: Price, source: str, amount: int, participant: Participant) -> list[Posting]:
    """`amount` from `source`: the price's shares to their accounts, the rest to its
    destination (or the payer's own balance)."""
    rest = amount - sum(part for _, part in price.shares)
    parts = [*price.shares, (price.destination or agent_account(participant), rest)]
    return [Posting(source, account, part) for account, part in parts if part]


def authenticated_participant(key: str) -> Participant:
    """The participant behind an API key, or a 401."""
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
