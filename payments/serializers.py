"""Input and output shapes of the identity and balance API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.holds import hold_end_key
from payments.models import Escrow, LedgerEntry, LedgerTransaction, Participant
from the402.lib.money import usd_decimal


class HttpUrlField(serializers.URLField):
    def to_internal_value(self, data: Any) -> str:  # whatever the request sent
        value = super().to_internal_value(data)
        if not value.startswith(("http://", "https://")):
            raise serializers.ValidationError("must be an http(s) URL")
        return value


class CapabilitiesField(serializers.ListField):
    child = serializers.CharField(max_length=100)
    max_length = 50


class RegisterInput(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=Participant.Type.values, default="agent")
    description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    webhook_url = HttpUrlField(max_length=500, required=False, allow_blank=True, default="")
    capabilities = CapabilitiesField(required=False, default=list)
    referral_code = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )


class ParticipantUpdateInput(serializers.Serializer[None]):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    webhook_url = HttpUrlField(max_length=500, required=False, allow_blank=True)
    capabilities = CapabilitiesField(required=False)
    type = serializers.ChoiceField(choices=Participant.Type.values, required=False)


class ParticipantOutput(serializers.Serializer[Participant]):
    participant_id = serializers.CharField(source="public_id")
    id = serializers.CharField(source="public_id")
    wallet = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    description = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    registered_at = serializers.DateTimeField(allow_null=True)
    joined_at = serializers.DateTimeField(source="created_at")


class RegistrationOutput(ParticipantOutput):
    api_key = serializers.CharField()
    webhook_secret = serializers.CharField(
        help_text="Signs every webhook sent to you (your webhook_url and each service's)."
    )


class DepositQuery(serializers.Serializer[None]):
    amount = serializers.CharField(help_text='USD to deposit, such as "10.00"')


class FaucetInput(serializers.Serializer[None]):
    address = serializers.RegexField(r"^0x[0-9a-fA-F]{40}$")
    amount = serializers.CharField(default="100.00", help_text="USD of test USDC to mint")

    def validate_address(self, value: str) -> str:
        if int(value, 16) == 0:
            raise serializers.ValidationError("the zero address cannot hold USDC")
        return value


# Deepest page any list serves: far past any real list, and well inside a 64-bit integer
# (a larger offset reached the database and failed there).
MAX_OFFSET = 1_000_000


class HistoryQuery(serializers.Serializer[None]):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


# A row's description when its ledger transaction was recorded without one.
_KIND_DESCRIPTIONS = {
    "x402_payment": "Payment by x402",
    "charge": "Charge to the balance",
    "balance_hold": "Held for a request in progress",
    "hold_release": "Hold released",
    "refund_to_balance": "Payment credited to the balance",
    "escrow_hold": "Held in escrow",
    "payout": "Payout to the provider's wallet",
    "payout_failed": "Payout failed: owed again",
    "referral_withdrawal": "Referral earnings withdrawn to the balance",
}
# The ledger account codes a participant's history reads, and how a row names them.
HISTORY_ACCOUNTS = {"agent": "balance", "provider": "earnings"}


def history_entries(entries: list[LedgerEntry]) -> list[dict[str, Any]]:
    """Rows of `GET /v1/balance/history`: each with its description and the job, thread,
    deposit or payment it belongs to (from its ledger transaction's reference; an escrow
    names its job)."""
    unnamed = [e.transaction.reference for e in entries if "job" not in e.transaction.reference]
    escrows = {ref["escrow"] for ref in unnamed if isinstance(ref.get("escrow"), str)}
    jobs_of_escrows = dict(
        Escrow.objects.filter(public_id__in=escrows).values_list("public_id", "reference")
    )
    # A hold is taken before its request's job exists: the charge that ended it names it.
    holds = {ref["hold"]: hold_end_key(ref["hold"]) for ref in unnamed if "hold" in ref}
    ends = dict(
        LedgerTransaction.objects.filter(idempotency_key__in=holds.values()).values_list(
            "idempotency_key", "reference"
        )
    )
    ended = {hold: ends.get(key) or {} for hold, key in holds.items()}
    return [_history_entry(entry, jobs_of_escrows, ended) for entry in entries]


def _deposit_of(entry: LedgerEntry, reference: dict[str, Any]) -> str | None:
    """An x402 payment credited to the payer's own balance is a deposit (rows recorded
    before deposits named themselves in their reference)."""
    own_balance = entry.account.code.startswith("agent:") and entry.amount > 0
    if entry.transaction.kind == "x402_payment" and own_balance:
        return reference.get("payment")
    return None


def _history_entry(
    entry: LedgerEntry, jobs_of_escrows: dict[str, str], ended: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    record = entry.transaction
    # What a hold paid for (the reference of the charge that ended it), under the row's own.
    reference = {**ended.get(record.reference.get("hold", ""), {}), **record.reference}
    escrow = reference.get("escrow")
    job = reference.get("job") or jobs_of_escrows.get(escrow or "") or None
    kind_text = record.kind.replace("_", " ").capitalize()
    return {
        "id": entry.pk,
        "kind": record.kind,
        "account": HISTORY_ACCOUNTS.get(entry.account.code.partition(":")[0], "balance"),
        "amount_usd": usd_decimal(entry.amount),
        "description": record.description or _KIND_DESCRIPTIONS.get(record.kind, kind_text),
        "job_id": job,
        "thread_id": reference.get("thread"),
        "service_id": reference.get("service"),
        "deposit_id": reference.get("deposit") or _deposit_of(entry, reference),
        "payment_id": reference.get("payment"),
        "escrow_id": escrow,
        "payout_id": reference.get("payout"),
        "reference": record.reference,
        "created_at": entry.created_at,
    }
