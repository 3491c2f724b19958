"""Template helpers shared by every page."""

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


@register.simple_tag(takes_context=True)
def page_query(context, number: int):
    """The current query string with another page number."""
    query = context["request"].GET.copy()
    query["page"] = number
    return query.urlencode()


@register.filter
def get_item(mapping: dict, key):
    """``mapping[key]`` in a template (None when missing)."""
    return mapping.get(key) if mapping else None
