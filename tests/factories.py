"""Factories for the project's models. Writes go through the services, as in production."""

from __future__ import annotations

import secrets
from typing import Any

import factory

from marketplace.models import PricingModel, Service, ServiceType
from marketplace.services import service_create
from payments.models import Participant
from payments.services import participant_create


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
