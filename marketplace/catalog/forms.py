"""The provider dashboard's forms: becoming a provider, and a listing.

Forms read what a person typed into the shapes the services take; the rules themselves
stay in `marketplace.catalog.services` (the API's door too). A rule the form checks early,
to show its error at the field (a price, a schema), is the service's own function.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from marketplace.catalog.models import PricingModel, Service, ServiceType
from marketplace.catalog.schemas import contains_nul, normalize_schema
from marketplace.catalog.services import parse_price
from the402.lib.errors import ApplicationError

# Which form field an `ApplicationError` of the listing rules belongs to.
FIELD_OF_CODE = {
    "invalid_price": "price",
    "invalid_pricing_model": "pricing_model",
    "invalid_service_type": "service_type",
    "inconsistent_service_type": "service_type",
    "invalid_fulfillment_type": "service_type",
}


class OnboardForm(forms.Form):
    """`POST /v1/provider/onboard`'s fields."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)
    webhook_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Optional: where signed events are POSTed. You can work from the inbox alone.",
    )


class ProviderProfileForm(forms.Form):
    """The provider's profile: as `PUT /v1/participants/:id`."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)
    webhook_url = forms.URLField(max_length=500, required=False, assume_scheme="https")


def _schema_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
        help_text='JSON Schema, or a flat map such as {"url": {"type": "string"}}. '
        "Leave empty for none.",
    )


class ServiceForm(forms.Form):
    """Every field of `POST /v1/services`, named as the API names them. A range (quoted
    services) is `price` (from) and `price_max` (up to)."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.CharField(max_length=50)
    tags = forms.CharField(max_length=1100, required=False, help_text="Comma-separated, up to 20.")
    service_type = forms.ChoiceField(choices=ServiceType.choices, label="Type")
    pricing_model = forms.ChoiceField(choices=PricingModel.choices, label="Pricing")
    price = forms.CharField(
        max_length=20,
        label="Price (USD)",
        help_text="Your price; a quoted service's lowest price. Agents pay it plus the fee.",
    )
    price_max = forms.CharField(
        max_length=20,
        required=False,
        label="Up to (USD)",
        help_text="Quoted services only: the highest price you may propose.",
    )
    estimated_delivery = forms.CharField(max_length=50, required=False)
    input_schema = _schema_field("Input schema (the brief)")
    deliverable_schema = _schema_field("Deliverable schema")
    webhook_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        label="Webhook URL",
        help_text="Blank: your provider webhook, or none (work from the inbox).",
    )
    status = forms.ChoiceField(
        choices=[(Service.Status.ACTIVE, "Active"), (Service.Status.INACTIVE, "Inactive")],
        initial=Service.Status.ACTIVE,
    )

    @classmethod
    def for_service(cls, service: Service) -> ServiceForm:
        from the402.lib import money

        return cls(
            initial={
                "name": service.name,
                "description": service.description,
                "category": service.category,
                "tags": ", ".join(service.tags or []),
                "service_type": service.service_type,
                "pricing_model": service.pricing_model,
                "price": money.format_usd(service.price_micros),
                "price_max": money.format_usd(service.price_max_micros)
                if service.price_max_micros is not None
                else "",
                "estimated_delivery": service.estimated_delivery,
                "input_schema": _dump(service.input_schema),
                "deliverable_schema": _dump(service.deliverable_schema),
                "webhook_url": service.webhook_url,
                "status": service.status,
            }
        )

    def clean_tags(self) -> list[str]:
        tags = [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]
        if len(tags) > 20:
            raise ValidationError("At most 20 tags.")
        if any(len(t) > 50 for t in tags):
            raise ValidationError("A tag has at most 50 characters.")
        return tags

    def _schema(self, name: str) -> dict[str, Any] | None:
        text = self.cleaned_data[name].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}") from None
        if contains_nul(value):
            raise ValidationError("Must not contain NUL characters.")
        try:
            return normalize_schema(value, field=name)
        except ApplicationError as exc:
            raise ValidationError(exc.message) from None

    def clean_input_schema(self) -> dict[str, Any] | None:
        return self._schema("input_schema")

    def clean_deliverable_schema(self) -> dict[str, Any] | None:
        return self._schema("deliverable_schema")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "price" not in data or "pricing_model" not in data:
            return data
        quoted = data["pricing_model"] == PricingModel.QUOTE_REQUIRED
        try:
            if quoted and data.get("price_max", "").strip():
                low, high = parse_price({"min": data["price"], "max": data["price_max"]})
            else:
                low, high = parse_price(data["price"])
        except ApplicationError as exc:
            self.add_error("price_max" if "max" in exc.message else "price", exc.message)
            return data
        if not quoted and data.get("price_max", "").strip():
            self.add_error("price_max", "A fixed-price service has one price, not a range.")
        data["price_micros"], data["price_max_micros"] = low, high
        return data

    @property
    def listing(self) -> dict[str, Any]:
        """The cleaned form as `service_create` / `service_update` keyword arguments."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "category": data["category"],
            "tags": data["tags"],
            "service_type": data["service_type"],
            "pricing_model": data["pricing_model"],
            "price_micros": data["price_micros"],
            "price_max_micros": data["price_max_micros"],
            "estimated_delivery": data["estimated_delivery"],
            "input_schema": data["input_schema"],
            "deliverable_schema": data["deliverable_schema"],
            "webhook_url": data["webhook_url"],
            "status": data["status"],
        }

    def add_service_error(self, exc: ApplicationError | ValidationError) -> None:
        """Show a refusal of the listing rules at its field (else above the form)."""
        if isinstance(exc, ValidationError):
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    self.add_error(name if name in self.fields else None, errors)
            else:
                self.add_error(None, exc.messages)
            return
        field = FIELD_OF_CODE.get(exc.code)
        if exc.code == "invalid_schema":
            field = next(
                (n for n in ("input_schema", "deliverable_schema") if n in exc.message), None
            )
        self.add_error(field, exc.message)


def _dump(schema: dict[str, Any] | None) -> str:
    return json.dumps(schema, indent=2) if schema else ""
