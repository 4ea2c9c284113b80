"""Shared fixtures of the threads API tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.marketplace.deals.threads.helpers import Deal, accepted_human, send_credential, upload


@pytest.fixture(autouse=True)
def _loopback_providers(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1


@pytest.fixture
def busy_deal(api: Client) -> Deal:
    """An accepted human-service deal with a credential and a file on it."""
    deal = accepted_human(api)
    send_credential(api, deal, "root:TOPSECRET")
    upload(api, deal, deal.seller, b"the deliverable")
    return deal
