from __future__ import annotations

from django.conf import settings
from django.urls import URLPattern, path

from marketplace.catalog import api as catalog_api
from marketplace.catalog import provider_api
from marketplace.deals import jobs_api, purchases_api, quotes_api, threads_api
from marketplace.notify import api as notify_api
from marketplace.plans import urls as plans_urls
from marketplace.products import urls as products_urls


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
    *plans_urls.urlpatterns,
    *products_urls.urlpatterns,
    path("v1/services", catalog_api.ServiceCreateView.as_view(), name="service-create"),
    path("v1/services/catalog", catalog_api.CatalogView.as_view(), name="catalog"),
    path("v1/discover", catalog_api.DiscoverView.as_view(), name="discover"),
    # GET (the detail), PUT and DELETE share one path: catalog_api.ServiceView joins them.
    path("v1/services/<str:service_id>", catalog_api.ServiceView.as_view(), name="service-detail"),
    path(
        "v1/services/<str:service_id>/test",
        notify_api.ServiceWebhookTestView.as_view(),
        name="service-webhook-test",
    ),
    path(
        "v1/provider/webhooks",
        notify_api.WebhookDeliveriesView.as_view(),
        name="provider-webhooks",
    ),
    path(
        "v1/provider/onboard",
        provider_api.ProviderOnboardView.as_view(),
        name="provider-onboard",
    ),
    path(
        "v1/services/<str:service_id>/purchase",
        purchases_api.PurchaseView.as_view(),
        name="service-purchase",
    ),
    path(
        "v1/services/<str:service_id>/inquire",
        purchases_api.InquireView.as_view(),
        name="service-inquire",
    ),
    path(
        "v1/services/<str:service_id>/quote",
        quotes_api.QuoteRequestView.as_view(),
        name="service-quote",
    ),
    path("v1/quotes/<str:quote_id>", quotes_api.QuoteView.as_view(), name="quote-detail"),
    path(
        "v1/quotes/<str:quote_id>/accept",
        quotes_api.QuoteAcceptView.as_view(),
        name="quote-accept",
    ),
    path("v1/threads", threads_api.ThreadListView.as_view(), name="thread-list"),
    path(
        "v1/threads/<str:thread_id>", threads_api.ThreadDetailView.as_view(), name="thread-detail"
    ),
    path(
        "v1/threads/<str:thread_id>/messages",
        threads_api.ThreadMessageView.as_view(),
        name="thread-messages",
    ),
    path(
        "v1/threads/<str:thread_id>/messages/<str:message_id>/attachment",
        threads_api.ThreadAttachmentView.as_view(),
        name="thread-attachment",
    ),
    path(
        "v1/threads/<str:thread_id>/propose",
        threads_api.ThreadProposeView.as_view(),
        name="thread-propose",
    ),
    path(
        "v1/threads/<str:thread_id>/accept", threads_api.AcceptView.as_view(), name="thread-accept"
    ),
    path(
        "v1/threads/<str:thread_id>/update",
        threads_api.ThreadUpdateView.as_view(),
        name="thread-update",
    ),
    path(
        "v1/threads/<str:thread_id>/verify",
        threads_api.ThreadVerifyView.as_view(),
        name="thread-verify",
    ),
    path(
        "v1/threads/<str:thread_id>/dispute",
        threads_api.ThreadDisputeView.as_view(),
        name="thread-dispute",
    ),
    path(
        "v1/threads/<str:thread_id>/decline",
        threads_api.ThreadDeclineView.as_view(),
        name="thread-decline",
    ),
    path("v1/jobs", jobs_api.JobListView.as_view(), name="job-list"),
    path("v1/jobs/<str:job_id>", jobs_api.JobDetailView.as_view(), name="job-detail"),
    path("v1/jobs/<str:job_id>/update", jobs_api.JobUpdateView.as_view(), name="job-update"),
    path("v1/jobs/<str:job_id>/verify", jobs_api.JobVerifyView.as_view(), name="job-verify"),
    path("v1/jobs/<str:job_id>/dispute", jobs_api.JobDisputeView.as_view(), name="job-dispute"),
]
