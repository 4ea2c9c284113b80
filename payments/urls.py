from __future__ import annotations

from django.conf import settings
from django.urls import path

from payments import api, facilitator_api

# Devnet only: a real network never mounts these (the views also answer 404 off devnet, for a
# process whose network changes after the URLconf is loaded, as tests do).
_DEVNET_ONLY = (
    [path("v1/devnet/faucet", api.FaucetView.as_view(), name="devnet-faucet")]
    if settings.NETWORK == "devnet"
    else []
)

urlpatterns = [
    path("v1/register", api.RegisterView.as_view(), name="register"),
    path("v1/participants/rotate-key", api.RotateKeyView.as_view(), name="rotate-key"),
    path("v1/participants/<str:participant_id>", api.ParticipantView.as_view(), name="participant"),
    path(
        "v1/participants/<str:participant_id>/webhook-secret",
        api.WebhookSecretView.as_view(),
        name="webhook-secret",
    ),
    path(
        "v1/participants/<str:participant_id>/webhook-secret/rotate",
        api.WebhookSecretRotateView.as_view(),
        name="webhook-secret-rotate",
    ),
    path("v1/balance/deposit", api.DepositView.as_view(), name="balance-deposit"),
    path("v1/balance", api.BalanceView.as_view(), name="balance"),
    path("v1/balance/history", api.BalanceHistoryView.as_view(), name="balance-history"),
    *_DEVNET_ONLY,
    path("v1/provider/earnings", api.ProviderEarningsView.as_view(), name="provider-earnings"),
    path("facilitator/verify", facilitator_api.VerifyView.as_view(), name="facilitator-verify"),
    path("facilitator/settle", facilitator_api.SettleView.as_view(), name="facilitator-settle"),
    path(
        "facilitator/supported",
        facilitator_api.SupportedView.as_view(),
        name="facilitator-supported",
    ),
]
