"""Forms of the account pages. Their rules are the API's: the profile form is checked by the
same serializer as `PUT /v1/participants/:id`."""

from __future__ import annotations

from typing import Any

from django import forms
from rest_framework import serializers

from payments.models import Participant
from payments.serializers import ParticipantUpdateInput


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)
    webhook_url = forms.CharField(
        max_length=500,
        required=False,
        label="Webhook URL",
        help_text="Where we send signed events (providers; optional).",
    )
    capabilities = forms.CharField(
        max_length=2000, required=False, help_text="Comma-separated, e.g. seo, translation"
    )

    @classmethod
    def for_participant(cls, participant: Participant) -> ProfileForm:
        return cls(
            initial={
                "name": participant.name,
                "description": participant.description,
                "webhook_url": participant.webhook_url,
                "capabilities": ", ".join(str(c) for c in participant.capabilities),
            }
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        payload = {
            "name": data.get("name", ""),
            "description": data.get("description", ""),
            "webhook_url": data.get("webhook_url", ""),
            "capabilities": [
                part.strip() for part in data.get("capabilities", "").split(",") if part.strip()
            ],
        }
        serializer = ParticipantUpdateInput(data=payload)
        if not serializer.is_valid():
            for field, problems in serializer.errors.items():
                target = field if field in self.fields else None
                for problem in problems if isinstance(problems, list) else [problems]:
                    self.add_error(target, _text(problem))
            return data
        self.validated: dict[str, Any] = dict(serializer.validated_data)
        return data


def _text(problem: Any) -> str:
    if isinstance(problem, serializers.ErrorDetail | str):
        return str(problem)
    if isinstance(problem, dict):
        return "; ".join(_text(value) for value in problem.values())
    if isinstance(problem, list):
        return "; ".join(_text(value) for value in problem)
    return str(problem)


class ExportKeyForm(forms.Form):
    address = forms.RegexField(regex=r"^0x[0-9a-fA-F]{40}$", max_length=42)
