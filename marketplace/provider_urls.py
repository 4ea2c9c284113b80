"""The provider's dashboard, mounted at `/dashboard/provider/` by `the402.urls`."""

from __future__ import annotations

from django.urls import path

from marketplace.catalog import provider_web as catalog_web
from marketplace.deals import provider_web as deals_web
from marketplace.notify import web as notify_web

urlpatterns = [
    path("", catalog_web.home, name="dash-provider-home"),
    path("onboard/", catalog_web.onboard, name="dash-provider-onboard-web"),
    path("profile/", catalog_web.profile_update, name="dash-provider-profile"),
    path("webhook/rotate/", catalog_web.secret_rotate, name="dash-provider-secret-rotate"),
    path("webhook/test/", catalog_web.webhook_test_send, name="dash-provider-webhook-test"),
    path("services/", catalog_web.services, name="dash-provider-services"),
    path("services/new/", catalog_web.service_new, name="dash-provider-service-new"),
    path("services/<str:service_id>/", catalog_web.service_edit, name="dash-provider-service-edit"),
    path(
        "services/<str:service_id>/status/",
        catalog_web.service_status,
        name="dash-provider-service-status",
    ),
    path(
        "services/<str:service_id>/test/",
        catalog_web.service_test,
        name="dash-provider-service-test",
    ),
    path("jobs/", deals_web.inbox, name="dash-provider-inbox"),
    path("jobs/poll/", deals_web.inbox_poll, name="dash-provider-inbox-poll"),
    path("jobs/<str:job_id>/", deals_web.job_detail, name="dash-provider-job"),
    path("jobs/<str:job_id>/thread/", deals_web.job_thread_poll, name="dash-provider-job-poll"),
    path("jobs/<str:job_id>/start/", deals_web.job_start, name="dash-provider-job-start"),
    path("jobs/<str:job_id>/message/", deals_web.job_message, name="dash-provider-job-message"),
    path(
        "jobs/<str:job_id>/deliver/", deals_web.job_deliver_view, name="dash-provider-job-deliver"
    ),
    path("jobs/<str:job_id>/fail/", deals_web.job_fail, name="dash-provider-job-fail"),
    path(
        "jobs/<str:job_id>/files/<str:message_id>/",
        deals_web.job_file,
        name="dash-provider-job-file",
    ),
    path("threads/<str:thread_id>/", deals_web.thread_detail, name="dash-provider-thread"),
    path(
        "threads/<str:thread_id>/reply/", deals_web.thread_reply, name="dash-provider-thread-reply"
    ),
    path(
        "threads/<str:thread_id>/propose/",
        deals_web.thread_propose,
        name="dash-provider-thread-propose",
    ),
    path(
        "threads/<str:thread_id>/decline/",
        deals_web.thread_decline_view,
        name="dash-provider-thread-decline",
    ),
    path(
        "threads/<str:thread_id>/files/<str:message_id>/",
        deals_web.thread_file,
        name="dash-provider-thread-file",
    ),
    path("earnings/", deals_web.earnings, name="dash-provider-earnings"),
    path("earnings/settlements.csv", deals_web.earnings_csv, name="dash-provider-earnings-csv"),
    path("webhooks/", notify_web.webhooks, name="dash-provider-webhooks"),
    path(
        "webhooks/<str:delivery_id>/retry/",
        notify_web.webhook_retry,
        name="dash-provider-webhook-retry",
    ),
]
