from __future__ import annotations

from django.urls import path

from marketplace import api

urlpatterns = [
    path("v1/services/catalog", api.CatalogView.as_view(), name="catalog"),
    path("v1/discover", api.DiscoverView.as_view(), name="discover"),
    path("v1/services/<str:service_id>", api.ServiceDetailView.as_view(), name="service-detail"),
]
