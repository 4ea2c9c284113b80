from __future__ import annotations

from django.urls import path

from marketplace.plans import api

urlpatterns = [
    path("v1/plans", api.PlansView.as_view(), name="plan-list"),
    path("v1/plans/<str:plan_id>", api.PlanView.as_view(), name="plan-detail"),
    path("v1/plans/<str:plan_id>/subscribe", api.SubscribeView.as_view(), name="plan-subscribe"),
    path("v1/subscriptions", api.SubscriptionsView.as_view(), name="subscription-list"),
    path(
        "v1/subscriptions/<str:subscription_id>",
        api.SubscriptionView.as_view(),
        name="subscription-detail",
    ),
    path(
        "v1/subscriptions/<str:subscription_id>/cancel",
        api.SubscriptionCancelView.as_view(),
        name="subscription-cancel",
    ),
    path(
        "v1/subscriptions/<str:subscription_id>/pause",
        api.SubscriptionPauseView.as_view(),
        name="subscription-pause",
    ),
    path(
        "v1/subscriptions/<str:subscription_id>/resume",
        api.SubscriptionResumeView.as_view(),
        name="subscription-resume",
    ),
]
