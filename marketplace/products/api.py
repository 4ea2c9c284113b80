"""The products API: providers sell files; agents browse (free), buy (x402 or balance) and
download what they bought (X-API-Key, or a $0.001 x402 proof from the buyer's wallet)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.deals.access import KEY_RESPONSES, PAID_RESPONSES, READ_PRICE, pays_from_balance
from marketplace.deals.purchases import parse_max_price
from marketplace.products import files, search, services
from marketplace.products.models import Product
from marketplace.products.selectors import product_get, products_list, purchases_of
from marketplace.products.serializers import (
    ProductInput,
    ProductListInput,
    ProductOutput,
    ProductUpdateInput,
    PurchaseRecordOutput,
)
from payments.callers import api_key_caller
from payments.charges import Paid, Price
from payments.gate import PaidView
from payments.ledger import PLATFORM_FEES
from payments.models import Participant
from the402.lib.api import ERROR_RESPONSES, paged, validated
from the402.lib.bodylimit import MULTIPART_OVERHEAD
from the402.lib.errors import ApplicationError

ORDER = {
    "newest": ("-created_at", "-id"),
    "price_asc": ("price_micros", "-id"),
    "price_desc": ("-price_micros", "-id"),
    "popular": ("-total_purchases", "-id"),
    "relevance": ("-search_rank", "-id"),
}
UPLOAD_PARSERS = [MultiPartParser, FormParser, JSONParser]


class _UploadLimit:
    """The body limit of upload views, read from the settings on each request."""

    def __get__(self, obj: Any, owner: Any) -> int:
        return int(settings.PRODUCT_MAX_BYTES) + MULTIPART_OVERHEAD


def _provider(request: Request) -> Participant:
    provider = api_key_caller(request)
    if not provider.is_provider:
        raise ApplicationError(
            "Only providers can sell products; register with type provider or both",
            code="not_a_provider",
            status=403,
        )
    return provider


def _owned(product_id: str, request: Request) -> Product:
    caller = api_key_caller(request)
    product = product_get(product_id)
    if product.provider_id != caller.pk:
        raise ApplicationError(
            "Only the product's provider can do this", code="forbidden", status=403
        )
    return product


class ProductsView(APIView):
    """Browse products (free; `q` full-text search), or create one (X-API-Key of a
    provider; JSON metadata, or a multipart form with the file as `file`)."""

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of a provider (POST)"
    parser_classes = UPLOAD_PARSERS
    max_body_bytes = _UploadLimit()

    @extend_schema(
        operation_id="product_list",
        summary="Browse and search digital products",
        parameters=[ProductListInput],
        responses={200: ProductOutput(many=True), **ERROR_RESPONSES},
        tags=["products"],
    )
    def get(self, request: Request) -> Response:
        query = validated(ProductListInput, request.query_params)
        products = products_list(category=query.get("category"), provider=query.get("provider"))
        sort = query.get("sort")
        q = (query.get("q") or "").strip()
        ranked = False
        if q:
            matched = search.search(products, q)
            if matched is None:  # only stop words: nothing matches
                products = products.none()
            else:
                products, ranked = matched, True
        if sort is None:
            sort = "relevance" if ranked else "newest"
        elif sort == "relevance" and not ranked:
            sort = "newest"
        limit, offset = query["limit"], query["offset"]
        ordered = products.order_by(*ORDER[sort])
        page = list(ordered[offset : offset + limit])
        return Response(
            paged(
                "products",
                ProductOutput(page, many=True).data,
                limit=limit,
                offset=offset,
                total=products.count(),
            )
        )

    @extend_schema(
        operation_id="product_create",
        summary="Create a digital product (metadata, and the file as multipart `file`)",
        request={"application/json": ProductInput, "multipart/form-data": ProductInput},
        responses={201: ProductOutput, **KEY_RESPONSES},
        tags=["products"],
    )
    def post(self, request: Request) -> Response:
        provider = _provider(request)
        fields = validated(ProductInput, request.data)
        product = services.product_create(
            provider=provider, upload=request.FILES.get("file"), **fields
        )
        return Response(ProductOutput(product_get(product.public_id)).data, status=201)


class ProductView(APIView):
    """A product: anyone reads it; its provider changes or deletes it (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "none (GET); X-API-Key of the owner (PUT, DELETE)"

    @extend_schema(
        operation_id="product_detail",
        summary="Get a product",
        responses={200: ProductOutput, 404: OpenApiResponse(description="Unknown product")},
        tags=["products"],
    )
    def get(self, request: Request, product_id: str) -> Response:
        return Response(ProductOutput(product_get(product_id)).data)

    @extend_schema(
        operation_id="product_update",
        summary="Update a product",
        request=ProductUpdateInput,
        responses={200: ProductOutput, **KEY_RESPONSES},
        tags=["products"],
    )
    def put(self, request: Request, product_id: str) -> Response:
        product = _owned(product_id, request)
        fields = validated(ProductUpdateInput, request.data)
        services.product_update(product=product, provider=product.provider, **fields)
        return Response(ProductOutput(product_get(product_id)).data)

    @extend_schema(
        operation_id="product_delete",
        summary="Delete a product (its buyers can still download it)",
        request=None,
        responses={200: ProductOutput, **KEY_RESPONSES},
        tags=["products"],
    )
    def delete(self, request: Request, product_id: str) -> Response:
        product = _owned(product_id, request)
        services.product_delete(product=product, provider=product.provider)
        return Response(ProductOutput(product_get(product_id, include_deleted=True)).data)


class ProductFileView(APIView):
    """Upload or replace the product's file (multipart `file`; X-API-Key of the owner)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key (owner)"
    parser_classes = [MultiPartParser, FormParser]
    max_body_bytes = _UploadLimit()

    @extend_schema(
        operation_id="product_file",
        summary="Upload the product's file",
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={
            200: ProductOutput,
            413: OpenApiResponse(description="Too large"),
            **KEY_RESPONSES,
        },
        tags=["products"],
    )
    def put(self, request: Request, product_id: str) -> Response:
        product = _owned(product_id, request)
        services.product_file_replace(
            product=product, provider=product.provider, upload=request.FILES.get("file")
        )
        return Response(ProductOutput(product_get(product_id)).data)


class ProductPurchaseView(PaidView):
    """Buy a product (its agent price, x402 or balance); 409 if already owned."""

    endpoint_price = "the product's agent price"
    endpoint_auth = "x402 or balance"

    def product(self, product_id: str) -> Product:
        return self.priced(lambda: product_get(product_id))

    def price(self, request: Request, **kwargs: Any) -> Price:
        return services.product_price(self.product(kwargs["product_id"]))

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        max_price = parse_max_price(
            request.query_params.get("max_price"), request.headers.get("X-Max-Price")
        )
        return services.purchase_validate(
            product=self.product(kwargs["product_id"]),
            payer=payer,
            max_price=max_price,
            by_balance=pays_from_balance(request),
        )

    def perform(self, request: Request, paid: Paid, data: Product, **kwargs: Any) -> Response:
        purchase = services.purchase_perform(product=data, paid=paid)
        return Response(PurchaseRecordOutput(purchase).data, status=201)

    @extend_schema(
        operation_id="product_purchase",
        summary="Purchase a digital product",
        parameters=[
            OpenApiParameter(
                "max_price",
                str,
                required=False,
                description="The most you will pay (agent price, USD; or X-Max-Price)",
            )
        ],
        request=None,
        responses={
            201: PurchaseRecordOutput,
            **PAID_RESPONSES,
            409: OpenApiResponse(description="already_purchased or price_changed (not charged)"),
        },
        tags=["products"],
    )
    def post(self, request: Request, product_id: str) -> Response:
        return self.gate(request, product_id=product_id)


class ProductDownloadView(PaidView):
    """Download a bought product: X-API-Key, or a $0.001 x402 proof from the buyer's
    wallet. Streamed as an attachment; `Range` resumes without counting twice."""

    endpoint_price = "$0.001"
    endpoint_auth = "X-API-Key (the buyer), or $0.001 x402 from the buyer's wallet"
    accepts_api_key = True

    def price(self, request: Request, **kwargs: Any) -> Price:
        return Price(READ_PRICE, "Product download (wallet proof)", PLATFORM_FEES)

    def validate(self, request: Request, payer: str | None, **kwargs: Any) -> Any:
        product = product_get(kwargs["product_id"], include_deleted=True)
        purchase = services.purchase_for_download(product, payer)
        if not product.has_file:
            raise ApplicationError(
                "This product has no file", code="product_unavailable", status=409
            )
        try:
            bounds = files.parse_range(request.headers.get("Range"), product.file_size)
        except files.RangeNotSatisfiable:
            raise ApplicationError(
                "The requested range is outside the file",
                code="range_not_satisfiable",
                status=416,
                extra={"file_size": product.file_size},
            ) from None
        return {"product": product, "purchase": purchase, "range": bounds}

    def perform(  # type: ignore[override]  # a file streams; the gate passes it through
        self, request: Request, paid: Paid, data: Any, **kwargs: Any
    ) -> StreamingHttpResponse:
        product: Product = data["product"]
        size = product.file_size
        start, end = data["range"] or (0, size - 1)
        download = services.download_take(data["purchase"], start=start, end=end)
        length = end - start + 1
        response = StreamingHttpResponse(
            files.file_chunks(product.file_key, start, length),
            status=206 if data["range"] else 200,
            content_type=files.served_type(product.content_type),
        )
        response["Content-Length"] = str(length)
        if data["range"]:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Accept-Ranges"] = "bytes"
        response["Content-Disposition"] = content_disposition_header(
            True, product.file_name or "download"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["ETag"] = f'"{product.file_sha256}"'
        response["X-Downloads-Counted"] = "1" if download.counted else "0"
        response["X-Downloads"] = str(download.purchase.downloads)
        return response

    @extend_schema(
        operation_id="product_download",
        summary="Download a purchased product",
        parameters=[OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False)],
        responses={
            200: OpenApiResponse(description="The file"),
            206: OpenApiResponse(description="The requested range"),
            **PAID_RESPONSES,
            403: OpenApiResponse(description="not_purchased or download_limit_reached"),
        },
        tags=["products"],
    )
    def get(self, request: Request, product_id: str) -> Any:
        return self.gate(request, product_id=product_id)


class PurchasesView(APIView):
    """Your product purchases, with their download counts (X-API-Key)."""

    endpoint_price = "free"
    endpoint_auth = "X-API-Key"

    @extend_schema(
        operation_id="purchase_list",
        summary="List your product purchases",
        parameters=[
            OpenApiParameter("limit", int, required=False),
            OpenApiParameter("offset", int, required=False),
        ],
        responses={200: PurchaseRecordOutput(many=True), **KEY_RESPONSES},
        tags=["products"],
    )
    def get(self, request: Request) -> Response:
        buyer = api_key_caller(request)
        query = validated(
            ProductListInput,
            {k: v for k, v in request.query_params.items() if k in ("limit", "offset")},
        )
        purchases = purchases_of(buyer)
        limit, offset = query["limit"], query["offset"]
        page = list(purchases[offset : offset + limit])
        return Response(
            paged(
                "purchases",
                PurchaseRecordOutput(page, many=True).data,
                limit=limit,
                offset=offset,
                total=purchases.count(),
            )
        )
