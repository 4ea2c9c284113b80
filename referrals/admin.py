"""Referrals in the admin: referral links and rewards, read-only (only the services write
them), with a revoke action that goes through the services (so a credited reward's money
goes back to the platform's fees on the ledger)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from referrals.models import Referral, ReferralReward, ReferralTransition, RewardTransition
from referrals.services import referral_revoke, reward_revoke
from the402.lib.admin import ReadOnlyAdmin, ReadOnlyInline, usd_display
from the402.lib.errors import ApplicationError


class ReferralTransitionInline(ReadOnlyInline):
    model = ReferralTransition
    fields = ("from_status", "to_status", "reason", "created_at")


class RewardTransitionInline(ReadOnlyInline):
    model = RewardTransition
    fields = ("from_status", "to_status", "reason", "created_at")


def _operator_note(request: HttpRequest) -> str:
    return f"revoked by the operator {request.user.get_username()}"


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    """Who referred whom (the referral link), its status and why it was revoked."""

    list_display = ("public_id", "referrer", "referee", "side", "status", "created_at")
    list_filter = ("status", "side")
    list_select_related = ("referrer", "referee")
    search_fields = ("public_id", "referrer__public_id", "referee__public_id", "code")
    inlines = (ReferralTransitionInline,)
    actions = ("revoke",)

    @admin.action(description="Revoke the selected referrals and their unwithdrawn rewards")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        total = 0
        for referral in queryset:
            try:
                total += referral_revoke(referral, reason=_operator_note(request))
            except ApplicationError as exc:
                self.message_user(request, f"{referral.public_id}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Revoked; {total} rewards revoked.", messages.SUCCESS)


@admin.register(ReferralReward)
class ReferralRewardAdmin(ReadOnlyAdmin):
    """One share of one transaction's fee; revoking a credited reward gives its amount back
    to the platform's fees (withdrawn rewards stay paid)."""

    list_display = (
        "public_id",
        "referrer",
        "source",
        "reference",
        "side",
        "fee_usd",
        "amount_usd",
        "status",
        "occurred_at",
    )
    list_filter = ("status", "source", "side")
    list_select_related = ("referrer",)
    search_fields = ("public_id", "transaction_key", "reference", "referrer__public_id")
    inlines = (RewardTransitionInline,)
    actions = ("revoke",)
    fee_usd = usd_display("fee_micros", "platform fee")
    amount_usd = usd_display("amount_micros", "reward")

    @admin.action(description="Revoke the selected rewards (unless withdrawn)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ReferralReward]) -> None:
        revoked = 0
        for reward in queryset:
            try:
                revoked += reward_revoke(reward, reason=_operator_note(request))
            except ApplicationError as exc:
                self.message_user(request, f"{reward.public_id}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{revoked} rewards revoked.", messages.SUCCESS)
