"""The operator's console: services. A listing is changed through the catalog's services
(`service_create`, `service_update`), so the admin applies the same rules as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from marketplace.catalog.services import service_create, service_update
from marketplace.models import (
    Service,
)
from the402.lib.admin import MoneyAdmin, usd_display
from the402.lib.errors import ApplicationError

_LISTING_FIELDS = (
    "name",
    "description",
    "category",
    "tags",
    "service_type",
    "pricing_model",
    "price_micros",
    "price_max_micros",
    "estimated_delivery",
    "input_schema",
    "deliverable_schema",
    "webhook_url",
    "status",
)


@admin.register(Service)
class ServiceAdmin(MoneyAdmin):
    """Listings. A save goes through `service_create` / `service_update`, by the catalog's
    rules (pricing, types, schemas); prices are typed in dollars."""

    list_display = (
        "public_id",
        "name",
        "provider",
        "category",
        "service_type",
        "pricing_model",
        "price_micros_usd",
        "status",
        "listed_at",
    )
    list_filter = ("status", "service_type", "pricing_model", "category")
    list_select_related = ("provider",)
    search_fields = (
        "=public_id",
        "name",
        "description",
        "category",
        "provider__name",
        "=provider__public_id",
        "=provider__wallet",
    )
    raw_id_fields = ("provider",)
    usd_form_fields = ("price_micros", "price_max_micros")
    price_micros_usd = usd_display("price_micros", "price")
    date_hierarchy = "listed_at"
    list_per_page = 50

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return ["public_id", "provider", *_LISTING_FIELDS, *self._stamps(obj)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = ["public_id", *self._stamps(obj)]
        return readonly + ["provider"] if obj is not None else readonly

    @staticmethod
    def _stamps(obj: Any) -> list[str]:
        if obj is None:
            return []
        return ["listed_at", "webhook_healthy", "webhook_checked_at", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        """Through the catalog's services, never `obj.save()`. A rule they refuse is shown
        as an error and nothing is written."""
        data = form.cleaned_data
        try:
            if change:
                changed = {name: data[name] for name in form.changed_data if name in data}
                saved = service_update(service=obj, **changed)
            else:
                fields = {name: data[name] for name in _LISTING_FIELDS if name in data}
                saved = service_create(provider=data["provider"], **fields)
        except ApplicationError as exc:
            request._service_refused = exc.message  # type: ignore[attr-defined]
            return
        obj.pk, obj.public_id = saved.pk, saved.public_id

    def _refused(self, request: HttpRequest) -> HttpResponse | None:
        refused = getattr(request, "_service_refused", None)
        if refused is None:
            return None
        self.message_user(request, f"Not saved: {refused}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return (
            None
            if hasattr(request, "_service_refused")
            else super().log_change(request, obj, message)
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return (
            None
            if hasattr(request, "_service_refused")
            else super().log_addition(request, obj, message)
        )

    def response_change(self, request: HttpRequest, obj: Service) -> HttpResponse:
        return self._refused(request) or super().response_change(request, obj)

    def response_add(
        self, request: HttpRequest, obj: Service, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._refused(request) or super().response_add(request, obj, post_url_continue)
