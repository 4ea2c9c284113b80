"""Factories for the project's models. Writes go through the services, as in production."""

from __future__ import annotations

import builtins
import secrets
from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from marketplace.catalog.services import service_create
from marketplace.deals.jobs import job_create, job_dispatch
from marketplace.models import Job, PricingModel, Service, ServiceType
from payments.eip3009 import Authorization
from payments.escrow import escrow_open_ledger
from payments.ledger import WORLD, Posting, agent_account, ledger_record
from payments.models import Participant, X402Payment
from payments.services import participant_create
from the402.lib.ids import new_public_id
from the402.lib.money import platform_fee


def deposit(participant: Participant, amount: int) -> None:
    """Credit the participant's prepaid balance, as a confirmed x402 deposit would."""
    ledger_record(
        kind="deposit",
        idempotency_key=new_public_id("dep"),
        postings=[Posting(WORLD, agent_account(participant), amount)],
    )


def random_wallet() -> str:
    return "0x" + secrets.token_hex(20)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    wallet = factory.LazyFunction(random_wallet)
    name = factory.Sequence(lambda n: f"Participant {n}")
    type = Participant.Type.PROVIDER

    @classmethod
    def _create(
        cls, model_class: builtins.type[Participant], *args: Any, **kwargs: Any
    ) -> Participant:
        return participant_create(**kwargs)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    provider = factory.SubFactory(ParticipantFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "A dependable service for agents."
    category = "data"
    tags: list[str] = []
    service_type = ServiceType.DATA_API
    pricing_model = PricingModel.FIXED
    price_micros = 1_000_000

    @classmethod
    def _create(cls, model_class: type[Service], *args: Any, **kwargs: Any) -> Service:
        return service_create(**kwargs)


class JobFactory(factory.django.DjangoModelFactory):
    """A job paid from the buyer's balance (deposited first) into a ledger escrow; dispatched
    unless `dispatched=False`."""

    class Meta:
        model = Job

    service = factory.SubFactory(ServiceFactory)
    buyer = factory.SubFactory(ParticipantFactory, type=Participant.Type.AGENT)
    brief = factory.LazyFunction(lambda: {"topic": "tide tables"})
    dispatched = True

    @classmethod
    def _create(cls, model_class: type[Job], *args: Any, **kwargs: Any) -> Job:
        service, buyer = kwargs["service"], kwargs["buyer"]
        amount = service.price_micros
        fee = platform_fee(amount)
        deposit(buyer, amount + fee)
        job_id = new_public_id("job")
        escrow = escrow_open_ledger(
            payer=buyer,
            payee=service.provider,
            amount=amount,
            fee=fee,
            expires_at=timezone.now() + timedelta(days=7),
            reference=job_id,
        )
        job = job_create(
            service=service, buyer=buyer, brief=kwargs["brief"], escrow=escrow, public_id=job_id
        )
        return job_dispatch(job) if kwargs["dispatched"] else job


def payment_row(token: str, authorization: Authorization, **fields: Any) -> X402Payment:
    """The row the payment gate writes for an accepted authorization (claimed, by default
    not yet settled); keyword arguments set the rest (status, tx_hash, ...)."""
    return X402Payment.objects.create(
        public_id=new_public_id("pay"),
        x402_version=fields.pop("x402_version", 2),
        network="eip155:84532",
        asset=token.lower(),
        payer=authorization.from_address.lower(),
        pay_to=authorization.to_address.lower(),
        amount=authorization.value,
        nonce=authorization.nonce,
        valid_before=authorization.valid_before,
        fingerprint=new_public_id("fp"),
        method="POST",
        resource=fields.pop("resource", "http://127.0.0.1/v1/register"),
        **fields,
    )


def settled_payment_row(token: str, authorization: Authorization, tx_hash: str) -> X402Payment:
    """The row of a payment whose transfer was mined (`tx_hash`)."""
    return payment_row(
        token, authorization, status="settled", tx_hash=tx_hash, settled_at=timezone.now()
    )
