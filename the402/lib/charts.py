"""Charts drawn on the server as SVG (no script, no CDN): a bar per day.

The SVG is built with `format_html`, so labels are escaped; it carries a `<title>` and a
`role="img"` with an `aria-label` summing it up, and each bar a `<title>` with its exact
value, for screen readers and on hover.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from the402.lib import money as money_lib

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 180, 56, 22, 10


def _label(value: int, money: bool) -> str:
    return f"${money_lib.format_usd(value)}" if money else str(value)


def bar_chart(
    days: Sequence[date], values: Sequence[int], *, title: str, money: bool = False
) -> SafeString:
    """A bar chart of `values` (one per day of `days`); `money`: values are micro-USDC."""
    top = max(values, default=0) or 1
    count = max(len(values), 1)
    plot_w, plot_h = WIDTH - PAD_LEFT - 4, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / count
    bar_w = max(step * 0.7, 1)
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        h = plot_h * value / top
        bars.append(
            (
                f"{PAD_LEFT + i * step + (step - bar_w) / 2:.1f}",
                f"{PAD_TOP + plot_h - h:.1f}",
                f"{bar_w:.1f}",
                f"{h:.1f}",
                f"{day.isoformat()}: {_label(value, money)}",
            )
        )
    total = sum(values)
    summary = (
        f"{title}: total {_label(total, money)}, highest {_label(max(values, default=0), money)}"
    )
    first = days[0].strftime("%b %d") if days else ""
    last = days[-1].strftime("%b %d") if days else ""
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{summary}" '
        'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">'
        "<title>{summary}</title>"
        '<line class="chart-axis" x1="{pl}" y1="{base}" x2="{w}" y2="{base}"/>'
        '<text class="chart-label" x="{lx}" y="{ty}" text-anchor="end">{top}</text>'
        '<text class="chart-label" x="{lx}" y="{base}" text-anchor="end">0</text>'
        "{bars}"
        '<text class="chart-label" x="{pl}" y="{h}">{first}</text>'
        '<text class="chart-label" x="{w}" y="{h}" text-anchor="end">{last}</text>'
        "</svg>",
        w=WIDTH,
        h=HEIGHT - 4,
        pl=PAD_LEFT,
        lx=PAD_LEFT - 6,
        ty=PAD_TOP + 10,
        base=PAD_TOP + plot_h,
        top=_label(top if any(values) else 0, money),
        summary=summary,
        first=first,
        last=last,
        bars=format_html_join(
            "",
            '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            bars,
        ),
    )
