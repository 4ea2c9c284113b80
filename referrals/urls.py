from __future__ import annotations

from django.urls import path

from referrals import api

urlpatterns = [
    path("v1/referrals/program", api.ProgramView.as_view(), name="referrals-program"),
    path("v1/referrals/code", api.CodeView.as_view(), name="referrals-code"),
    path("v1/referrals/earnings", api.EarningsView.as_view(), name="referrals-earnings"),
    path("v1/referrals/withdraw", api.WithdrawView.as_view(), name="referrals-withdraw"),
    path("v1/referrals", api.ReferralsView.as_view(), name="referrals"),
]
