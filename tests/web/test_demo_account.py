"""`manage.py seed_demo_account`: the demo agent `make run` prints, with a real deposit and
real deals with the demo catalog (the demo provider answering over HTTP)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from marketplace.demo.account import EMAIL, PASSWORD
from marketplace.models import Job, Thread
from payments.ledger import agent_account, balance_of
from payments.models import WebAccount

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_account_has_a_deposit_jobs_and_a_thread_and_signs_in(
    live_server: Any, settings: Any, chain: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.PUBLIC_URL = live_server.url
    settings.PORT = int(live_server.url.rsplit(":", 1)[1])
    call_command("seed_demo", webhook_url=f"{live_server.url}/demo/provider", verbosity=0)
    out = StringIO()

    call_command("seed_demo_account", stdout=out)

    participant = WebAccount.objects.get(user__email=EMAIL).participant
    assert f"{EMAIL} / {PASSWORD}" in out.getvalue()
    assert Job.objects.filter(buyer=participant).count() == 2, out.getvalue()
    assert Thread.objects.filter(buyer=participant, job__isnull=True).count() == 1
    assert 0 < balance_of(agent_account(participant)) < 25_000_000
    client = Client()
    assert client.login(username=EMAIL, password=PASSWORD)
    assert client.get("/dashboard/jobs/").status_code == 200
    again = StringIO()
    call_command("seed_demo_account", stdout=again)  # idempotent: nothing more bought
    assert Job.objects.filter(buyer=participant).count() == 2


def test_the_demo_account_is_refused_off_devnet(settings: Any) -> None:
    settings.NETWORK = "base"
    with pytest.raises(CommandError):
        call_command("seed_demo_account")
