from __future__ import annotations

from django.urls import path

from reputation import api

urlpatterns = [
    path("v1/reputation/batch", api.ReputationBatchView.as_view(), name="reputation-batch"),
    path("v1/reputation/<str:wallet>", api.ReputationLookupView.as_view(), name="reputation"),
]
