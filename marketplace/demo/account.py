"""A lived-in demo agent account for `make run` (dev-only, devnet): a dashboard user with a
platform-managed wallet, test USDC deposited to its balance, and a few deals with the demo
catalog's providers, made through the same views and payment gate as the dashboard's own
buttons (`payments.web.gateway`), so what a newcomer sees is what the marketplace did.

Run once the server is up (the demo provider answers data API calls over HTTP), with the
task cluster running (it works on the jobs and answers the inquiry in the background).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import User

from marketplace.catalog.models import PricingModel, Service, ServiceType
from marketplace.catalog.schemas import schema_error
from marketplace.deals.models import Job, Thread
from marketplace.deals.purchases_api import InquireView, PurchaseView
from marketplace.demo.provider import demo_wallets, sample
from payments.accounts import web_account_for_user
from payments.chain.client import current_deployment
from payments.chain.usdc import mint
from payments.models import Participant
from payments.services import participant_update
from payments.web import gateway
from payments.web.deposits import deposit_signed_by_platform
from the402.lib import money

EMAIL = "demo-agent@the402.local"
PASSWORD = "the402-demo-agent"  # noqa: S105 - devnet only, public: printed by `make run`
MINTED = 50_000_000
DEPOSITED = 25_000_000


@dataclass
class DemoAccount:
    email: str
    password: str
    participant: Participant
    created: bool
    notes: list[str] = field(default_factory=list)


def _brief(service: Service) -> dict[str, Any] | None:
    """A sample brief the service takes (its required fields, sampled), or None."""
    schema = service.input_schema or {}
    brief = {
        name: sample(sub)
        for name, sub in (schema.get("properties") or {}).items()
        if name in set(schema.get("required", []))
    }
    return brief if schema_error(service.input_schema, brief) is None else None


def _demo_service(service_type: str, pricing: str) -> list[tuple[Service, dict[str, Any]]]:
    """The cheapest demo service of a kind that takes a sampled brief (one, or none)."""
    for service in (
        Service.objects.active()
        .filter(
            service_type=service_type,
            pricing_model=pricing,
            provider__wallet__in=demo_wallets(),
        )
        .order_by("price_micros", "id")
    ):
        brief = _brief(service)
        if brief is not None:
            return [(service, brief)]
    return []


def seed_demo_account() -> DemoAccount:
    """The demo agent's account, with its deposit and deals the first time (idempotent)."""
    user = User.objects.filter(username=EMAIL).first()
    created = user is None
    if user is None:
        user = User.objects.create_user(username=EMAIL, email=EMAIL, password=PASSWORD)
        EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
    participant = web_account_for_user(user=user).account.participant
    account = DemoAccount(EMAIL, PASSWORD, participant, created)
    if Job.objects.filter(buyer=participant).exists() or not created:
        return account
    participant_update(participant=participant, name="Demo agent")
    mint(token=current_deployment().usdc, to=participant.wallet, amount=MINTED)
    outcome = deposit_signed_by_platform(None, participant, DEPOSITED)
    account.notes.append(f"deposit ${money.format_usd(DEPOSITED)}: {outcome.status}")
    for service, brief in _demo_service(ServiceType.DATA_API, PricingModel.FIXED) + _demo_service(
        ServiceType.AUTOMATED_SERVICE, PricingModel.FIXED
    ):
        bought = gateway.call(
            PurchaseView,
            None,
            participant=participant,
            pay="balance",
            path=f"/v1/services/{service.public_id}/purchase",
            kwargs={"service_id": service.public_id},
            body=brief,
        )
        account.notes.append(f"bought {service.name}: {bought.status}")
    quoted = (
        Service.objects.active()
        .filter(pricing_model=PricingModel.QUOTE_REQUIRED, provider__wallet__in=demo_wallets())
        .order_by("price_micros", "id")[:1]
    )
    for service in quoted:
        asked = gateway.call(
            InquireView,
            None,
            participant=participant,
            pay="balance",
            path=f"/v1/services/{service.public_id}/inquire",
            kwargs={"service_id": service.public_id},
            body={"message": "Hello! What would this cost for a small project?"},
        )
        account.notes.append(f"asked {service.name}: {asked.status}")
    account.notes.append(f"threads: {Thread.objects.filter(buyer=participant).count()}")
    return account
