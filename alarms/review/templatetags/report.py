"""Formatting of the noise report's figures: rates as percentages, seconds as durations, changes with a sign."""

from __future__ import annotations

from datetime import timedelta

from django import template

from portal.templatetags.okami import elapsed

register = template.Library()
MINUS = "\u2212"


@register.filter
def percent(rate) -> str:
    """0.4286 → ``43%``; below 1%, one decimal (0.0042 → ``0.4%``), so that a rare customer impact never
    reads as none (``<0.1%``); no rate (nothing to divide by) → ``—``."""
    if rate is None:
        return "—"
    value = rate * 100
    if 0 < value < 0.05:
        return "<0.1%"
    return f"{value:.1f}%" if 0 < value < 0.95 else f"{value:.0f}%"


@register.filter
def change(rate) -> str:
    """-0.64 → ``-64%`` (with a true minus sign), 0.12 → ``+12%``; None → ``—``."""
    if rate is None:
        return "—"
    value = round(rate * 100)
    return f"{MINUS}{-value}%" if value < 0 else f"+{value}%"


@register.filter
def seconds(value) -> str:
    """Seconds as ``4 min 5 s``, ``2 h 3 min``, ``3 d 4 h``; None → ``—``."""
    return "—" if value is None else elapsed(timedelta(seconds=value))
