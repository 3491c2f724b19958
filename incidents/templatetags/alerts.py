"""The alerts panel of the alarm page: recent alerts of the alarm (and of the alarms it replaced) and a
firing timeline drawn as server-side SVG, no script and nothing loaded from elsewhere."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from alarms.selectors.replacement import replacement_chain
from incidents.models import Alert

register = template.Library()

TIMELINE_DAYS = 90
RECENT = 10
BAR, GAP, HEIGHT = 6, 2, 40


@register.inclusion_tag("incidents/alarm_alerts.html")
def alarm_alerts(alarm) -> dict:
    ids = [alarm.pk, *(a.pk for a in replacement_chain(alarm=alarm).replaces)]
    recent = list(Alert.objects.filter(alarm_id__in=ids).order_by("-opened_at")[:RECENT])
    today = timezone.localdate()  # the days TruncDate counts in: the display time zone
    start = today - timedelta(days=TIMELINE_DAYS - 1)
    per_day = dict(
        Alert.objects.filter(alarm_id__in=ids, opened_at__date__gte=start)
        .annotate(day=TruncDate("opened_at"))
        .values_list("day")
        .annotate(n=Count("id"))
    )
    most = max(per_day.values(), default=0)
    bars = []
    for offset in range(TIMELINE_DAYS):
        day = start + timedelta(days=offset)
        count = per_day.get(day, 0)
        height = round(HEIGHT * count / most) if most else 0
        bars.append({"x": offset * (BAR + GAP), "y": HEIGHT - height, "height": height, "day": day, "count": count})
    return {
        "alarm": alarm,
        "recent": recent,
        "bars": bars,
        "total": sum(per_day.values()),
        "width": TIMELINE_DAYS * (BAR + GAP),
        "height": HEIGHT,
        "bar_width": BAR,
        "days": TIMELINE_DAYS,
        "inherited": len(ids) > 1,
    }
