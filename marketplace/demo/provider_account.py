"""A lived-in demo provider account for `make run` (dev-only, devnet): a dashboard user who
became a provider, with services, a job waiting in its inbox, an inquiry to answer and an
earning, all made through the marketplace's own services and payment gate.

A demo client (a participant with a platform-managed wallet, test USDC deposited by x402)
buys the provider's automated service twice from its balance (escrowed on the ledger): one
job is delivered (auto-verified: the provider earns it), the other waits in the inbox; it
also asks about the quoted human service. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from allauth.account.models import EmailAddress
from django.contrib.auth.models import User

from marketplace.catalog.models import PricingModel, ServiceType
from marketplace.catalog.services import provider_onboard, service_create
from marketplace.deals.jobs import job_update
from marketplace.deals.models import Job
from marketplace.deals.purchases_api import InquireView, PurchaseView
from payments.accounts import web_account_for_user
from payments.chain.client import current_deployment
from payments.chain.usdc import mint
from payments.models import Participant
from payments.services import participant_update
from payments.web import gateway
from payments.web.deposits import deposit_signed_by_platform
from the402.lib import money

EMAIL = "demo-provider@the402.local"
PASSWORD = "the402-demo-provider"  # noqa: S105 - devnet only, public: printed by `make run`
CLIENT_EMAIL = "demo-client@the402.local"
MINTED, DEPOSITED = 20_000_000, 10_000_000

REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "What you found, in a paragraph"},
        "score": {"type": "integer", "description": "0 to 100"},
        "report_url": {"type": "string", "description": "Where the full report is"},
    },
    "required": ["summary", "score"],
}


class _Listing(TypedDict):
    """The keyword arguments of `service_create` a demo service gives."""

    name: str
    description: str
    category: str
    tags: list[str]
    service_type: str
    price_micros: int
    estimated_delivery: str
    pricing_model: NotRequired[str]
    price_max_micros: NotRequired[int]
    input_schema: NotRequired[dict[str, Any]]
    deliverable_schema: NotRequired[dict[str, Any]]


SERVICES: list[_Listing] = [
    {
        "name": "Sitemap health check",
        "description": "We crawl your sitemap and report broken, redirected and slow pages.",
        "category": "seo",
        "tags": ["seo", "sitemap", "audit"],
        "service_type": ServiceType.AUTOMATED_SERVICE,
        "price_micros": 3_000_000,
        "estimated_delivery": "1 hour",
        "input_schema": {
            "type": "object",
            "properties": {"sitemap_url": {"type": "string"}},
            "required": ["sitemap_url"],
        },
        "deliverable_schema": REPORT_SCHEMA,
    },
    {
        "name": "Landing page copy review",
        "description": "A copywriter reads your landing page and sends annotated fixes.",
        "category": "writing",
        "tags": ["copywriting", "review"],
        "service_type": ServiceType.HUMAN_SERVICE,
        "price_micros": 15_000_000,
        "estimated_delivery": "2 days",
        "deliverable_schema": REPORT_SCHEMA,
    },
    {
        "name": "Brand naming workshop",
        "description": "Three rounds of names for your product, with domain checks.",
        "category": "branding",
        "tags": ["naming", "branding"],
        "service_type": ServiceType.HUMAN_SERVICE,
        "pricing_model": PricingModel.QUOTE_REQUIRED,
        "price_micros": 50_000_000,
        "price_max_micros": 300_000_000,
        "estimated_delivery": "1 week",
    },
]


@dataclass
class DemoProvider:
    email: str
    password: str
    participant: Participant
    created: bool
    notes: list[str] = field(default_factory=list)


def _user(email: str, password: str | None) -> tuple[User, bool]:
    user = User.objects.filter(username=email).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(username=email, email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user, True


def seed_demo_provider_account() -> DemoProvider:
    """The demo provider's account, its services and deals the first time (idempotent)."""
    user, created = _user(EMAIL, PASSWORD)
    participant = web_account_for_user(user=user).account.participant
    account = DemoProvider(EMAIL, PASSWORD, participant, created)
    if not created:
        return account
    participant = provider_onboard(wallet=participant.wallet, name="Demo studio").participant
    account.participant = participant
    participant_update(
        participant=participant,
        name="Demo studio",
        description="A small studio selling audits and copy reviews (the demo provider).",
    )
    services = [service_create(provider=participant, **spec) for spec in SERVICES]
    account.notes.append(f"listed {len(services)} services")

    client_user, _ = _user(CLIENT_EMAIL, None)
    client = web_account_for_user(user=client_user).account.participant
    participant_update(participant=client, name="Demo client")
    mint(token=current_deployment().usdc, to=client.wallet, amount=MINTED)
    deposit = deposit_signed_by_platform(None, client, DEPOSITED)
    account.notes.append(f"client deposit ${money.format_usd(DEPOSITED)}: {deposit.status}")
    automated = services[0]
    for site in ("https://example.com/sitemap.xml", "https://example.org/sitemap.xml"):
        bought = gateway.call(
            PurchaseView,
            None,
            participant=client,
            pay="balance",
            path=f"/v1/services/{automated.public_id}/purchase",
            kwargs={"service_id": automated.public_id},
            body={"sitemap_url": site},
        )
        account.notes.append(f"client bought {automated.name}: {bought.status}")
    first = Job.objects.filter(service=automated).order_by("created_at", "id").first()
    if first is not None:
        job_update(
            job=first,
            provider=participant,
            status=Job.Status.COMPLETED,
            deliverables={"summary": "42 pages, 2 broken links, 1 slow redirect", "score": 91},
            notes="Delivered from the demo seeder",
        )
        account.notes.append("one job delivered and released: an earning")
    quoted = services[2]
    asked = gateway.call(
        InquireView,
        None,
        participant=client,
        pay="balance",
        path=f"/v1/services/{quoted.public_id}/inquire",
        kwargs={"service_id": quoted.public_id},
        body={"message": "Could you name a tide-table app?", "brief": {"product": "tide app"}},
    )
    account.notes.append(f"client asked about {quoted.name}: {asked.status}")
    return account
