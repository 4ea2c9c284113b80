from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from the402 import discovery
from the402.mcp_view import mcp_endpoint
from the402.metrics import metrics_view

handler400 = "the402.lib.errors.json_bad_request"
handler403 = "the402.lib.errors.json_permission_denied"
handler404 = "the402.lib.errors.json_not_found"
handler500 = "the402.lib.errors.json_server_error"

urlpatterns = [
    # The web: public pages and the dashboard (`the402.web`), accounts (`payments.web`, and
    # django-allauth's standard pages under /accounts/).
    path("", include("the402.web.urls")),
    path("", include("payments.web.urls")),
    # The provider's side of the dashboard (marketplace/*/provider_web.py, notify/web.py).
    path("dashboard/provider/", include("marketplace.provider_urls")),
    path("accounts/", include("allauth.urls")),
    path("health", discovery.HealthView.as_view(), name="health"),
    # Prometheus metrics: a token (THE402_METRICS_TOKEN) or loopback only (the402/metrics.py).
    path("metrics", metrics_view, name="metrics"),
    path(".well-known/the402.json", discovery.ManifestView.as_view(), name="manifest"),
    path(".well-known/x402", discovery.X402DiscoveryView.as_view(), name="x402-discovery"),
    path(
        "openapi.json",
        SpectacularAPIView.as_view(renderer_classes=[OpenApiJsonRenderer2]),
        name="openapi",
    ),
    # The split view serves Swagger UI's script from its own URL: no inline script (CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="docs"),
    path("admin/", admin.site.urls),
    # MCP over streamable HTTP (the402_mcp), on the API's own port.
    path("mcp", mcp_endpoint, name="mcp"),
    path("", include("payments.urls")),
    path("", include("reputation.urls")),
    path("", include("marketplace.urls")),
    path("", include("referrals.urls")),
]
