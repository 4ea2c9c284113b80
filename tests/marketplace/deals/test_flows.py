"""Full flows with a real provider, over real HTTP both ways.

The platform is served by pytest-django's `live_server`; the provider is an HTTP server on
127.0.0.1 (`ProviderApp`) that checks each webhook's signature, acknowledges it, then works
in its own thread and calls back (`callback_url`, thread proposals) with its API key, as a
provider integration would. Webhooks leave through django-q2 tasks, run synchronously in
tests right after the transaction that created them commits. The buyer speaks HTTP to the
live server too, and polls its job until the expected status.

After every flow the ledger balances and reconciliation with the chain finds nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.utils import timezone
from eth_account.signers.local import LocalAccount

from marketplace.models import Job, PricingModel, Service, ServiceType, WebhookDelivery
from marketplace.notify.outbox import deliver_due
from marketplace.notify.signing import verify
from payments.chain.escrow_state import escrow_record
from payments.chain.usdc import balance_of as chain_balance
from payments.ledger import (
    agent_account,
    balance_of,
    provider_account,
)
from payments.ledger_check import ledger_problems
from payments.models import Escrow, Participant
from payments.reconcile import reconcile
from payments.services import api_key_issue, participant_update, webhook_secret
from tests.factories import ParticipantFactory, ServiceFactory
from tests.factories import deposit as credit
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db(transaction=True)
ONE_USD = 1_000_000
PRICE, FEE = 2 * ONE_USD, 100_000
DEPOSIT = 10 * ONE_USD
WAIT = 10.0  # seconds: the longest any flow step may take
DELIVERABLES = {"summary": "Tides peak at 14:02", "pages": 3}
DELIVERABLE_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "pages": {"type": "integer"}},
    "required": ["summary"],
}


# ---------------------------------------------------------------- the provider


@dataclass
class Event:
    """A webhook the provider acknowledged (its signature verified)."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def type(self) -> str:
        return str(self.body["type"])


@dataclass
class ProviderApp:
    """A provider's webhook endpoint: verifies the signature (401 if wrong), answers from
    `script` first (`("status", 500)`, or `("hang", seconds)`: say nothing that long, then
    drop the connection), else 200 with `reply(event)`; then, in its own thread, runs the
    handler for the event's type, once per event id (deliveries are at-least-once)."""

    url: str = ""
    secret: str = ""
    api_key: str = ""
    script: list[tuple[str, float]] = field(default_factory=list)
    handlers: dict[str, Callable[[Event], None]] = field(default_factory=dict)
    reply: Callable[[Event], Any] = lambda event: {"ok": True}
    events: list[Event] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (event type, outcome)
    errors: list[str] = field(default_factory=list)
    workers: list[threading.Thread] = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)

    def receive(self, headers: dict[str, str], raw: bytes) -> tuple[str, float, bytes]:
        """What to answer a POST: (outcome, status or seconds to hang, body)."""
        signed = verify(
            self.secret,
            headers.get("X-Webhook-Timestamp", ""),
            raw,
            headers.get("X-Webhook-Signature", ""),
            now=time.time(),
        )
        event = Event(json.loads(raw), headers)
        with self.condition:
            if not signed:
                self.attempts.append((event.type, "bad signature"))
                self.errors.append(f"bad signature on {event.type}")
                return "status", 401, b"bad signature"
            outcome, value = self.script.pop(0) if self.script else ("status", 200)
            self.attempts.append((event.type, f"{outcome} {value:g}"))
        if outcome == "hang" or value >= 300:
            return outcome, value, b"provider trouble"
        return outcome, value, json.dumps(self.reply(event)).encode()

    def acknowledged(self, headers: dict[str, str], raw: bytes) -> None:
        """A 2xx went out: record the event and start its handler (unless seen before)."""
        event = Event(json.loads(raw), headers)
        with self.condition:
            seen = any(e.body["id"] == event.body["id"] for e in self.events)
            self.events.append(event)
            self.condition.notify_all()
        handler = self.handlers.get(event.type)
        if handler is not None and not seen:
            worker = threading.Thread(target=self._work, args=(handler, event), daemon=True)
            self.workers.append(worker)
            worker.start()

    def _work(self, handler: Callable[[Event], None], event: Event) -> None:
        try:
            handler(event)
        except Exception as exc:  # reported by the test, which would otherwise time out
            self.errors.append(f"{event.type} handler: {type(exc).__name__}: {exc}")

    def call(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the platform with the provider's API key; anything but 2xx is an error."""
        response = httpx.post(url, json=body, headers={"X-API-Key": self.api_key}, timeout=WAIT)
        if not response.is_success:
            raise AssertionError(f"{url} answered {response.status_code}: {response.text}")
        return response.json()

    def complete(self, event: Event) -> None:
        """The usual work: say it started, then deliver."""
        self.call(event.body["callback_url"], {"status": "in_progress"})
        self.call(
            event.body["callback_url"],
            {"status": "completed", "deliverables": DELIVERABLES, "notes": "Done early"},
        )

    def wait_for(self, event_type: str) -> Event:
        """The first acknowledged event of this type, waiting up to WAIT seconds."""

        def found() -> Event | None:
            return next((e for e in self.events if e.type == event_type), None)

        with self.condition:
            self.condition.wait_for(lambda: found() is not None or self.errors, timeout=WAIT)
            event = found()
        assert not self.errors, self.errors
        assert event is not None, f"no {event_type} event; got {[e.type for e in self.events]}"
        return event

    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def settle(self) -> None:
        """Let the handlers that were started finish."""
        for worker in list(self.workers):
            worker.join(WAIT)


@pytest.fixture
def provider_app() -> Iterator[ProviderApp]:
    app = ProviderApp()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = dict(self.headers)
            outcome, value, body = app.receive(headers, raw)
            if outcome == "hang":
                time.sleep(value)  # longer than the platform waits: it gives up
                self.close_connection = True
                return
            try:
                self.send_response(int(value))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                return
            if 200 <= value < 300:
                app.acknowledged(headers, raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    app.url = f"http://127.0.0.1:{server.server_address[1]}/the402/webhooks"
    try:
        yield app
    finally:
        app.settle()
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- the platform and its parties


@pytest.fixture
def platform(live_server: Any, chain: Any, settings: Any) -> Iterator[httpx.Client]:
    """An HTTP client on the live server, which tells providers to call it back."""
    settings.PUBLIC_URL = live_server.url
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    settings.WEBHOOK_TIMEOUT = 1
    settings.DATA_API_TIMEOUT = 5
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def check_money(platform: httpx.Client) -> Iterator[None]:
    """After the flow: the ledger balances and the chain agrees with the database."""
    yield
    assert ledger_problems() == []
    assert reconcile() == []


def signed_up(app: ProviderApp) -> Participant:
    """A provider whose webhooks go to `app`, which knows its webhook secret and API key."""
    provider = ParticipantFactory()
    participant_update(participant=provider, webhook_url=app.url)
    secret = webhook_secret(provider)
    assert secret
    app.secret, app.api_key = secret, api_key_issue(participant=provider)
    return provider


def agent(wallet: str | None = None, deposit: int = DEPOSIT) -> tuple[Participant, str]:
    """An agent with `deposit` on its balance (and `wallet`, if given), and its API key."""
    fields = {"wallet": wallet} if wallet else {}
    buyer = ParticipantFactory(type=Participant.Type.AGENT, **fields)
    credit(buyer, deposit)
    return buyer, api_key_issue(participant=buyer)


def base_url(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


def x402_headers(challenge: httpx.Response, payer: LocalAccount) -> dict[str, str]:
    """The X-PAYMENT header paying a 402 from the live server."""
    name, value = payment_header(challenge, payer, version=1)
    return {name.removeprefix("HTTP_").replace("_", "-"): value}


def wait_until(
    read: Callable[[], dict[str, Any]], status: str, what: str, app: ProviderApp
) -> dict[str, Any]:
    """Poll `read()` until its status is `status`, for at most WAIT seconds (less if the
    provider ran into trouble)."""
    deadline = time.monotonic() + WAIT
    body = read()
    while body.get("status") != status and time.monotonic() < deadline and not app.errors:
        time.sleep(0.05)
        body = read()
    assert not app.errors, app.errors
    assert body.get("status") == status, f"{what} stayed {body.get('status')}: {body}"
    return body


def job_when(
    client: httpx.Client, job_id: str, key: str, status: str, app: ProviderApp
) -> dict[str, Any]:
    return wait_until(
        lambda: client.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": key}).json(),
        status,
        f"job {job_id}",
        app,
    )


def thread_of(client: httpx.Client, thread_id: str, key: str) -> dict[str, Any]:
    response = client.get(f"/v1/threads/{thread_id}", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def purchase(client: httpx.Client, service: Service, brief: Any, **headers: str) -> httpx.Response:
    return client.post(f"/v1/services/{service.public_id}/purchase", json=brief, headers=headers)


# ---------------------------------------------------------------- (a) automated, from a balance


def test_an_automated_purchase_is_completed_by_the_provider_and_released(
    platform: httpx.Client, provider_app: ProviderApp, check_money: None
) -> None:
    provider = signed_up(provider_app)
    provider_app.handlers["job_dispatch"] = provider_app.complete
    service = ServiceFactory(
        provider=provider,
        service_type=ServiceType.AUTOMATED_SERVICE,
        price_micros=PRICE,
        deliverable_schema=DELIVERABLE_SCHEMA,
    )
    buyer, key = agent()

    response = purchase(platform, service, {"topic": "tides"}, **{"X-BALANCE-AUTH": key})
    assert response.status_code == 201, response.text
    bought = response.json()
    job = job_when(platform, bought["job_id"], key, Job.Status.RELEASED, provider_app)

    assert (job["deliverables"], job["notes"]) == (DELIVERABLES, "Done early")
    assert job["verified_at"] is not None
    dispatch = provider_app.wait_for("job_dispatch").body
    assert (dispatch["job_id"], dispatch["brief"]) == (bought["job_id"], {"topic": "tides"})
    assert dispatch["callback_url"] == f"{base_url(platform)}/v1/jobs/{bought['job_id']}/update"
    assert provider_app.wait_for("job_verified").body["job_id"] == bought["job_id"]
    assert balance_of(provider_account(provider)) == PRICE
    assert balance_of(agent_account(buyer)) == DEPOSIT - PRICE - FEE
    thread = thread_of(platform, bought["thread_id"], key)
    assert thread["status"] == "verified"
    assert [step["to"] for step in thread["status_history"]] == [
        "accepted",
        "in_progress",
        "completed",
        "verified",
    ]


# ---------------------------------------------------------------- (b) human, negotiated


def test_a_human_service_is_negotiated_paid_by_x402_delivered_and_verified(
    platform: httpx.Client,
    provider_app: ProviderApp,
    funded_payer: Callable[..., LocalAccount],
    chain: Any,
    check_money: None,
) -> None:
    provider = signed_up(provider_app)
    service = ServiceFactory(
        provider=provider,
        service_type=ServiceType.HUMAN_SERVICE,
        pricing_model=PricingModel.QUOTE_REQUIRED,
        price_micros=ONE_USD,
        price_max_micros=10 * ONE_USD,
    )
    base = base_url(platform)

    def propose(event: Event) -> None:
        provider_app.call(
            f"{base}/v1/threads/{event.body['thread_id']}/propose",
            {"price": "2.00", "message": "Can complete in 12 hours"},
        )

    provider_app.handlers["thread_inquiry"] = propose
    provider_app.handlers["job_dispatch"] = provider_app.complete
    payer = funded_payer(5 * ONE_USD)
    buyer, key = agent(wallet=payer.address)

    inquiry = platform.post(
        f"/v1/services/{service.public_id}/inquire",
        json={"message": "Can you chart the tides?", "brief": {"coast": "Algarve"}},
        headers={"X-BALANCE-AUTH": key},
    )
    assert inquiry.status_code == 201, inquiry.text
    thread_id = inquiry.json()["thread_id"]
    assert provider_app.wait_for("thread_inquiry").body["message"] == "Can you chart the tides?"
    offered = wait_until(
        lambda: thread_of(platform, thread_id, key), "negotiating", "thread", provider_app
    )
    assert offered["proposal"]["agent_total_usd"] == 2.1

    accept_path = f"/v1/threads/{thread_id}/accept"
    challenge = platform.post(accept_path)
    assert challenge.status_code == 402, challenge.text
    accepted = platform.post(accept_path, headers=x402_headers(challenge, payer))
    assert accepted.status_code == 201, accepted.text
    job_id = accepted.json()["job_id"]
    assert provider_app.wait_for("proposal_accepted").body["job_id"] == job_id
    assert provider_app.wait_for("job_dispatch").body["thread_id"] == thread_id
    # A human service's delivery waits for the buyer's verify.
    job_when(platform, job_id, key, Job.Status.COMPLETED, provider_app)

    verified = platform.post(f"/v1/threads/{thread_id}/verify", headers={"X-API-Key": key})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    job = job_when(platform, job_id, key, Job.Status.RELEASED, provider_app)
    assert job["deliverables"] == DELIVERABLES
    assert provider_app.wait_for("job_verified").body["thread_id"] == thread_id
    escrow = Job.objects.get(public_id=job_id).escrow
    assert escrow is not None and escrow.status == Escrow.Status.RELEASED
    assert escrow_record(escrow.chain_id)["state"] == "Released"
    assert chain_balance(token=chain.usdc, address=provider.wallet) == 2 * ONE_USD
    assert chain_balance(token=chain.usdc, address=payer.address) == 5 * ONE_USD - 2_100_000


# ---------------------------------------------------------------- (c) a data API


def test_a_data_api_purchase_answers_with_the_providers_json(
    platform: httpx.Client, provider_app: ProviderApp, check_money: None
) -> None:
    provider = signed_up(provider_app)
    provider_app.reply = lambda event: {"tide_m": 3.2, "asked": event.body["brief"]}
    service = ServiceFactory(provider=provider, price_micros=PRICE)
    buyer, key = agent()

    response = purchase(platform, service, {"port": "Faro"}, **{"X-BALANCE-AUTH": key})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["result"] == {"tide_m": 3.2, "asked": {"port": "Faro"}}
    assert body["status"] == Job.Status.RELEASED
    assert provider_app.types() == ["job_dispatch"]
    assert balance_of(provider_account(provider)) == PRICE
    assert balance_of(agent_account(buyer)) == DEPOSIT - PRICE - FEE


# ---------------------------------------------------------------- (d) a dispute


def test_a_disputed_delivery_tells_the_provider_and_the_thread(
    platform: httpx.Client,
    provider_app: ProviderApp,
    funded_payer: Callable[..., LocalAccount],
    check_money: None,
) -> None:
    provider = signed_up(provider_app)
    provider_app.handlers["job_dispatch"] = provider_app.complete
    service = ServiceFactory(
        provider=provider, service_type=ServiceType.HUMAN_SERVICE, price_micros=PRICE
    )
    payer = funded_payer(5 * ONE_USD)
    _, key = agent(wallet=payer.address)
    challenge = purchase(platform, service, {"coast": "Algarve"})
    bought = purchase(platform, service, {"coast": "Algarve"}, **x402_headers(challenge, payer))
    assert bought.status_code == 201, bought.text
    job_id, thread_id = bought.json()["job_id"], bought.json()["thread_id"]
    job_when(platform, job_id, key, Job.Status.COMPLETED, provider_app)

    reason = "The tide table covers the wrong coast entirely."
    disputed = platform.post(
        f"/v1/jobs/{job_id}/dispute", json={"reason": reason}, headers={"X-BALANCE-AUTH": key}
    )
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == Job.Status.DISPUTED
    event = provider_app.wait_for("job_disputed").body
    assert (event["job_id"], event["thread_id"], event["reason"]) == (job_id, thread_id, reason)
    thread = thread_of(platform, thread_id, key)
    assert thread["status"] == "disputed"
    assert [(m["kind"], m["sender"], m["message"]) for m in thread["messages"]] == [
        ("dispute", "buyer", reason)
    ]
    escrow = Job.objects.get(public_id=job_id).escrow
    assert escrow is not None and escrow.status == Escrow.Status.HELD  # until resolved


# ---------------------------------------------------------------- (e) webhook retries


@pytest.mark.parametrize(
    ("first_answer", "error"),
    [(("status", 500), "HTTP 500"), (("hang", 1.5), "timed out")],
    ids=["http-500", "timeout"],
)
def test_a_failed_dispatch_is_retried_and_the_job_still_completes(
    platform: httpx.Client,
    provider_app: ProviderApp,
    check_money: None,
    first_answer: tuple[str, float],
    error: str,
) -> None:
    provider = signed_up(provider_app)
    provider_app.script.append(first_answer)
    provider_app.handlers["job_dispatch"] = provider_app.complete
    service = ServiceFactory(
        provider=provider, service_type=ServiceType.AUTOMATED_SERVICE, price_micros=PRICE
    )
    _, key = agent()

    bought = purchase(platform, service, {"topic": "tides"}, **{"X-BALANCE-AUTH": key})
    assert bought.status_code == 201, bought.text
    job_id = bought.json()["job_id"]
    delivery = WebhookDelivery.objects.get(event_type="job_dispatch")
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)
    assert error in delivery.last_error
    assert Job.objects.get(public_id=job_id).status == Job.Status.DISPATCHED

    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert deliver_due() == 1
    job_when(platform, job_id, key, Job.Status.RELEASED, provider_app)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 2)
    assert balance_of(provider_account(provider)) == PRICE
    outcome, value = first_answer
    assert provider_app.attempts[:2] == [
        ("job_dispatch", f"{outcome} {value:g}"),
        ("job_dispatch", "status 200"),
    ]
    assert provider_app.types().count("job_dispatch") == 1
