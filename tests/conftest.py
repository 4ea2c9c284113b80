from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def api() -> Client:
    """A test client speaking to the API as an agent on loopback would."""
    return Client(HTTP_HOST="127.0.0.1")
