"""Factories for the project's models. Writes go through the services, as in production."""

from __future__ import annotations

import secrets
from typing import Any

import factory

from marketplace.models import PricingModel, Service, ServiceType
from marketplace.services import service_create
from payments.eip3009 import Authorization
from payments.models import Participant, X402Payment
from payments.services import participant_create
from the402.lib.ids import new_public_id


def random_wallet() -> str:
    return "0x" + secrets.token_hex(20)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    wallet = factory.LazyFunction(random_wallet)
    name = factory.Sequence(lambda n: f"Participant {n}")
    type = Participant.Type.PROVIDER

    @classmethod
    def _create(cls, model_class: type[Participant], *args: Any, **kwargs: Any) -> Participant:
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
