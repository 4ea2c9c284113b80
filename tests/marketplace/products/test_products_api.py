"""Digital products: create with a file, browse and search, buy once (balance or x402),
download with a limit, ranges that resume without counting twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone

from marketplace.models import Product, ProductPurchase
from payments.ledger import PLATFORM_FEES, balance_of, provider_account
from payments.ledger_check import ledger_problems
from payments.models import Participant
from tests.marketplace.products.helpers import (
    AGENT_PRICE,
    PDF,
    PRICE,
    body,
    buy,
    create,
    download,
    party,
)
from tests.payments.x402_client import payment_header

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller() -> Any:
    return party(Participant.Type.PROVIDER)


@pytest.fixture
def product(api: Client, seller: Any) -> str:
    response = create(api, seller, download_limit=2)
    assert response.status_code == 201, response.content
    return response.json()["product_id"]


def test_a_product_is_created_with_its_file_stored_and_sniffed(api: Client, seller: Any) -> None:
    response = create(api, seller)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["agent_price"] == "2.10" and data["tags"] == ["seo", "audit"]
    assert data["content_type"] == "application/pdf"  # sniffed, not the declared text/html
    assert data["file_size"] == len(PDF) and data["has_file"] is True
    product = Product.objects.get()
    with storages["products"].open(product.file_key) as stored:
        assert stored.read() == PDF


@pytest.mark.parametrize(
    ("fields", "content", "status", "code"),
    [
        ({"price": "0"}, PDF, 400, "invalid_price"),
        ({"price": "1000000000"}, PDF, 400, "invalid_price"),
        ({"price": "abc"}, PDF, 400, "invalid_price"),
        ({}, b"", 400, "empty_file"),
    ],
)
def test_bad_products_are_refused_and_nothing_is_stored(
    api: Client, seller: Any, fields: dict[str, Any], content: bytes, status: int, code: str
) -> None:
    response = create(api, seller, content, **fields)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert not Product.objects.exists()


def test_an_oversized_upload_is_refused(api: Client, seller: Any, settings: Any) -> None:
    settings.PRODUCT_MAX_BYTES = 1000
    response = create(api, seller, PDF)
    assert response.status_code == 413
    assert not Product.objects.exists()


def test_an_agent_cannot_create_products(api: Client) -> None:
    agent = party()
    assert create(api, agent).status_code == 403


def test_the_file_is_uploaded_later_and_replaced(api: Client, seller: Any) -> None:
    product_id = create(api, seller, None).json()["product_id"]
    assert api.get(f"/v1/products/{product_id}").json()["has_file"] is False
    upload = SimpleUploadedFile("data.csv", b"a,b\n1,2\n", "application/octet-stream")
    response = api.put(
        f"/v1/products/{product_id}/file",
        encode_multipart(BOUNDARY, {"file": upload}),
        content_type=MULTIPART_CONTENT,
        HTTP_X_API_KEY=seller.key,
    )
    assert response.status_code == 200, response.content
    assert response.json()["content_type"] == "text/csv"


def test_a_product_without_a_file_cannot_be_bought(api: Client, seller: Any) -> None:
    product_id = create(api, seller, None).json()["product_id"]
    buyer = party(balance=10_000_000)
    response = buy(api, product_id, buyer)
    assert response.status_code == 409 and response.json()["code"] == "product_unavailable"
    assert buyer.balance == 10_000_000


def test_products_are_searched_with_stemming_and_filtered(api: Client, seller: Any) -> None:
    create(
        api,
        seller,
        name="Keyword research dataset",
        description="Search volumes by keyword",
        category="dataset",
        tags="keywords",
    )
    create(api, seller, name="SEO audits for agencies", category="guide")
    found = api.get("/v1/products", {"q": "audit"}).json()
    assert [p["name"] for p in found["products"]] == ["SEO audits for agencies"]
    assert api.get("/v1/products", {"category": "dataset"}).json()["total"] == 1
    assert api.get("/v1/products", {"q": "the"}).json()["total"] == 0
    cheap_first = api.get("/v1/products", {"sort": "price_asc"}).json()
    assert cheap_first["total"] == 2
    assert api.get("/v1/products", {"sort": "sideways"}).status_code == 400


def test_buying_by_balance_records_the_purchase_and_pays_the_provider(
    api: Client, seller: Any, product: str
) -> None:
    buyer = party(balance=10_000_000)
    response = buy(api, product, buyer)
    assert response.status_code == 201, response.content
    record = response.json()
    assert record["total_paid"] == "2.10" and record["downloads_remaining"] == 2
    assert buyer.balance == 10_000_000 - AGENT_PRICE
    assert balance_of(provider_account(seller.participant)) == PRICE
    assert balance_of(PLATFORM_FEES) == AGENT_PRICE - PRICE
    listed = api.get("/v1/purchases", HTTP_X_API_KEY=buyer.key).json()
    assert [p["product_id"] for p in listed["purchases"]] == [product]
    assert ledger_problems() == []


def test_a_second_purchase_is_a_409_before_any_charge(api: Client, product: str) -> None:
    buyer = party(balance=10_000_000)
    buy(api, product, buyer)
    again = buy(api, product, buyer)
    assert again.status_code == 409 and again.json()["code"] == "already_purchased"
    assert buyer.balance == 10_000_000 - AGENT_PRICE


def test_a_price_change_needs_max_price_for_15_minutes(
    api: Client, seller: Any, product: str
) -> None:
    api.put(
        f"/v1/products/{product}",
        '{"price": "3.00"}',
        content_type="application/json",
        HTTP_X_API_KEY=seller.key,
    )
    buyer = party(balance=10_000_000)
    refused = buy(api, product, buyer)
    assert refused.status_code == 409 and refused.json()["code"] == "price_changed"
    assert buyer.balance == 10_000_000
    assert buy(api, product, buyer, HTTP_X_MAX_PRICE="3.15").status_code == 201
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert buy(api, product, party(balance=10_000_000)).status_code == 201


def test_a_price_above_max_price_is_refused(api: Client, product: str) -> None:
    buyer = party(balance=10_000_000)
    response = api.post(
        f"/v1/products/{product}/purchase?max_price=2.00", HTTP_X_BALANCE_AUTH=buyer.key
    )
    assert response.status_code == 409 and response.json()["code"] == "price_changed"


def test_buying_by_x402(
    api: Client, product: str, seller: Any, chain: Any, funded_payer: Callable[..., Any]
) -> None:
    payer = funded_payer(5_000_000)
    path = f"/v1/products/{product}/purchase"
    header, value = payment_header(api.post(path), payer, version=1)
    response = api.post(path, "", content_type="application/json", **{header: value})
    assert response.status_code == 201, response.content
    assert ProductPurchase.objects.get().buyer.wallet.lower() == payer.address.lower()
    assert balance_of(provider_account(seller.participant)) == PRICE
    # The buyer's wallet proves itself for a download with a $0.001 payment.
    dl_path = f"/v1/products/{product}/download"
    header, value = payment_header(api.get(dl_path), payer, version=2)
    got = api.get(dl_path, **{header: value})
    assert got.status_code == 200
    assert body(got) == PDF
    assert ledger_problems() == []


# --- downloads --------------------------------------------------------------------------
def test_a_download_is_a_safe_attachment(api: Client, product: str) -> None:
    buyer = party(balance=10_000_000)
    buy(api, product, buyer)
    response = download(api, product, buyer)
    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="checklist.pdf"'


def test_markup_is_served_as_octet_stream(api: Client, seller: Any) -> None:
    html = b"<!DOCTYPE html><script>alert(1)</script>"
    product_id = create(api, seller, html).json()["product_id"]
    buyer = party(balance=10_000_000)
    buy(api, product_id, buyer)
    response = download(api, product_id, buyer)
    assert response["Content-Type"] == "application/octet-stream"


def test_only_buyers_download(api: Client, product: str) -> None:
    stranger = party()
    response = download(api, product, stranger)
    assert response.status_code == 403 and response.json()["code"] == "not_purchased"


def test_the_download_limit_is_a_403(api: Client, product: str) -> None:
    buyer = party(balance=10_000_000)
    buy(api, product, buyer)
    assert download(api, product, buyer).status_code == 200
    assert download(api, product, buyer).status_code == 200
    third = download(api, product, buyer)
    assert third.status_code == 403 and third.json()["code"] == "download_limit_reached"
    assert ProductPurchase.objects.get().downloads == 2


def test_a_resumed_range_within_24_hours_is_not_counted_again(api: Client, product: str) -> None:
    buyer = party(balance=10_000_000)
    buy(api, product, buyer)
    first = download(api, product, buyer, HTTP_RANGE="bytes=0-99")
    assert first.status_code == 206 and body(first) == PDF[:100]
    assert first["Content-Range"] == f"bytes 0-99/{len(PDF)}"
    rest = download(api, product, buyer, HTTP_RANGE="bytes=100-")
    assert rest.status_code == 206 and body(rest) == PDF[100:]
    assert ProductPurchase.objects.get().downloads == 1
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        late = download(api, product, buyer, HTTP_RANGE="bytes=100-")
    assert late.status_code == 206
    assert ProductPurchase.objects.get().downloads == 2


def test_a_range_outside_the_file_is_a_416(api: Client, product: str) -> None:
    buyer = party(balance=10_000_000)
    buy(api, product, buyer)
    response = download(api, product, buyer, HTTP_RANGE=f"bytes={len(PDF)}-")
    assert response.status_code == 416
    assert ProductPurchase.objects.get().downloads == 0


def test_a_deleted_product_stays_downloadable_by_its_buyers(
    api: Client, seller: Any, product: str
) -> None:
    buyer = party(balance=10_000_000)
    buy(api, product, buyer)
    assert api.delete(f"/v1/products/{product}", HTTP_X_API_KEY=seller.key).status_code == 200
    assert api.get(f"/v1/products/{product}").status_code == 404
    assert buy(api, product, party(balance=10_000_000)).status_code == 404
    assert download(api, product, buyer).status_code == 200
