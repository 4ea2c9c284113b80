"""The agent's side of the dashboard in a real browser: a deposit signed by the browser
wallet (EIP-3009 typed data, `eth_signTypedData_v4`) and settled on the test chain; buying a
data API from the catalog and reading its result; inquiring, then accepting the provider's
proposal; verifying a delivered job and disputing another. axe-core checks each page, and
each is saved as a screenshot."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from marketplace.catalog.models import PricingModel, ServiceType
from marketplace.deals.jobs import job_update
from marketplace.deals.threads import proposal_make
from marketplace.models import Job, Thread
from payments.ledger import agent_account, balance_of
from payments.models import Participant
from payments.services import participant_register, participant_update
from tests.factories import JobFactory, ParticipantFactory, ServiceFactory, deposit
from tests.provider_server import Provider
from tests.web.conftest import Wallet, axe_check, snap

pytestmark = pytest.mark.django_db(transaction=True)
ONE_USDC = 1_000_000


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.DATA_API_TIMEOUT = 5


def signed_in_agent(
    page: Any,
    url: Callable[[str], str],
    wallet: Callable[..., Wallet],
    account: LocalAccount | None = None,
    name: str = "Scout agent",
) -> tuple[Participant, Wallet]:
    """An agent registered by API, signed in to the dashboard with its wallet."""
    account = account or Account.create()
    participant = participant_register(wallet=account.address, name=name, type="agent").participant
    signer = wallet(account)
    page.goto(url("/accounts/login/"))
    page.get_by_role("button", name="Sign in with your wallet").click()
    page.wait_for_url(url("/dashboard/"))
    return participant, signer


def test_a_deposit_signed_by_the_browser_wallet_is_settled_and_credited(
    page: Any,
    url: Callable[[str], str],
    wallet: Callable[..., Wallet],
    funded_payer: Callable[[int], LocalAccount],
) -> None:
    payer = funded_payer(20 * ONE_USDC)
    participant, signer = signed_in_agent(page, url, wallet, payer)

    page.goto(url("/dashboard/balance/"))
    axe_check(page)
    page.get_by_label("Amount (USD)").fill("12.50")
    page.get_by_role("button", name="Deposit with your wallet").click()
    page.get_by_text("Deposited $12.50 to your balance.").wait_for()

    assert signer.requests == ["personal_sign", "eth_signTypedData_v4"]
    assert page.get_by_test_id("balance").inner_text() == "$12.50"
    assert balance_of(agent_account(participant)) == 12_500_000
    history = page.get_by_test_id("history")
    assert "Deposit" in history.inner_text()
    axe_check(page)
    snap(page, "balance")
    history.get_by_role("link").first.click()
    page.get_by_role("heading", name="Payment $12.50").wait_for()
    axe_check(page)


def test_an_agent_finds_a_data_api_in_the_catalog_buys_it_and_reads_the_result(
    page: Any,
    url: Callable[[str], str],
    wallet: Callable[..., Wallet],
    provider_server: Provider,
) -> None:
    provider = ParticipantFactory(name="Harbour data")
    participant_update(participant=provider, webhook_url=provider_server.url)
    provider_server.reply = json.dumps({"port": "Brest", "high_tide": "06:12"}).encode()
    service = ServiceFactory(
        provider=provider,
        name="Tide tables",
        description="High and low tides for any port, today.",
        category="weather",
        price_micros=ONE_USDC,
        input_schema={
            "type": "object",
            "properties": {"port": {"type": "string", "description": "A port's name"}},
            "required": ["port"],
        },
        deliverable_schema={
            "type": "object",
            "properties": {"port": {"type": "string"}, "high_tide": {"type": "string"}},
        },
    )
    ServiceFactory(name="Sea charts", category="maps")
    participant, _ = signed_in_agent(page, url, wallet)
    deposit(participant, 5 * ONE_USDC)

    page.goto(url("/"))
    page.get_by_label("Search the catalog").fill("tide")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(url("/services/?q=tide"))
    assert page.get_by_test_id("catalog-total").inner_text() == "1–1 of 1 service"
    axe_check(page)
    snap(page, "catalog")
    page.get_by_role("link", name="Tide tables").click()
    page.wait_for_url(url(f"/services/{service.public_id}/"))
    assert page.get_by_test_id("agent-price").inner_text() == "$1.05"
    axe_check(page)
    snap(page, "service")

    page.get_by_label("Your brief (JSON)").fill('{"port": "Brest"}')
    page.get_by_role("button", name="Buy for $1.05").click()

    job = Job.objects.get(buyer=participant)
    page.wait_for_url(url(f"/dashboard/jobs/{job.public_id}/"))
    assert '"high_tide": "06:12"' in page.get_by_test_id("deliverables").inner_text()
    assert balance_of(agent_account(participant)) == 5 * ONE_USDC - 1_050_000
    axe_check(page)
    snap(page, "job-result")


def test_an_agent_inquires_then_accepts_the_providers_proposal(
    page: Any, url: Callable[[str], str], wallet: Callable[..., Wallet]
) -> None:
    service = ServiceFactory(
        name="Market research",
        service_type=ServiceType.AUTOMATED_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=5 * ONE_USDC,
        price_max_micros=50 * ONE_USDC,
    )
    participant, _ = signed_in_agent(page, url, wallet)
    deposit(participant, 20 * ONE_USDC)

    page.goto(url(f"/services/{service.public_id}/"))
    page.get_by_label("Your message").fill("A report on the tide-table market, please.")
    page.get_by_role("button", name="Send the inquiry ($0.001)").click()
    thread = Thread.objects.get(buyer=participant)
    page.wait_for_url(url(f"/dashboard/threads/{thread.public_id}/"))
    axe_check(page)

    proposal_make(
        thread=thread,
        provider=thread.provider,
        price_micros=10 * ONE_USDC,
        message="Ten dollars, delivered tomorrow.",
    )
    page.reload()
    assert page.get_by_test_id("proposal-total").inner_text() == "$10.50"
    axe_check(page)
    snap(page, "thread-proposal")
    page.get_by_role("button", name="Accept and pay $10.50").click()
    page.get_by_text("Accepted and paid into escrow").wait_for()

    thread.refresh_from_db()
    assert thread.status == Thread.Status.ACCEPTED
    assert balance_of(agent_account(participant)) == 20 * ONE_USDC - 1_000 - 10_500_000
    assert page.get_by_test_id("thread-status").inner_text() == "accepted"
    axe_check(page)


def test_an_agent_verifies_one_delivered_job_and_disputes_another(
    page: Any, url: Callable[[str], str], wallet: Callable[..., Wallet]
) -> None:
    participant, _ = signed_in_agent(page, url, wallet)
    jobs = []
    for name in ("Logo design", "Copy editing"):
        job = JobFactory(
            buyer=participant,
            service=ServiceFactory(name=name, service_type=ServiceType.HUMAN_SERVICE),
        )
        jobs.append(
            job_update(
                job=job,
                provider=job.provider,
                status="completed",
                deliverables={"url": "https://example.com/delivery"},
            )
        )
    deposit(participant, ONE_USDC)  # the dispute's fee
    good, bad = jobs

    page.goto(url("/dashboard/jobs/"))
    axe_check(page)
    snap(page, "jobs")
    page.get_by_role("link", name="Logo design").click()
    page.wait_for_url(url(f"/dashboard/jobs/{good.public_id}/"))
    axe_check(page)
    snap(page, "job-delivered")
    page.get_by_label("Rating (optional)").select_option("5")
    page.get_by_role("button", name="Verify and release payment").click()
    page.get_by_text("Verified: the provider is paid.").wait_for()
    assert page.get_by_test_id("job-status").inner_text() == "released"

    page.goto(url(f"/dashboard/jobs/{bad.public_id}/"))
    page.get_by_label("Reason (10 to 2000 characters)").fill("The copy still has typos.")
    page.get_by_role("button", name="Open a dispute").click()
    page.get_by_text("Disputed: the money stays in escrow").wait_for()
    assert page.get_by_test_id("job-status").inner_text() == "disputed"
    axe_check(page)

    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, bad.status) == (Job.Status.RELEASED, Job.Status.DISPUTED)
    assert bad.dispute_reason == "The copy still has typos."
    assert balance_of(agent_account(participant)) == ONE_USDC - 5_000
