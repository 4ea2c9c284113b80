"""The provider dashboard's forms for jobs and threads.

The delivery form is generated from the service's `deliverable_schema` when that schema is a
flat object of strings, numbers and booleans; otherwise the deliverables are typed as JSON.
Either way the schema itself is checked by the service (`job_update`), as on the API.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from marketplace.deals.threads import ATTACHMENT_MAX_BYTES

_SIMPLE = {"string", "integer", "number", "boolean"}
FIELD_PREFIX = "d_"


def flat_properties(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    """The properties of a flat object schema (each a string, integer, number or boolean),
    or None when the schema is anything else (or absent)."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return None
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return None
    if any(
        not isinstance(spec, dict) or spec.get("type") not in _SIMPLE
        for spec in properties.values()
    ):
        return None
    return properties


class MaxSizeFileField(forms.FileField):
    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        if upload and upload.size > ATTACHMENT_MAX_BYTES:
            raise ValidationError("Files are limited to 25 MB.")
        return upload


class DeliverForm(forms.Form):
    """Deliverables (generated fields, or `deliverables` as JSON), notes and a file."""

    notes = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    file = MaxSizeFileField(required=False, help_text="Optional, up to 25 MB.")

    def __init__(self, *args: Any, schema: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.properties = flat_properties(schema)
        if self.properties is None:
            self.fields["deliverables"] = forms.CharField(
                label="Deliverables (JSON object)",
                widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
                help_text="Checked against the service's deliverable schema.",
            )
            return
        required = set(schema.get("required") or []) if schema else set()
        for name, spec in self.properties.items():
            label = spec.get("title") or name.replace("_", " ").capitalize()
            options = {
                "label": label,
                "required": name in required and spec["type"] != "boolean",
                "help_text": spec.get("description", ""),
            }
            kind = spec["type"]
            if kind == "integer":
                field: forms.Field = forms.IntegerField(**options)
            elif kind == "number":
                field = forms.DecimalField(**options)
            elif kind == "boolean":
                field = forms.BooleanField(**options)
            else:
                field = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), **options)
            self.fields[FIELD_PREFIX + name] = field

    def clean_deliverables(self) -> Any:
        try:
            return json.loads(self.cleaned_data["deliverables"])
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}") from None

    @property
    def deliverables(self) -> Any:
        data = self.cleaned_data
        if self.properties is None:
            return data["deliverables"]
        values: dict[str, Any] = {}
        for name, spec in self.properties.items():
            value = data.get(FIELD_PREFIX + name)
            if value is None or value == "":
                if spec["type"] == "boolean":
                    values[name] = False
                continue
            if spec["type"] == "number":
                value = int(value) if value == value.to_integral_value() else float(value)
            values[name] = value
        return values

    @property
    def deliverable_field_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith(FIELD_PREFIX)] or ["deliverables"]


class MessageForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("text", "Message"), ("credential", "Credential (encrypted)")],
        initial="text",
        required=False,
    )
    text = forms.CharField(
        label="Message", max_length=10000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    file = MaxSizeFileField(required=False, help_text="Optional, up to 25 MB.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("text") and not data.get("file"):
            raise ValidationError("Write a message or attach a file.")
        return data


class ProposeForm(forms.Form):
    price = forms.CharField(max_length=20, label="Your price (USD)")
    message = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
