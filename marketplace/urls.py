from __future__ import annotations

from django.urls import path

from marketplace import api, job_api, provider_api

urlpatterns = [
    path("v1/services", provider_api.ServiceCreateView.as_view(), name="service-create"),
    path("v1/services/catalog", api.CatalogView.as_view(), name="catalog"),
    path("v1/discover", api.DiscoverView.as_view(), name="discover"),
    # GET (the detail) stays api.ServiceDetailView's; PUT and DELETE join it on one path.
    path("v1/services/<str:service_id>", provider_api.ServiceView.as_view(), name="service-detail"),
    path(
        "v1/services/<str:service_id>/test",
        provider_api.ServiceWebhookTestView.as_view(),
        name="service-webhook-test",
    ),
    path(
        "v1/provider/webhooks",
        provider_api.WebhookDeliveriesView.as_view(),
        name="provider-webhooks",
    ),
    path(
        "v1/provider/onboard",
        provider_api.ProviderOnboardView.as_view(),
        name="provider-onboard",
    ),
    path("v1/jobs", job_api.JobListView.as_view(), name="job-list"),
    path("v1/jobs/<str:job_id>", job_api.JobDetailView.as_view(), name="job-detail"),
    path("v1/jobs/<str:job_id>/update", job_api.JobUpdateView.as_view(), name="job-update"),
    path("v1/jobs/<str:job_id>/verify", job_api.JobVerifyView.as_view(), name="job-verify"),
    path("v1/jobs/<str:job_id>/dispute", job_api.JobDisputeView.as_view(), name="job-dispute"),
]
