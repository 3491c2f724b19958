"""The tuning page of an alarm: its metric drawn with the current and suggested thresholds and the episodes of
both, the replay's figures and the reason (the same answer as the tuning API)."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.safestring import mark_safe

from alarms import selectors as catalog
from alarms.review.services.tuning import alarm_tuning, alarm_tuning_chart, days_clean, default_days

DAY_CHOICES = (7, 15, 30, 63, 90, 180, 455)


def alarm_tuning_page(request, pk: int):
    alarm = get_object_or_404(catalog.alarm_list(), pk=pk)
    try:
        days = days_clean(request.GET.get("days") or default_days(alarm))
    except ValidationError as exc:
        context = {"alarm": alarm, "error": " ".join(exc.message_dict["days"]), "day_choices": DAY_CHOICES}
        return render(request, "review/alarm_tuning.html", context, status=400)
    now = timezone.now()
    answer = alarm_tuning(alarm=alarm, days=days, now=now)
    # The chart builder escapes every text it writes (chart.py).
    chart = mark_safe(alarm_tuning_chart(alarm=alarm, answer=answer, days=days, now=now))  # noqa: S308
    context = {"alarm": alarm, "answer": answer, "chart": chart, "days": days}
    return render(request, "review/alarm_tuning.html", {**context, "day_choices": sorted({*DAY_CHOICES, days})})
