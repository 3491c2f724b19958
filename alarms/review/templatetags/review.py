"""The evidence of a review item drawn as server-side SVG (no script, nothing loaded from elsewhere): a firing
timeline of alerts per week and a bar of the alerts' outcomes. Evidence is a snapshot written by the review's
engine; every key is optional here, and anything that is not a count is ignored.

A review page draws hundreds of items, so these tags build their markup with ``str`` formatting and escape every
text they interpolate with ``html.escape`` (numbers are formatted by us); ``_markup`` marks the result safe.
The select options and form fields of the decision forms are built the same way.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from django import template
from django.utils.safestring import SafeString

from alarms.review.choices import Decision
from incidents.choices import Outcome

register = template.Library()

BAR, GAP, HEIGHT = 8, 2, 32
OUTCOME_WIDTH, OUTCOME_HEIGHT = 240, 12
WEEKLY_KEYS = ("weekly", "alerts_per_week", "timeline")
# Outcome colours as the badges show them; alerts nobody labelled are drawn pale.
OUTCOME_COLOURS = {
    Outcome.ACTIONED: "#2b8a3e",
    Outcome.CUSTOMER_IMPACT: "#c92a2a",
    Outcome.NO_ACTION: "#868e96",
    Outcome.TRANSIENT: "#e8a33d",
    Outcome.DUPLICATE: "#6741d9",
    Outcome.FALSE_POSITIVE: "#1c64b5",
}
UNLABELLED_COLOUR = "#dee2e6"
OUTCOME_NAMES = {value: label.split(":")[0] for value, label in Outcome.choices}
SUGGESTION_TEXT_KEYS = ("text", "summary", "reason")
NO_TIMELINE = "no firing timeline"
# What a suggestion's ``action`` proposes, as a decision (the others, such as "assign_owner", propose none).
ACTION_DECISIONS = {"demote": "demote", "remove": "delete", "delete": "delete", "merge": "merge", "tune": "tune",
                    "keep": "keep"}  # fmt: skip


def _count(value) -> int:
    if isinstance(value, dict):
        value = value.get("count", value.get("alerts"))
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def weekly_counts(evidence) -> list[tuple[str, int]]:
    """``(week, alerts)`` oldest first, from the first list the evidence has: of counts, or of ``{"week",
    "alerts"}`` (or ``"count"``)."""
    evidence = evidence if isinstance(evidence, dict) else {}
    for key in WEEKLY_KEYS:
        values = evidence.get(key)
        if isinstance(values, list) and values:
            weeks = []
            for i, value in enumerate(values):
                week = value.get("week") if isinstance(value, dict) else None
                weeks.append((str(week) if week else f"week {i + 1} of {len(values)}", _count(value)))
            return weeks
    return []


def outcome_counts(evidence) -> list[tuple[str, str, int]]:
    """``(outcome, label, count)`` in the order of the choices, unlabelled last, from the evidence's
    ``outcomes`` (a dict by outcome) or else its own keys named after the outcomes (and ``unlabelled``)."""
    if not isinstance(evidence, dict):
        return []
    outcomes = evidence.get("outcomes")
    if isinstance(outcomes, dict):
        unlabelled = sum(_count(n) for key, n in outcomes.items() if key not in OUTCOME_NAMES)
    else:
        outcomes, unlabelled = evidence, _count(evidence.get("unlabelled"))
    rows = [(value, OUTCOME_NAMES[value], _count(outcomes.get(value))) for value in Outcome.values]
    rows.append(("unlabelled", "Not labelled", unlabelled))
    return [row for row in rows if row[2]]


def _markup(html: str) -> SafeString:
    """Markup built in this module: every interpolated text went through ``escape``."""
    return SafeString(html)


@register.simple_tag
def firing_timeline(evidence):
    """Alerts per week as bars, the tallest week full height; a week's count in its tooltip."""
    weeks = weekly_counts(evidence)
    counts = [n for _, n in weeks]
    if not any(counts):
        return _markup(f'<span class="muted small">{"no alerts in the window" if weeks else NO_TIMELINE}</span>')
    most = max(counts)
    width = len(counts) * (BAR + GAP)
    bars = []
    for i, (week, n) in enumerate(weeks):
        if n:
            height = max(1, round(HEIGHT * n / most))
            bars.append(
                f'<rect x="{i * (BAR + GAP)}" y="{HEIGHT - height}" width="{BAR}" height="{height}">'
                f"<title>{escape(week)}: {n}</title></rect>"
            )
    label = f"Alerts per week over {len(counts)} weeks: {sum(counts)} in all, at most {most} a week"
    return _markup(
        f'<svg class="review-timeline" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" role="img" '
        f'aria-label="{label}"><g fill="#c0392b">{"".join(bars)}</g>'
        f'<line x1="0" y1="{HEIGHT}" x2="{width}" y2="{HEIGHT}" stroke="#ccc"/></svg>'
    )


@register.simple_tag
def outcome_bar(evidence):
    """The alerts' outcomes as one bar split by share, with a legend of counts."""
    rows = outcome_counts(evidence)
    total = sum(n for _, _, n in rows)
    if not total:
        return _markup('<span class="muted small">no outcomes recorded</span>')
    rects, keys, x = [], [], 0.0
    for value, label, n in rows:
        width = OUTCOME_WIDTH * n / total
        colour = OUTCOME_COLOURS.get(value, UNLABELLED_COLOUR)
        rects.append(
            f'<rect x="{x:.1f}" y="0" width="{width:.1f}" height="{OUTCOME_HEIGHT}" fill="{colour}">'
            f"<title>{label}: {n}</title></rect>"
        )
        keys.append(
            f'<span class="review-key" data-outcome="{value}"><i style="background:{colour}"></i>{label} {n}</span>'
        )
        x += width
    label = ", ".join(f"{label} {n}" for _, label, n in rows)
    return _markup(
        f'<svg class="review-outcomes" width="{OUTCOME_WIDTH}" height="{OUTCOME_HEIGHT}" '
        f'viewBox="0 0 {OUTCOME_WIDTH} {OUTCOME_HEIGHT}" role="img" aria-label="{label}">{"".join(rects)}</svg> '
        f'<span class="small muted">{" ".join(keys)}</span>'
    )


@register.filter
def suggestion_text(suggestion) -> str:
    """What the engine suggests, in words (its first text field), or ""."""
    if not isinstance(suggestion, dict):
        return ""
    for key in SUGGESTION_TEXT_KEYS:
        value = suggestion.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


@register.filter
def suggested_decision(suggestion) -> str:
    """The decision the engine suggests (its ``decision``, else what its ``action`` proposes), or ""."""
    if not isinstance(suggestion, dict):
        return ""
    value = suggestion.get("decision")
    if value in Decision.values:
        return value
    return ACTION_DECISIONS.get(str(suggestion.get("action") or ""), "")


@register.filter
def get_count(counts, key) -> int:
    """``counts[key]`` of a summary's counts, 0 when missing."""
    value = counts.get(key) if isinstance(counts, dict) else None
    return value if isinstance(value, int) else 0


@lru_cache(maxsize=256)
def _options(pairs: tuple[tuple[str, str], ...], selected: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in pairs
    )


@register.simple_tag
def options(choices, selected=""):
    """``<option>`` elements of ``(value, label)`` choices (or plain values), ``selected`` chosen."""
    pairs = tuple((c, c) if isinstance(c, str) else (str(c[0]), str(c[1])) for c in choices)
    return _markup(_options(pairs, "" if selected is None else str(selected)))


@register.simple_tag
def tune_fields(item):
    """The tune decision's fields of an item's form, prefilled (``item.form_setting``: name, label, value,
    current value, choices); the current value in each field's tooltip."""
    fields = []
    for name, label, value, now, choices in item.form_setting:
        value = "" if value is None else str(value)
        if choices:
            control = f'<select name="setting_{name}">{options(choices, value)}</select>'
        else:
            control = f'<input type="text" class="short" name="setting_{name}" value="{escape(value)}">'
        now = "—" if now in (None, "") else escape(str(now))
        fields.append(f'<label class="for-tune" title="now: {now}">{escape(label)}{control}</label>')
    return _markup("".join(fields))
