from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/payments/participant/?q=Participant",
        "/admin/payments/participant/?type__exact=provider",
        "/admin/marketplace/service/?q=Service",
        "/admin/marketplace/service/?status__exact=active&service_type__exact=data_api",
        "/admin/reputation/reputationscore/",
    ],
)
def test_admin_lists_load_with_search_and_filters(admin_client: Client, url: str) -> None:
    ServiceFactory.create_batch(3)
    assert admin_client.get(url).status_code == 200


def test_the_service_list_query_count_does_not_grow_with_rows(
    admin_client: Client, django_assert_max_num_queries
) -> None:
    ServiceFactory.create_batch(3)
    admin_client.get("/admin/marketplace/service/")
    ServiceFactory.create_batch(20)
    with django_assert_max_num_queries(12):
        assert admin_client.get("/admin/marketplace/service/").status_code == 200


def test_the_service_change_page_loads(admin_client: Client) -> None:
    service = ServiceFactory()
    assert admin_client.get(f"/admin/marketplace/service/{service.pk}/change/").status_code == 200
