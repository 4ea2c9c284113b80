"""Template helpers of the web pages: amounts as dollars, states as coloured badges, times
relative with the exact time on hover. Loaded with `{% load the402_web %}`."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from the402.lib import money

register = template.Library()

# The tone of each state, whatever the model: success (done well), info (under way),
# warning (waiting on someone), danger (failed or disputed), neutral (closed otherwise).
TONES = {
    "active": "success",
    "settled": "success",
    "released": "success",
    "confirmed": "success",
    "completed": "success",
    "verified": "success",
    "accepted": "success",
    "held": "info",
    "in_progress": "info",
    "dispatched": "info",
    "sent": "info",
    "settling": "info",
    "pending": "warning",
    "queued": "warning",
    "inquiry": "warning",
    "proposed": "warning",
    "delivered": "warning",
    "awaiting_verification": "warning",
    "failed": "danger",
    "disputed": "danger",
    "refunded": "neutral",
    "reclaimed": "neutral",
    "split": "neutral",
    "declined": "neutral",
    "cancelled": "neutral",
    "inactive": "neutral",
    "archived": "neutral",
}


@register.filter
def usd(micros: int | str | None) -> str:
    """Micro-USDC as dollars: 1500000 -> "$1.50" (exact, never a float)."""
    if micros is None or micros == "":
        return ""
    value = int(micros)
    text = money.format_usd(abs(value))
    return f"-${text}" if value < 0 else f"${text}"


@register.simple_tag
def badge(state: str, label: str | None = None) -> SafeString:
    """A state as a coloured badge; the text says the state, so colour is never the only cue."""
    tone = TONES.get(str(state), "neutral")
    text = label or str(state).replace("_", " ")
    return format_html('<span class="badge badge-{}">{}</span>', tone, text)


@register.simple_tag
def reltime(moment: datetime | None) -> SafeString:
    """ "3 hours ago" (or "in 2 days"), with the exact UTC time on hover."""
    if moment is None:
        return format_html("{}", "—")
    now = timezone.now()
    relative = f"{timesince(moment, now)} ago" if moment <= now else f"in {timesince(now, moment)}"
    exact = moment.astimezone(timezone.get_fixed_timezone(0)).strftime("%Y-%m-%d %H:%M:%S UTC")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, relative
    )


@register.filter
def short_address(address: str) -> str:
    """0x1234…abcd, for tight spaces (the full address is in the title or nearby)."""
    text = str(address or "")
    return f"{text[:6]}…{text[-4:]}" if len(text) > 12 else text
