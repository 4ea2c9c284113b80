"""The public catalog pages (no sign-in): search the catalog, one service, one provider.

The catalog page reads its query string with the API's own serializer and searches with the
API's selector (`CatalogQuerySerializer`, `catalog_search`): the same filters, sorting and
paging as `GET /v1/services/catalog`, server-rendered, and every result page a shareable URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from rest_framework.exceptions import ValidationError

from marketplace.catalog.models import Service, ServiceType
from marketplace.catalog.selectors import SORTS, CatalogQuery, catalog_search, service_get
from marketplace.catalog.serializers import CatalogQuerySerializer
from payments.networks import current_network
from payments.selectors import participant_get
from reputation.selectors import participant_reputation, reputation_levels, reputation_view
from the402.lib.api import validated
from the402.lib.errors import ApplicationError
from the402.lib.urls import public_base_url

SORT_LABELS = {
    "relevance": "Best match",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "reputation": "Reputation",
}
_FILTERS = (
    "q",
    "category",
    "service_type",
    "max_price",
    "provider",
    "min_reputation",
    "include_new",
    "sort",
    "limit",
)


def _query_string(params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    """Search, filter, sort and page the catalog (the API's query, rendered)."""
    params = {name: request.GET[name] for name in _FILTERS if request.GET.get(name)}
    params_with_offset = {**params, "offset": request.GET.get("offset", "0")}
    error = None
    try:
        query = CatalogQuery(**validated(CatalogQuerySerializer, params_with_offset))
    except ValidationError as exc:
        error = "; ".join(
            f"{field}: {' '.join(str(p) for p in problems)}"
            if isinstance(problems, list)
            else str(problems)
            for field, problems in (
                exc.detail.items() if isinstance(exc.detail, dict) else [("query", exc.detail)]
            )
        )
        query = CatalogQuery()
    except ApplicationError as exc:
        error, query = exc.message, CatalogQuery()
    page = catalog_search(query) if error is None else None
    total = page.total if page else 0
    context = {
        "page": page,
        "query": query,
        "params": params,
        "error": error,
        "total": total,
        "first": query.offset + 1 if page and page.services else 0,
        "last": query.offset + len(page.services) if page else 0,
        "prev_url": _query_string(params, offset=max(query.offset - query.limit, 0) or None)
        if query.offset > 0
        else None,
        "next_url": _query_string(params, offset=query.offset + query.limit)
        if page and query.offset + len(page.services) < total
        else None,
        "sorts": [(key, SORT_LABELS[key]) for key in SORTS],
        "service_types": ServiceType.choices,
    }
    return render(request, "catalog/catalog.html", context, status=400 if error else 200)


def _snippets(origin: str, service: Service) -> dict[str, str]:
    action = "inquire" if service.is_quoted else "purchase"
    url = f"{origin}/v1/services/{service.public_id}/{action}"
    body = '{"message": "What would this cost?"}' if service.is_quoted else "{ ...your brief... }"
    return {
        "url": url,
        "curl": f"curl -i -X POST '{url}' \\\n  -H 'Content-Type: application/json' \\\n"
        f"  -H 'X-BALANCE-AUTH: <your API key>' \\\n  -d '{body}'",
        "python": "import requests\n"
        f"answer = requests.post(\n    {url!r},\n"
        '    headers={"X-BALANCE-AUTH": API_KEY},  # or pay with an x402 client\n'
        f"    json={body if service.is_quoted else '{}'},\n).json()",
        "js": f'const res = await fetch("{url}", {{\n  method: "POST",\n'
        '  headers: {"Content-Type": "application/json", "X-BALANCE-AUTH": apiKey},\n'
        f"  body: JSON.stringify({body if service.is_quoted else '{}'}),\n}});\n"
        "console.log(await res.json());",
    }


@require_GET
def service_detail(request: HttpRequest, service_id: str) -> HttpResponse:
    """A service: description, prices with the fee, schemas, three-level reputation, and
    how to buy it (here, or by API)."""
    service = service_get(service_id)
    if service is None:
        raise Http404("No such service")
    levels = reputation_levels(
        participant_id=service.provider_id,
        service_type=service.service_type,
        service_public_id=service.public_id,
    )
    reputation = [
        ("This service", reputation_view(levels["service"])),
        (
            f"{service.get_service_type_display()}s by this provider",
            reputation_view(levels["service_type"]),
        ),
        ("The provider overall", reputation_view(levels["provider"])),
    ]
    return render(
        request,
        "catalog/service.html",
        {
            "service": service,
            "reputation": reputation,
            "snippets": _snippets(public_base_url(request), service),
            "network": current_network(),
            "active": service.status == Service.Status.ACTIVE,
            "by_wallet": service.service_type == ServiceType.HUMAN_SERVICE,
        },
    )


@require_GET
def provider_detail(request: HttpRequest, participant_id: str) -> HttpResponse:
    """A provider's public profile: who they are, their reputation and their services."""
    provider = participant_get(participant_id) if len(participant_id) <= 64 else None
    if provider is None:
        raise Http404("No such provider")
    services = list(
        Service.objects.active().filter(provider=provider).order_by("-listed_at", "-id")[:100]
    )
    if not services and not provider.is_provider:
        raise Http404("No such provider")
    return render(
        request,
        "catalog/provider.html",
        {
            "provider": provider,
            "services": services,
            "reputation": participant_reputation(provider.pk),
        },
    )
