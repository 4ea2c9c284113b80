"""Admin building blocks shared by the apps: read-only records and money shown as USD.

Money is integer micro-USDC in the database; an operator reads it as dollars. `usd` formats
one amount ("$2.10"), `MoneyAdmin.money_fields` shows model fields that way on the list
and the page (always read-only), and `UsdFormField` edits one as dollars where an admin
may change a price.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from the402.lib import money

EMPTY = "—"

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
    _TabularInline = admin.TabularInline[Any, Any]
else:
    _ModelAdmin, _TabularInline = admin.ModelAdmin, admin.TabularInline


def usd(micros: int | None) -> str:
    """Micro-USDC as dollars for an operator: 2100000 -> "$2.10", -500000 -> "-$0.50"."""
    if micros is None:
        return EMPTY
    if micros < 0:
        return f"-${money.format_usd(-micros)}"
    return f"${money.format_usd(micros)}"


def usd_display(field: str, description: str | None = None) -> Callable[[Any, Any], str]:
    """An admin display method showing the micro-USDC `field` of a row as USD, sortable by
    the field. `description` defaults to the field name without `_micros`."""
    label = description or field.removesuffix("_micros").replace("_", " ")

    def show(model_admin: Any, obj: Any) -> str:
        return usd(getattr(obj, field))

    show.__name__ = show.__qualname__ = f"{field}_usd"
    return admin.display(description=label, ordering=field)(show)


class UsdFormField(forms.CharField):
    """A micro-USDC amount typed as dollars ("12.50", "$0.001"): exact, never rounded."""

    def __init__(self, *, min_micros: int | None = 0, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.setdefault("help_text", "In US dollars, such as 12.50 (up to 6 decimals).")
        super().__init__(**kwargs)
        self.min_micros = min_micros

    def prepare_value(self, value: Any) -> Any:
        return money.format_usd(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            micros = money.parse_usd(text)
        except money.MoneyError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
        if self.min_micros is not None and micros < self.min_micros:
            raise forms.ValidationError(f"At least {usd(self.min_micros)}.", code="min_value")
        return micros

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return bool(self.to_python(data) != initial)
        except forms.ValidationError:
            return True


class MoneyAdmin(_ModelAdmin):
    """An admin whose `money_fields` (micro-USDC model fields) show as USD, read-only.

    Each name gets a `<name>_usd` display method (use it in `list_display`); on the change
    page it replaces the raw field, in the raw field's place. `usd_form_fields` are the
    micro-USDC fields an admin may edit, typed in dollars (`UsdFormField`).
    """

    money_fields: ClassVar[Sequence[str]] = ()
    usd_form_fields: ClassVar[Sequence[str]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for field in cls.money_fields:
            if not hasattr(cls, f"{field}_usd"):
                setattr(cls, f"{field}_usd", usd_display(field))

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*(super().get_exclude(request, obj) or ()), *self.money_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = [
            f"{name}_usd" if name in self.money_fields else name
            for name in super().get_readonly_fields(request, obj)
        ]
        return [*readonly, *(f"{f}_usd" for f in self.money_fields if f"{f}_usd" not in readonly)]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields: list[Any] = list(super().get_fields(request, obj))
        if self.fields or not self.money_fields:
            return fields
        # Each `<name>_usd` where the model has `<name>`; displays that are not fields last.
        order = {field.name: i for i, field in enumerate(self.model._meta.fields)}
        raw = {f"{name}_usd": name for name in self.money_fields}
        return sorted(fields, key=lambda name: order.get(raw.get(name, name), len(order)))

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name in self.usd_form_fields:
            return UsdFormField(
                required=not db_field.blank,
                label=f"{db_field.verbose_name.removesuffix(' micros')} (USD)".capitalize(),
                help_text=f"{db_field.help_text or 'Amount'}, in US dollars such as 12.50.",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ReadOnlyAdmin(MoneyAdmin):
    """Viewable, searchable, never editable: records such as a ledger or a delivery log are
    changed only by the services that write them (a ledger is corrected by new transactions)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(_TabularInline):
    """Rows shown under their parent, never added, changed or deleted from the admin (the
    audit rows of a state machine, the entries of a ledger transaction)."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return list(self.fields or ())  # subclasses name their `fields`: all read-only

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
