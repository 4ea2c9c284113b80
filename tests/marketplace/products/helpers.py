"""Shared set-up of the products tests."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.marketplace.plans.helpers import Party, party

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40  # 10,249 bytes
PRICE = 2_000_000
AGENT_PRICE = 2_100_000


def create(api: Client, seller: Party, content: bytes | None = PDF, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "name": "SEO audit checklist",
        "description": "A checklist for technical SEO audits",
        "price": "2.00",
        "category": "guide",
        "tags": "seo, audit",
        **fields,
    }
    if content is not None:
        data["file"] = SimpleUploadedFile("checklist.pdf", content, "text/html")
    return api.post("/v1/products", data, HTTP_X_API_KEY=seller.key)


def buy(api: Client, product_id: str, buyer: Party, **headers: str) -> Any:
    return api.post(
        f"/v1/products/{product_id}/purchase",
        "",
        content_type="application/json",
        HTTP_X_BALANCE_AUTH=buyer.key,
        **headers,
    )


def download(api: Client, product_id: str, buyer: Party, **headers: str) -> Any:
    return api.get(f"/v1/products/{product_id}/download", HTTP_X_API_KEY=buyer.key, **headers)


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


__all__ = ["Party", "party"]
