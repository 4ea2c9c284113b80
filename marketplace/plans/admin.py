"""The operator's console: plans, subscriptions with their periods, renewal attempts and
moves (read-only: they change through `plans.services` only; an operator may run a due
renewal at once)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from marketplace.plans.models import (
    Plan,
    RenewalAttempt,
    Subscription,
    SubscriptionPeriod,
    SubscriptionTransition,
)
from marketplace.plans.renewals import subscription_renew
from the402.lib.admin import ReadOnlyAdmin, ReadOnlyInline, usd_display


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "name",
        "provider",
        "billing_period",
        "price_micros_usd",
        "max_requests",
        "status",
        "created_at",
    )
    list_filter = ("status", "billing_period")
    list_select_related = ("provider",)
    search_fields = ("=public_id", "name", "=provider__public_id", "=provider__wallet")
    money_fields = ("price_micros",)


class PeriodInline(ReadOnlyInline):
    model = SubscriptionPeriod
    fields = ("number", "starts_at", "ends_at", "price", "fee", "method", "created_at")
    readonly_fields = fields
    price = usd_display("price_micros")
    fee = usd_display("fee_micros")


class RenewalAttemptInline(ReadOnlyInline):
    model = RenewalAttempt
    fields = ("period_number", "outcome", "amount", "note", "created_at")
    readonly_fields = fields
    amount = usd_display("amount_micros")


class TransitionInline(ReadOnlyInline):
    model = SubscriptionTransition
    fields = ("from_status", "to_status", "actor", "note", "created_at")
    readonly_fields = fields


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "plan",
        "agent",
        "status",
        "price_micros_usd",
        "period_number",
        "period_end",
        "requests_used",
        "renewal_failures",
        "next_retry_at",
    )
    list_filter = ("status",)
    list_select_related = ("plan", "agent")
    search_fields = ("=public_id", "=plan__public_id", "=agent__public_id", "=agent__wallet")
    money_fields = ("price_micros",)
    inlines = (PeriodInline, RenewalAttemptInline, TransitionInline)
    actions = ("renew_now",)

    @admin.action(description="Renew, retry or expire the selected subscriptions if due")
    def renew_now(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        outcomes: dict[str, int] = {}
        for sub in queryset:
            outcome = subscription_renew(sub)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "nothing"
        self.message_user(request, f"Renewal run: {summary}", messages.INFO)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
