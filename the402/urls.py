from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from the402 import discovery

handler400 = "the402.lib.errors.json_bad_request"
handler403 = "the402.lib.errors.json_permission_denied"
handler404 = "the402.lib.errors.json_not_found"
handler500 = "the402.lib.errors.json_server_error"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("health", discovery.HealthView.as_view(), name="health"),
    path(".well-known/the402.json", discovery.ManifestView.as_view(), name="manifest"),
    path(
        "openapi.json",
        SpectacularAPIView.as_view(renderer_classes=[OpenApiJsonRenderer2]),
        name="openapi",
    ),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="docs"),
    path("admin/", admin.site.urls),
    path("", include("payments.urls")),
    path("", include("reputation.urls")),
    path("", include("marketplace.urls")),
]
