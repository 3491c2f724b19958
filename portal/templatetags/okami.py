"""Template helpers shared by every page."""

import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from alarms.choices import BADGE_COLOURS

register = template.Library()


@register.filter
def badge(value, label=None):
    """A coloured badge for a choice value (state, tier, type, status); escaped like any other text."""
    if value in (None, ""):
        return mark_safe('<span class="badge badge-none">—</span>')
    return format_html('<span class="badge badge-{}">{}</span>', BADGE_COLOURS.get(value, "grey"), label or value)


@register.simple_tag(takes_context=True)
def sort_link(context, field: str, label: str):
    """A column header that sorts by ``field`` (and reverses on a second click), keeping the filters."""
    request = context["request"]
    query = request.GET.copy()
    current = query.get("ordering", "")
    query["ordering"] = f"-{field}" if current == field else field
    query.pop("page", None)
    arrow = " ▲" if current == field else " ▼" if current == f"-{field}" else ""
    return format_html('<a href="?{}">{}{}</a>', query.urlencode(), label, arrow)


@register.filter
def get_item(mapping: dict, key):
    """``mapping[key]`` in a template (None when missing)."""
    return mapping.get(key) if mapping else None


# CloudWatch's ComparisonOperator values, as a reader says them.
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": "≥",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band",
    "GreaterThanUpperThreshold": "above the band",
}


@register.filter
def comparison(operator: str) -> str:
    """``GreaterThanOrEqualToThreshold`` → ``≥``; an unknown operator is shown as it is."""
    return COMPARISONS.get(operator, operator)


@register.filter
def pretty_json(value) -> str:
    """Indented JSON (metric-math queries). Returned unsafe, so the template escapes it."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.filter
def duration(milliseconds) -> str:
    """A run's duration in milliseconds as ``850 ms``, ``12.3 s`` or ``4 min 5 s``."""
    if milliseconds in (None, ""):
        return "—"
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


@register.filter
def elapsed(span) -> str:
    """A timedelta as ``45 s``, ``4 min 5 s``, ``2 h 3 min``, ``3 d 4 h``: the two largest units say enough."""
    if span is None:
        return ""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
