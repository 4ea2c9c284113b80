"""Admin for identities and money. Money is read-only here: it moves only through services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from payments.models import (
    ApiKey,
    ChainCall,
    Escrow,
    IdempotencyRecord,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Participant,
    Payout,
    ReconciliationIssue,
    X402Payment,
)
from the402.lib.admin import ReadOnlyAdmin, ReadOnlyInline, usd_display
from the402.lib.errors import Conflict


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin[Participant]):
    list_display = ("public_id", "name", "type", "wallet", "registered_at", "created_at")
    list_filter = ("type", "created_at")
    search_fields = ("public_id", "name", "wallet", "description")
    readonly_fields = ("public_id", "wallet", "registered_at", "created_at", "updated_at")
    exclude = ("webhook_secret_encrypted",)
    date_hierarchy = "created_at"


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("hint", "participant", "created_at", "revoked_at")
    list_select_related = ("participant",)
    list_filter = ("revoked_at",)
    search_fields = ("participant__public_id", "participant__wallet", "hint")
    exclude = ("key_hash", "key_encrypted")


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "participant", "balance_usd", "allow_negative")
    money_fields = ("balance",)
    list_filter = ("kind",)
    list_select_related = ("participant",)
    search_fields = ("code", "participant__public_id", "participant__wallet")


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("account", "amount_usd", "created_at")
    verbose_name, verbose_name_plural = "entry", "entries"
    amount_usd = usd_display("amount", "amount (+ in, − out)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("account")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "description", "idempotency_key", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("idempotency_key", "description")
    inlines = (LedgerEntryInline,)
    date_hierarchy = "created_at"


@admin.register(X402Payment)
class X402PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "status",
        "amount_usd",
        "payer",
        "tx_hash",
        "created_at",
        "fulfilled_at",
    )
    money_fields = ("amount",)
    list_filter = ("status", "network", "x402_version")
    list_select_related = ("participant",)
    search_fields = ("public_id", "payer", "tx_hash", "nonce", "resource")
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("scope", "key", "status", "response_status", "created_at")
    list_filter = ("status",)
    search_fields = ("scope", "key")
    exclude = ("response_body",)


@admin.register(Escrow)
class EscrowAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "backing",
        "status",
        "amount_usd",
        "fee_usd",
        "payer",
        "payee",
        "expires_at",
    )
    money_fields = ("amount", "fee", "payee_amount")
    list_filter = ("backing", "status")
    list_select_related = ("payer", "payee")
    search_fields = ("public_id", "chain_id", "reference", "payer__wallet", "payee__wallet")
    date_hierarchy = "created_at"


@admin.register(ChainCall)
class ChainCallAdmin(ReadOnlyAdmin):
    list_display = ("idempotency_key", "kind", "status", "tx_hash", "attempts", "last_error")
    list_filter = ("kind", "status")
    search_fields = ("idempotency_key", "tx_hash")
    exclude = ("raw_tx",)
    actions = ("retry_now",)

    @admin.action(description="Retry the selected calls now (re-sends the same transaction)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[ChainCall]) -> None:
        from payments.chain_calls import chain_call_retry

        for call in queryset.exclude(status=ChainCall.Status.CONFIRMED):
            try:
                chain_call_retry(call.pk)
            except Conflict as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
        self.message_user(request, "Retried; see each call's status.")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "provider", "wallet", "amount_usd", "status", "confirmed_at")
    money_fields = ("amount",)
    actions = ("retry_now",)

    @admin.action(description="Send the selected pending payouts now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        from payments.payouts import payout_retry

        for payout in queryset:
            try:
                payout_retry(payout)
            except Conflict as exc:
                self.message_user(request, exc.message, level=messages.ERROR)

    list_filter = ("status",)
    list_select_related = ("provider", "chain_call")
    search_fields = ("public_id", "wallet", "provider__public_id")


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(admin.ModelAdmin[ReconciliationIssue]):
    list_display = (
        "kind",
        "subject",
        "detail",
        "action",
        "created_at",
        "last_seen_at",
        "resolved_at",
        "resolved_by",
    )
    list_filter = ("kind", "resolved_by", "resolved_at")
    search_fields = ("subject", "detail")
    readonly_fields = list_display
    actions = ("mark_resolved",)

    @admin.action(description="Mark the selected issues resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[ReconciliationIssue]) -> None:
        from django.utils import timezone

        queryset.filter(resolved_at__isnull=True).update(
            resolved_at=timezone.now(),
            resolved_by=ReconciliationIssue.ResolvedBy.OPERATOR,
            updated_at=timezone.now(),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
