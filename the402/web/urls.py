from __future__ import annotations

from django.urls import path

from the402.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="web-dashboard"),
]
