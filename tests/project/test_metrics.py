"""`/metrics`: Prometheus metrics, readable with the token only (or from loopback without one)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_with_a_token_set_metrics_need_it(settings: Any) -> None:
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    assert Client().get("/metrics").status_code == 404


def test_the_token_reads_request_latency_and_the_database_metrics(
    settings: Any,
) -> None:
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    client = Client()
    client.get("/v1/services/catalog")
    answer = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-for-tests"})
    assert answer.status_code == 200
    text = answer.content.decode()
    assert (
        'the402_http_request_duration_seconds_count{method="GET",route="v1/services/catalog"'
        in text
    )
    assert "the402_task_queue_length" in text


def test_without_a_token_only_loopback_reads_them(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="10.0.0.5").get("/metrics").status_code == 404
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


def test_health_reports_the_broker_chain_and_queue_depth() -> None:
    checks = Client().get("/health").json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"] == "ok"
    assert isinstance(checks["queue_depth"], int)
    assert set(checks) >= {"chain", "chain_block"}
