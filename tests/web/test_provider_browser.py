"""In a real browser, the provider's whole business without the API: sign up with a wallet,
become a provider, list a human service in the form (a refused schema first), find it in
the catalog; an agent buys it by API (x402 on the test chain); the job shows up in the inbox
without a reload; the provider starts it, writes, delivers a file and the deliverables; the
agent verifies by API; the provider sees the earning settle and the chart change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from marketplace.catalog.models import Service
from marketplace.deals.models import Job, ThreadMessage
from payments.ledger_check import ledger_problems
from payments.models import Participant
from payments.reconcile import reconcile
from payments.services import api_key_issue
from tests.conftest import ONE_USDC
from tests.factories import ParticipantFactory
from tests.payments.x402_client import payment_header
from tests.web.conftest import Wallet, axe_check, snap

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = (
    '{"type": "object", "properties": {"summary": {"type": "string", '
    '"description": "What you found"}}, "required": ["summary"]}'
)


@pytest.fixture
def platform(live_server: Any, chain: Any, settings: Any, tmp_path: Path) -> Iterator[httpx.Client]:
    settings.PUBLIC_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def x402(client: httpx.Client, path: str, body: Any, payer: LocalAccount) -> httpx.Response:
    challenge = client.post(path, json=body)
    name, value = payment_header(challenge, payer, version=1)
    return client.post(
        path, json=body, headers={name.removeprefix("HTTP_").replace("_", "-"): value}
    )


def provider_nav(page: Any, name: str) -> Any:
    return page.get_by_role("navigation", name="Provider").get_by_role("link", name=name)


def test_a_provider_runs_a_human_service_from_the_dashboard(
    page: Any,
    url: Callable[[str], str],
    wallet: Callable[..., Wallet],
    platform: httpx.Client,
    funded_payer: Callable[..., LocalAccount],
    tmp_path: Path,
) -> None:
    # Sign up with a wallet, then become a provider.
    signer = wallet()
    page.goto(url("/accounts/login/"))
    page.get_by_role("button", name="Sign in with your wallet").click()
    page.wait_for_url(url("/dashboard/"))
    page.get_by_role("link", name="Provider").click()
    page.get_by_role("heading", name="Become a provider").wait_for()
    axe_check(page)
    snap(page, "provider-onboard")
    page.get_by_label("Name").fill("Tidewater Research")
    page.get_by_label("Description").fill("Coastal research, by hand.")
    page.get_by_role("button", name="Become a provider").click()
    page.get_by_role("heading", name="Tidewater Research").wait_for()
    provider = Participant.objects.get(wallet=signer.address)
    assert provider.is_provider
    assert page.get_by_test_id("payout-address").inner_text() == signer.address
    axe_check(page)
    snap(page, "provider-home")

    # List a human service; a bad schema is refused at its field first.
    page.get_by_role("link", name="List a service").first.click()
    page.get_by_label("Name").fill("Tide table for any coast")
    page.get_by_label("Description").fill("A researcher compiles the tides for your coast.")
    page.get_by_label("Category").fill("research")
    page.get_by_label("Tags").fill("tides, coast")
    page.get_by_label("Type").select_option("human_service")
    page.get_by_label("Price (USD)").fill("2.00")
    assert page.get_by_test_id("preview-agent-price").inner_text() == "$2.10"  # live, by JS
    page.get_by_label("Deliverable schema").fill('{"type": "object", "properties": ')
    page.get_by_role("button", name="List the service").click()
    error = page.get_by_test_id("error-deliverable_schema")
    assert "Not valid JSON" in error.inner_text()
    assert not Service.objects.filter(provider=provider).exists()
    axe_check(page)
    snap(page, "provider-service-form-error")
    page.get_by_label("Deliverable schema").fill(SCHEMA)
    page.get_by_role("button", name="List the service").click()
    page.get_by_test_id("services-table").wait_for()
    service = Service.objects.get(provider=provider)
    axe_check(page)
    snap(page, "provider-services")
    catalog = platform.get("/v1/services/catalog", params={"q": "tide table"}).json()
    assert [s["id"] for s in catalog["services"]] == [service.public_id]
    assert catalog["services"][0]["agent_price"] == "2.10"

    # The inbox is open when an agent buys by API: the job appears without a reload.
    provider_nav(page, "Jobs inbox").click()
    page.get_by_test_id("inbox-empty").wait_for()
    payer = funded_payer(5 * ONE_USDC)
    buyer = ParticipantFactory(type=Participant.Type.AGENT, wallet=payer.address)
    key = api_key_issue(participant=buyer)
    bought = x402(
        platform, f"/v1/services/{service.public_id}/purchase", {"coast": "Algarve"}, payer
    )
    assert bought.status_code == 201, bought.text
    job_id, thread_id = bought.json()["job_id"], bought.json()["thread_id"]
    page.locator(f'tr[data-job="{job_id}"]').wait_for(timeout=20_000)
    axe_check(page)
    snap(page, "provider-inbox")

    # Start, write, deliver a file and the deliverables.
    page.get_by_role("link", name=job_id).click()
    assert "Algarve" in page.get_by_test_id("brief").inner_text()
    page.get_by_role("button", name="Start work").click()
    page.get_by_test_id("job-status").get_by_text("in progress").wait_for()
    message_form = page.locator('form[action$="/message/"]')
    message_form.get_by_label("Message").fill("Starting with the spring tides.")
    message_form.get_by_role("button", name="Send").click()
    page.get_by_text("Starting with the spring tides.").wait_for()
    report = tmp_path / "tides.csv"
    report.write_text("time,height_m\n14:02,3.2\n")
    deliver_form = page.locator('form[action$="/deliver/"]')
    deliver_form.get_by_label("Summary").fill("Spring tides peak at 14:02, 3.2 m")
    deliver_form.get_by_label("File").set_input_files(str(report))
    deliver_form.get_by_role("button", name="Deliver").click()
    page.get_by_test_id("job-status").get_by_text("completed").wait_for()
    assert page.get_by_test_id("attachment").inner_text() == "tides.csv"
    axe_check(page)
    snap(page, "provider-job")
    job = Job.objects.get(public_id=job_id)
    assert job.deliverables == {"summary": "Spring tides peak at 14:02, 3.2 m"}
    assert ThreadMessage.objects.filter(thread__public_id=thread_id, kind="attachment").exists()

    # The agent sees it all by API and verifies.
    thread = platform.get(f"/v1/threads/{thread_id}", headers={"X-API-Key": key}).json()
    assert [m["message"] for m in thread["messages"] if m["sender"] == "provider"][:1] == [
        "Starting with the spring tides."
    ]
    verified = platform.post(f"/v1/threads/{thread_id}/verify", headers={"X-API-Key": key})
    assert verified.status_code == 200, verified.text

    # The earning settles, and the chart shows it.
    provider_nav(page, "Earnings").click()
    assert page.get_by_test_id("settled").inner_text() == "$2.00"
    assert "total $2.00" in page.get_by_test_id("earnings-chart").inner_html()
    axe_check(page)
    snap(page, "provider-earnings")
    provider_nav(page, "Webhook log").click()
    axe_check(page)
    assert ledger_problems() == []
    assert reconcile() == []
