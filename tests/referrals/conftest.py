"""Shared set-up of the referral tests: data API providers on loopback, and a programme
that started long ago (base rates) unless a test moves its start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _referral_settings(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the providers here listen on 127.0.0.1
    settings.DATA_API_TIMEOUT = 2
    settings.REFERRAL_PROGRAM_START = datetime(2020, 1, 1, tzinfo=UTC)  # launch bonus over
