"""Tuning an alarm from its own metric: read the metric's history, replay the alarm over it, compare with the
alerts the portal recorded, and suggest the quietest setting that still fires for the alerts people acted on.

Every answer has the API's shape, a suggestion or a reason why there is none: an alarm the replay cannot read,
a metric without data or AWS failing are reasons, never errors. Only a window outside 1 to 455 days is refused.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from alarms.models import Alarm
from alarms.review.models import ReviewItem
from alarms.review.services.decisions import alarm_setting, setting_clean
from alarms.review.tuning.chart import tuning_chart
from alarms.review.tuning.history import MAX_DAYS, RETENTION, HistoryUnavailable, alarm_period, metric_history
from alarms.review.tuning.replay import BAND_OPERATORS, Setting, episodes
from alarms.review.tuning.suggest import RecordedAlert, fires_for, suggest
from incidents import selectors as alert_selectors

logger = logging.getLogger(__name__)

REAL_OUTCOMES = ("actioned", "customer_impact")
REMOVAL_MIN_ALERTS = 3  # no real alert among at least this many: a removal candidate (the never-acted-on rule)
PREVIEW_MAX_DELAY_SECONDS = 900  # as the suggestion's: a real alert may fire at most 15 minutes after it opened
REPLAY_KEYS = (
    "from",
    "to",
    "current_alerts",
    "suggested_alerts",
    "real_alerts",
    "real_alerts_kept",
    "max_delay_seconds",
    "current_matches_recorded",
)


def days_clean(value) -> int:
    """The window in days (1 to 455, CloudWatch's longest retention), or ValidationError saying what is wrong."""
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"days": [f"Give a whole number of days from 1 to {MAX_DAYS}."]}) from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError({"days": [f"Give a whole number of days from 1 to {MAX_DAYS}; {days} is outside."]})
    return days


def faithful_days(period: int | None) -> int | None:
    """The longest window CloudWatch still keeps at a step that divides the alarm's period (so that the
    replay evaluates what the alarm evaluated), or None for a period no kept step divides."""
    if not period:
        return None
    kept = [days for step, days in RETENTION if period % step == 0]
    return max(kept) if kept else None


def default_days(alarm: Alarm, *, lookback: int | None = None) -> int:
    """The window when none is asked for: the review's lookback, cut to what CloudWatch keeps at the alarm's
    period, so that a 1-minute alarm replays over its 15 days of 1-minute data rather than over hourly points
    that cannot say when it would have fired."""
    lookback = lookback or settings.OKAMI_REVIEW_LOOKBACK_DAYS
    return min(lookback, faithful_days(alarm_period(alarm)) or lookback)


def current_setting(alarm: Alarm) -> Setting:
    setting = alarm_setting(alarm)
    setting["period"] = alarm_period(alarm)
    setting["evaluation_periods"] = setting["evaluation_periods"] or 1
    setting["datapoints_to_alarm"] = setting["datapoints_to_alarm"] or setting["evaluation_periods"]
    return Setting(**setting)


def alarm_tuning(*, alarm: Alarm, days: int, now: datetime | None = None) -> dict:
    """The API's answer for ``GET /api/v1/alarms/{id}/tuning/?days=N``: the current setting, the suggested one
    (or None) with the reason, the step the metric was read at and the replay's figures."""
    days = days_clean(days)
    now = now or timezone.now()
    since = now - timedelta(days=days)
    answer = {
        "alarm_arn": alarm.arn,
        "current": None,
        "suggested": None,
        "reason": "",
        "resolution_seconds": None,
        "replay": {key: None for key in REPLAY_KEYS} | {"from": since.isoformat(), "to": now.isoformat()},
    }
    if alarm.alarm_type != "metric":
        answer["reason"] = "A composite alarm has no metric of its own: tune its child alarms."
        return answer
    current = current_setting(alarm)
    answer["current"] = current.as_dict()
    if not current.period:
        answer["reason"] = "The alarm's definition has no period to replay."
        return answer
    try:
        history = metric_history(alarm=alarm, days=days, now=now)
    except HistoryUnavailable as exc:
        answer["reason"] = str(exc)
        return answer
    answer["resolution_seconds"] = history.resolution_seconds
    series = history.series
    alerts = recorded_alerts(alarm=alarm, since=series.start, until=series.end)
    real = sum(alert.real for alert in alerts)
    anomaly = current.comparison_operator in BAND_OPERATORS
    try:
        suggestion = suggest(
            series,
            current,
            alerts,
            removal_candidate=not real and len(alerts) >= REMOVAL_MIN_ALERTS,
            static_threshold=not anomaly,
            band=history.band,
        )
    except ValueError as exc:  # a definition CloudWatch would not accept either (say M > N)
        answer["reason"] = f"The alarm's setting cannot be replayed: {exc}."
        return answer
    answer["suggested"] = suggestion.suggested.as_dict() if suggestion.suggested else None
    answer["reason"] = suggestion.reason + _window_hint(current.period, history.resolution_seconds, days)
    answer["replay"] = {**answer["replay"], **suggestion.replay}
    return answer


def _window_hint(period: int, step: int, days: int) -> str:
    """When the window was too long to read the metric at the alarm's period, which window would be."""
    if period % step == 0:
        return ""
    faithful = faithful_days(period)
    if faithful is None:
        return ""
    return (
        f" CloudWatch keeps this metric at the alarm's period of {period} s for {faithful} days only: "
        f"a window of {faithful} days or fewer (not {days}) replays the alarm as it evaluates."
    )


def recorded_alerts(*, alarm: Alarm, since: datetime, until: datetime) -> list[RecordedAlert]:
    """The alarm's alerts opened in the window; real when labelled actioned or customer impact."""
    rows = alert_selectors.alarm_alerts_between(alarm_id=alarm.pk, since=since, until=until)
    return [
        RecordedAlert(
            opened_at=row["opened_at"],
            closed_at=row["closed_at"],
            real=row["outcome"] in REAL_OUTCOMES,
            labelled=bool(row["outcome"]),
        )
        for row in rows
    ]


def tuning_preview(*, alarm: Alarm, setting: dict, days: int, now: datetime | None = None) -> dict:
    """What a tune decision's proposed ``setting`` (given fields over the current ones, checked as the decision
    checks them) would have done over the window: how many alerts it and the current setting raise, and how many
    of the real alerts it still fires for within the allowed delay. ValidationError for a setting the decision
    would refuse; ``reason`` says why there are no figures when the metric cannot be read."""
    days = days_clean(days)
    proposed = setting_clean(setting, alarm=alarm)
    now = now or timezone.now()
    answer = {
        "setting": proposed,
        "alerts": None,
        "current_alerts": None,
        "real_alerts": None,
        "real_alerts_kept": None,
        "resolution_seconds": None,
        "reason": "",
    }
    current = current_setting(alarm)
    try:
        history = metric_history(alarm=alarm, days=days, now=now)
    except HistoryUnavailable as exc:
        answer["reason"] = str(exc)
        return answer
    series = history.series
    answer["resolution_seconds"] = series.step
    if series.empty:
        answer["reason"] = "The metric has no datapoints in this period, so there is nothing to replay."
        return answer
    try:
        ours = episodes(series, Setting(**proposed), history.band)
        theirs = episodes(series, current, history.band)
    except ValueError as exc:
        answer["reason"] = f"The setting cannot be replayed over the metric read at {series.step} s: {exc}."
        return answer
    alerts = recorded_alerts(alarm=alarm, since=series.start, until=series.end)
    delays = fires_for(ours, alerts, before=current.period, max_delay_seconds=PREVIEW_MAX_DELAY_SECONDS)
    answer.update(
        alerts=len(ours),
        current_alerts=len(theirs),
        real_alerts=len(delays),
        real_alerts_kept=sum(delay is not None for delay in delays),
    )
    return answer


def alarm_tuning_chart(*, alarm: Alarm, answer: dict, days: int, now: datetime) -> str:
    """The SVG chart of an ``alarm_tuning`` answer computed at ``now`` (the metric comes from the cache it
    filled): the metric, both thresholds and both settings' episodes. Empty when there is no metric to draw."""
    if answer["resolution_seconds"] is None or answer["current"] is None:
        return ""
    try:
        history = metric_history(alarm=alarm, days=days, now=now)
    except HistoryUnavailable:
        return ""
    if history.series.empty:
        return ""
    current = Setting(**answer["current"])
    suggested = Setting(**answer["suggested"]) if answer["suggested"] else None
    try:
        current_episodes = episodes(history.series, current, history.band)
        suggested_episodes = episodes(history.series, suggested, history.band) if suggested else None
    except ValueError:
        current_episodes, suggested_episodes = [], None
    return tuning_chart(
        history.series,
        title=f"{alarm.name}: the metric over {days} days, with the current and suggested settings",
        current_threshold=current.threshold,
        suggested_threshold=suggested.threshold if suggested else None,
        current_episodes=current_episodes,
        suggested_episodes=suggested_episodes,
        band=history.band,
    )


REPLAYED_RULES = ("transient", "noisy")


def review_items_replay(*, review_id: int) -> int:
    """Add the replay of its metric to each transient and noisy item of a review: ``suggestion["replay"]``
    holds the suggested setting (or None), the reason and the figures. The window is the review's lookback, cut
    to what CloudWatch keeps at the alarm's period so that the replay is faithful. A failure (AWS unreachable,
    an alarm the replay cannot read) keeps the item's own estimate and says why. Returns the items updated."""
    items = list(
        ReviewItem.objects.filter(review_id=review_id, rule__in=REPLAYED_RULES)
        .select_related("review", "alarm__account")
        .order_by("pk")
    )
    for item in items:
        review, alarm = item.review, item.alarm
        days = default_days(alarm, lookback=review.lookback_days)
        try:
            answer = alarm_tuning(alarm=alarm, days=days, now=review.opened_at)
        except Exception:  # one alarm's failure never stops the others: its item keeps its own estimate
            logger.exception("replaying alarm %s for review %s failed", alarm.pk, review_id)
            answer = {"suggested": None, "reason": "The replay failed; the estimate above stands.", "replay": {}}
        suggestion = dict(item.suggestion) if isinstance(item.suggestion, dict) else {}
        if answer["suggested"]:
            # The replayed setting is what the tune form starts from; the estimate's words stay, the replay's follow.
            suggestion["setting"] = answer["suggested"]
            text = f"{suggestion.get('text', '')} Replayed over its metric ({days} days): {answer['reason']}"
            suggestion["text"] = text.strip()
        item.suggestion = {
            **suggestion,
            "replay": {
                "days": days,
                "setting": answer["suggested"],
                "reason": answer["reason"],
                "resolution_seconds": answer.get("resolution_seconds"),
                **{key: answer["replay"].get(key) for key in REPLAY_KEYS},
            },
        }
    ReviewItem.objects.bulk_update(items, ["suggestion"])
    return len(items)
