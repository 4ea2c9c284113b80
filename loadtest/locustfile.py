"""Locust users with the product's mix of traffic, against the cluster's proxy.

Agents (one prepared agent per user, so each agent's money is one sequence of requests):
catalog searches and detail reads, balance-paid purchases of a data API (answered by the
loopback provider) and of an automated service (escrow, then the provider's job updates),
thread messages (each a `new_message` webhook) and x402 balance deposits. One provider user
moves its dispatched jobs on (`in_progress`, then `completed`), as a provider's worker would.

A paid request whose outcome is unknown (the connection broke, the proxy answered 502/503/504,
the Idempotency-Key is still held by a request that died) is sent again with the same key
and the same payment until it has a final answer, as a careful client does. Every paid
request's final answer is written to LOADTEST_RECORDS (JSON lines) for the fault run's
comparison with the ledger.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from decimal import Decimal
from typing import Any

import gevent.lock
from eth_account import Account
from locust import HttpUser, between, constant_throughput, events, task

from loadtest.x402pay import payer, payment_headers

FIXTURE: dict[str, Any] = json.loads(open(os.environ["LOADTEST_FIXTURE"]).read())  # noqa: SIM115
RECORDS = os.environ.get("LOADTEST_RECORDS", "")
PACE = float(os.environ.get("LOADTEST_PACE", "0"))  # requests per second per user; 0: flat out
RETRY_FOR = float(os.environ.get("LOADTEST_RETRY_FOR", "150"))  # seconds, > the key's lease
AGENT_PRICE = int(os.environ.get("LOADTEST_AGENT_PRICE", "10500"))
DEPOSIT = os.environ.get("LOADTEST_DEPOSIT", "0.50")
WORDS = ["seo", "audit", "data", "translation", "logo", "research", "keyword", "api", "load"]
RETRYABLE = {0, 502, 503, 504}

_agents = itertools.count()
_write = gevent.lock.Semaphore()


def record(entry: dict[str, Any]) -> None:
    if not RECORDS:
        return
    with _write, open(RECORDS, "a") as out:
        out.write(json.dumps(entry) + "\n")


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", ""))
    except (ValueError, AttributeError):
        return ""


def _micros(usd: Any) -> int:
    return int(Decimal(str(usd)) * 1_000_000)


class Agent(HttpUser):
    weight = 19
    wait_time = constant_throughput(PACE) if PACE else between(0.05, 0.25)

    def on_start(self) -> None:
        self.agent = FIXTURE["agents"][next(_agents) % len(FIXTURE["agents"])]
        self.headers = {"X-BALANCE-AUTH": self.agent["key"]}
        self.threads: list[str] = []
        self.http = payer(Account.from_key(self.agent["private_key"]))

    def _final(self, name: str, send: Any) -> tuple[Any, int]:
        """Send until the answer is final; (the answer, how many attempts)."""
        deadline = time.monotonic() + RETRY_FOR
        attempt = 0
        while True:
            attempt += 1
            label = name if attempt == 1 else f"{name} (retry)"
            with send(label) as response:
                status = response.status_code
                retry = status in RETRYABLE or (
                    status in (202, 409)
                    and _code(response) in ("idempotency_key_in_progress", "payment_pending")
                )
                if retry or status < 500:
                    response.success()  # a known, expected answer (the failure is recorded)
                if not retry or time.monotonic() > deadline:
                    return response, attempt
            time.sleep(1.0)

    @task(6)
    def search(self) -> None:
        self.client.get(
            "/v1/services/catalog",
            params={"q": random.choice(WORDS), "limit": 20},  # noqa: S311
            name="catalog search",
        )

    @task(4)
    def detail(self) -> None:
        service = random.choice(FIXTURE["catalog_ids"])  # noqa: S311
        self.client.get(f"/v1/services/{service}", name="service detail")

    def _purchase(self, kind: str) -> None:
        service = FIXTURE["services"][kind]
        key = uuid.uuid4().hex
        name = f"purchase {kind} (balance)"
        response, attempts = self._final(
            name,
            lambda label: self.client.post(
                f"/v1/services/{service}/purchase?max_price=0.0105",
                json={"query": "load test"},
                headers={**self.headers, "Idempotency-Key": key},
                name=label,
                catch_response=True,
            ),
        )
        completed = response.status_code == 201
        record(
            {
                "kind": name,
                "agent": self.agent["id"],
                "key": key,
                "status": response.status_code,
                "code": _code(response),
                "attempts": attempts,
                "charged": AGENT_PRICE if completed else 0,
                "job": response.json().get("job_id") if completed else None,
            }
        )
        if completed and kind == "automated_service":  # a data API's thread is done at once
            self.threads = [*self.threads[-4:], response.json()["thread_id"]]

    @task(4)
    def purchase_data_api(self) -> None:
        self._purchase("data_api")

    @task(2)
    def purchase_automated(self) -> None:
        self._purchase("automated_service")

    @task(2)
    def message(self) -> None:
        if not self.threads:
            return
        thread = random.choice(self.threads)  # noqa: S311
        with self.client.post(
            f"/v1/threads/{thread}/messages",
            json={"message": "How is it going?"},
            headers={"X-API-Key": self.agent["key"]},
            name="thread message",
            catch_response=True,
        ) as response:
            if response.status_code == 409:  # the job was finished meanwhile: thread closed
                response.success()
                self.threads.remove(thread)

    @task(1)
    def deposit(self) -> None:
        path = f"/v1/balance/deposit?amount={DEPOSIT}"
        key = uuid.uuid4().hex
        with self.client.post(path, name="deposit 402", catch_response=True) as challenge:
            if challenge.status_code != 402:
                challenge.failure(f"expected a 402, got {challenge.status_code}")
                return
            challenge.success()
            paid = payment_headers(self.http, challenge, f"{self.client.base_url}{path}")
        response, attempts = self._final(
            "deposit (x402)",
            lambda label: self.client.post(
                path,
                headers={**paid, "Idempotency-Key": key},
                name=label,
                catch_response=True,
            ),
        )
        body: dict[str, Any] = {}
        try:
            body = response.json()
        except ValueError:
            pass
        credited = 0
        if response.status_code == 201:
            credited = _micros(body["deposited_usd"])
        elif _code(response) == "payment_credited_to_balance":
            credited = _micros(body.get("refunded_to_balance", DEPOSIT))
        record(
            {
                "kind": "deposit (x402)",
                "agent": self.agent["id"],
                "key": key,
                "status": response.status_code,
                "code": _code(response),
                "attempts": attempts,
                "credited": credited,
            }
        )


class ProviderWorker(HttpUser):
    """The provider of the load test's services: moves its dispatched jobs on."""

    fixed_count = 1
    wait_time = between(0.2, 0.5)

    def on_start(self) -> None:
        self.headers = {"X-API-Key": FIXTURE["provider"]["key"]}

    @task
    def work(self) -> None:
        for status, new in (("in_progress", "completed"), ("dispatched", "in_progress")):
            listing = self.client.get(
                "/v1/jobs",
                params={"status": status, "limit": 20},
                headers=self.headers,
                name="provider jobs list",
            )
            if listing.status_code != 200:
                continue
            for job in listing.json()["jobs"]:
                body: dict[str, Any] = {"status": new}
                if new == "completed":
                    body["deliverables"] = {"result": "done by the load test's provider"}
                self.client.post(
                    f"/v1/jobs/{job['job_id']}/update",
                    json=body,
                    headers=self.headers,
                    name=f"provider job update ({new})",
                )


@events.init_command_line_parser.add_listener
def _no_options(parser: Any) -> None:  # keeps `locust -f` quiet about this module's options
    return None
