"""The report's charts as server-side SVG: no script, nothing loaded from elsewhere. Every text drawn is escaped
here (``html.escape``); numbers are formatted by this module; the result is marked safe once, at the end."""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString

PAGE_COLOUR, OTHER_COLOUR, BUDGET_COLOUR = "#c92a2a", "#adb5bd", "#1d2430"
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 12, 14, 34


def _nice_ceiling(value: float) -> int:
    """The smallest of 1, 2 or 5 times a power of ten at or above ``value`` (at least 1): the axis's top."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def weekly_bars(weeks: list[dict], *, budget: int | None = None, budget_label: str = "page budget") -> SafeString:
    """Stacked bars per week, page notifications below and the others above, each week's figures in its
    tooltip; with ``budget``, a dashed line at that many page notifications. ``weeks`` are the report's
    ``weekly_totals`` rows (``week``, ``page``, ``other``)."""
    if not weeks:
        return SafeString("")
    most = max(max(week["page"] + week["other"] for week in weeks), budget or 0)
    top = _nice_ceiling(most)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(weeks)
    bar = max(slot * 0.7, 1.0)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    parts = []
    for tick in (0, top / 2, top):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" y2="{y(tick):.1f}" stroke="#dfe3e8"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    label_every = max(1, round(len(weeks) / 12))
    for i, week in enumerate(weeks):
        x = LEFT + i * slot + (slot - bar) / 2
        page, other = week["page"], week["other"]
        title = escape(f"{week['week']}: {page} page, {other} other")
        rects = ""
        if page:
            rects += (
                f'<rect class="page" x="{x:.1f}" y="{y(page):.1f}" width="{bar:.1f}" '
                f'height="{y(0) - y(page):.1f}" fill="{PAGE_COLOUR}"/>'
            )
        if other:
            rects += (
                f'<rect class="other" x="{x:.1f}" y="{y(page + other):.1f}" width="{bar:.1f}" '
                f'height="{y(page) - y(page + other):.1f}" fill="{OTHER_COLOUR}"/>'
            )
        parts.append(f"<g><title>{title}</title>{rects}</g>")
        if i % label_every == 0:
            name = escape(week["week"][-3:])  # W07: the year is in the table below
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{name}</text>')
    legend = (
        f'<rect x="{LEFT}" y="{HEIGHT - 12}" width="10" height="10" fill="{PAGE_COLOUR}"/>'
        f'<text x="{LEFT + 14}" y="{HEIGHT - 3}">page</text>'
        f'<rect x="{LEFT + 60}" y="{HEIGHT - 12}" width="10" height="10" fill="{OTHER_COLOUR}"/>'
        f'<text x="{LEFT + 74}" y="{HEIGHT - 3}">other tiers</text>'
    )
    if budget:
        parts.append(
            f'<line class="budget" x1="{LEFT}" y1="{y(budget):.1f}" x2="{WIDTH - RIGHT}" y2="{y(budget):.1f}" '
            f'stroke="{BUDGET_COLOUR}" stroke-dasharray="6 4" stroke-width="1.5"><title>{escape(budget_label)}: '
            f"{budget}</title></line>"
        )
        legend += (
            f'<line x1="{LEFT + 160}" y1="{HEIGHT - 7}" x2="{LEFT + 180}" y2="{HEIGHT - 7}" stroke="{BUDGET_COLOUR}" '
            f'stroke-dasharray="6 4" stroke-width="1.5"/><text x="{LEFT + 186}" y="{HEIGHT - 3}">'
            f"{escape(budget_label)} ({budget} a week)</text>"
        )
    total_page = sum(week["page"] for week in weeks)
    total = total_page + sum(week["other"] for week in weeks)
    label = escape(
        f"Notifications per week over {len(weeks)} weeks: {total} in all, {total_page} of them page tier"
        + (f"; {budget_label} {budget} a week" if budget else "")
    )
    return SafeString(
        f'<svg class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{label}" '
        f'font-size="11" fill="#667085">{"".join(parts)}{legend}</svg>'
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
