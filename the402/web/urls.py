from __future__ import annotations

from django.urls import path

from marketplace.catalog import web as catalog_web
from marketplace.deals import web as deals_web
from the402.web import agent, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="web-dashboard"),
    # The agent's dashboard (issue 18): balance, deposits, threads and jobs; the public
    # catalog, service and provider pages.
    path("dashboard/balance/", agent.balance, name="web-balance"),
    path(
        "dashboard/balance/deposits/<str:payment_id>/",
        agent.deposit_receipt,
        name="web-deposit-receipt",
    ),
    path("services/", catalog_web.catalog, name="web-catalog"),
    path("services/<str:service_id>/", catalog_web.service_detail, name="web-service"),
    path("services/<str:service_id>/buy/", deals_web.buy, name="web-buy"),
    path("services/<str:service_id>/inquire/", deals_web.inquire, name="web-inquire"),
    path("providers/<str:participant_id>/", catalog_web.provider_detail, name="web-provider"),
    path("dashboard/threads/", deals_web.thread_list, name="web-threads"),
    path("dashboard/threads/<str:thread_id>/", deals_web.thread_detail, name="web-thread"),
    path(
        "dashboard/threads/<str:thread_id>/message/",
        deals_web.thread_message,
        name="web-thread-message",
    ),
    path(
        "dashboard/threads/<str:thread_id>/messages/<str:message_id>/attachment/",
        deals_web.thread_attachment,
        name="web-thread-attachment",
    ),
    path(
        "dashboard/threads/<str:thread_id>/accept/",
        deals_web.thread_accept,
        name="web-thread-accept",
    ),
    path(
        "dashboard/threads/<str:thread_id>/decline/",
        deals_web.thread_decline,
        name="web-thread-decline",
    ),
    path("dashboard/jobs/", deals_web.job_list, name="web-jobs"),
    path("dashboard/jobs/<str:job_id>/", deals_web.job_detail, name="web-job"),
    path("dashboard/jobs/<str:job_id>/verify/", deals_web.job_verify, name="web-job-verify"),
    path("dashboard/jobs/<str:job_id>/dispute/", deals_web.job_dispute, name="web-job-dispute"),
]
