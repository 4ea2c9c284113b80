from __future__ import annotations

from django.urls import path

from payments.web import deposits, views

urlpatterns = [
    path("accounts/wallet/nonce/", views.siwe_nonce, name="web-siwe-nonce"),
    path("accounts/wallet/login/", views.siwe_login, name="web-siwe-login"),
    path("accounts/wallet/reauthenticate/", views.siwe_reauthenticate, name="web-siwe-reauth"),
    path("accounts/wallet/link/", views.siwe_link, name="web-siwe-link"),
    path("dashboard/account/", views.account, name="web-account"),
    path("dashboard/account/profile/", views.profile_update, name="web-profile"),
    path("dashboard/account/rotate-key/", views.rotate_key, name="web-rotate-key"),
    path("dashboard/account/export-key/", views.export_key, name="web-export-key"),
    path(
        "dashboard/balance/deposit/prepare/", deposits.deposit_prepare, name="web-deposit-prepare"
    ),
    path("dashboard/balance/deposit/submit/", deposits.deposit_submit, name="web-deposit-submit"),
    path("dashboard/balance/deposit/", deposits.deposit_managed, name="web-deposit-managed"),
    path("dashboard/balance/faucet/", deposits.faucet, name="web-faucet"),
]
