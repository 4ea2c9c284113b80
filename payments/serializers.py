"""Input and output shapes of the identity and balance API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.models import Participant


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
