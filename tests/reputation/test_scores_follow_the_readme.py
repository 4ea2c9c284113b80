"""A flow of real jobs through the API on devnet (x402 purchases paying the escrow contract
on anvil, the provider's updates and the buyer's verify over HTTP, releases on chain) moves
the provider's scores as the README's formulas say. The expected values are computed here
from the README ("Reputation"), not from `reputation.scoring`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from eth_account.signers.local import LocalAccount

from marketplace.models import ServiceType
from payments.models import Escrow, Participant
from payments.services import api_key_issue
from reputation.models import ReputationScore, Signal
from tests.factories import ParticipantFactory, ServiceFactory
from tests.payments.x402_client import payment_header
from tests.provider_server import Provider

pytestmark = pytest.mark.django_db
PRICE = 5_000_000

# The README: prior mean 0.75, strength S = 4; confidence V / (V + 8); human services weigh
# quality 0.40, speed 0.15, reliability 0.20, communication 0.25.
PRIOR_MEAN, S, HALF_VOLUME = 0.75, 4.0, 8.0
HUMAN = {"quality": 0.40, "speed": 0.15, "reliability": 0.20, "communication": 0.25}


def readme_score(values: list[float]) -> float:
    """`100 × (0.75·S + pos) / (S + pos + neg)` over undecayed values (seconds old)."""
    pos = sum(values)
    neg = sum(1 - v for v in values)
    return 100 * (PRIOR_MEAN * S + pos) / (S + pos + neg)


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True


def send(api: Client, url: str, body: Any = None, **headers: str) -> Any:
    return api.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def post(api: Client, url: str, body: Any = None, **headers: str) -> Any:
    response = send(api, url, body, **headers)
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_jobs_through_the_api_move_the_scores_as_the_readme_says(
    api: Client,
    chain: Any,
    funded_payer: Callable[[int], LocalAccount],
    provider_server: Provider,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # No webhook URL: webhook deliveries count for reliability too (weight 0.25), and this
    # test follows the jobs alone.
    provider = ParticipantFactory()
    provider_key = api_key_issue(participant=provider)
    service = ServiceFactory(
        provider=provider,
        service_type=ServiceType.HUMAN_SERVICE,
        price_micros=PRICE,
        estimated_delivery="2 days",
    )
    payer = funded_payer(10 * PRICE)
    url = f"/v1/services/{service.public_id}/purchase"

    def purchase() -> str:
        header, value = payment_header(send(api, url), payer, version=2)
        with django_capture_on_commit_callbacks(execute=True):  # the escrow's funding
            body = post(api, url, **{header: value})
        assert Escrow.objects.get(job__public_id=body["job_id"]).status == Escrow.Status.HELD
        return str(body["job_id"])

    jobs = [purchase() for _ in range(3)]
    buyer = Participant.objects.get(wallet__iexact=payer.address)
    buyer_key = api_key_issue(participant=buyer)
    done = {"status": "completed", "deliverables": {"report": "done"}}
    for job, outcome in zip(jobs, ("verified", "failed", "verified"), strict=True):
        with django_capture_on_commit_callbacks(execute=True):  # releases and refunds
            if outcome == "failed":
                update = {"status": "failed"}
                post(api, f"/v1/jobs/{job}/update", update, HTTP_X_API_KEY=provider_key)
            else:  # delivered well within the 2 days, then accepted unrated
                post(api, f"/v1/jobs/{job}/update", done, HTTP_X_API_KEY=provider_key)
                post(api, f"/v1/jobs/{job}/verify", HTTP_X_API_KEY=buyer_key)

    assert sorted(Signal.objects.values_list("kind", flat=True)) == [
        "job_failed",
        "job_released",
        "job_released",
    ]
    # Released on time, unrated: quality 1, speed 1, reliability 1; failed: reliability 0.
    expected = {
        "quality": readme_score([1, 1]),
        "speed": readme_score([1, 1]),
        "reliability": readme_score([1, 0, 1]),
        "communication": 75.0,
    }
    expected["composite"] = sum(HUMAN[d] * expected[d] for d in HUMAN)
    expected["confidence"] = 3 / (3 + HALF_VOLUME)
    for scope, key in (
        ("provider", ""),
        ("service_type", "human_service"),
        ("service", service.public_id),
    ):
        row = ReputationScore.objects.get(participant=provider, scope=scope, scope_key=key)
        for name, value in expected.items():
            # Seconds of decay at a 90-day half-life move the scores by less than 1e-4.
            assert getattr(row, name) == pytest.approx(value, abs=1e-4), (scope, name)
        assert (row.total_jobs, row.completed_jobs, row.tier, row.is_new) == (
            3,
            2,
            "good",
            True,
        )
    # 83.33, 83.33, 71.43, 75 weighed for a human service: 78.87.
    assert round(expected["composite"], 2) == 78.87
