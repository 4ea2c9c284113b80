"""`make run`'s demo provider account: services, a job waiting in the inbox, an inquiry and
an earning, seeded once through the marketplace's own paths."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from marketplace.catalog.models import Service
from marketplace.deals.models import Job, Thread
from marketplace.demo.provider_account import EMAIL, PASSWORD, seed_demo_provider_account
from payments.ledger import balance_of, provider_account

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_provider_has_services_a_waiting_job_an_inquiry_and_an_earning(
    chain: Any,
) -> None:
    account = seed_demo_provider_account()
    again = seed_demo_provider_account()

    provider = account.participant
    assert provider.is_provider and not again.created
    assert Service.objects.filter(provider=provider).count() == 3
    statuses = sorted(Job.objects.filter(provider=provider).values_list("status", flat=True))
    assert statuses == [Job.Status.DISPATCHED, Job.Status.RELEASED]
    assert Thread.objects.filter(provider=provider, status=Thread.Status.INQUIRY).count() == 1
    assert balance_of(provider_account(provider)) == 3_000_000
    client = Client()
    assert client.login(username=EMAIL, password=PASSWORD)
    inbox = client.get("/dashboard/provider/jobs/").content.decode()
    assert "Sitemap health check" in inbox and "Brand naming workshop" in inbox
    assert "$3.00" in client.get("/dashboard/provider/earnings/").content.decode()
