from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, path

from marketplace import api, commerce_api, job_api, provider_api, thread_api


def _devnet_only() -> list[URLPattern]:
    """The demo providers' webhooks (dev-only code, `marketplace.demo`), which make the demo
    catalog work: mounted on devnet only. The view also answers 404 off devnet, for a process
    whose network changes after the URLconf is loaded (tests do)."""
    if settings.NETWORK != "devnet":
        return []
    from marketplace.demo.provider import demo_provider_webhook

    return [path("demo/provider", demo_provider_webhook, name="demo-provider")]


urlpatterns = [
    *_devnet_only(),
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
    path(
        "v1/services/<str:service_id>/purchase",
        commerce_api.PurchaseView.as_view(),
        name="service-purchase",
    ),
    path(
        "v1/services/<str:service_id>/inquire",
        commerce_api.InquireView.as_view(),
        name="service-inquire",
    ),
    path(
        "v1/services/<str:service_id>/quote",
        commerce_api.QuoteRequestView.as_view(),
        name="service-quote",
    ),
    path("v1/quotes/<str:quote_id>", commerce_api.QuoteView.as_view(), name="quote-detail"),
    path(
        "v1/quotes/<str:quote_id>/accept",
        commerce_api.QuoteAcceptView.as_view(),
        name="quote-accept",
    ),
    path("v1/threads", thread_api.ThreadListView.as_view(), name="thread-list"),
    path("v1/threads/<str:thread_id>", thread_api.ThreadDetailView.as_view(), name="thread-detail"),
    path(
        "v1/threads/<str:thread_id>/messages",
        thread_api.ThreadMessageView.as_view(),
        name="thread-messages",
    ),
    path(
        "v1/threads/<str:thread_id>/messages/<str:message_id>/attachment",
        thread_api.ThreadAttachmentView.as_view(),
        name="thread-attachment",
    ),
    path(
        "v1/threads/<str:thread_id>/propose",
        thread_api.ThreadProposeView.as_view(),
        name="thread-propose",
    ),
    path(
        "v1/threads/<str:thread_id>/accept", thread_api.AcceptView.as_view(), name="thread-accept"
    ),
    path(
        "v1/threads/<str:thread_id>/update",
        thread_api.ThreadUpdateView.as_view(),
        name="thread-update",
    ),
    path(
        "v1/threads/<str:thread_id>/verify",
        thread_api.ThreadVerifyView.as_view(),
        name="thread-verify",
    ),
    path(
        "v1/threads/<str:thread_id>/dispute",
        thread_api.ThreadDisputeView.as_view(),
        name="thread-dispute",
    ),
    path(
        "v1/threads/<str:thread_id>/decline",
        thread_api.ThreadDeclineView.as_view(),
        name="thread-decline",
    ),
    path("v1/jobs", job_api.JobListView.as_view(), name="job-list"),
    path("v1/jobs/<str:job_id>", job_api.JobDetailView.as_view(), name="job-detail"),
    path("v1/jobs/<str:job_id>/update", job_api.JobUpdateView.as_view(), name="job-update"),
    path("v1/jobs/<str:job_id>/verify", job_api.JobVerifyView.as_view(), name="job-verify"),
    path("v1/jobs/<str:job_id>/dispute", job_api.JobDisputeView.as_view(), name="job-dispute"),
]
