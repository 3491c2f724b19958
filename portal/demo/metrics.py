"""The demo alarms' metrics: datapoints in the local AWS that tell the story the alert history told, so that
tuning from an alarm's metric (its page, and the replay a review adds to its transient and noisy items) has
something to read.

The local AWS holds no metric data of its own. Once the history is in, every alarm that fired within what
CloudWatch keeps at its period (15 days of one-minute datapoints, 63 days of five-minute ones) gets, through
PutMetricData, for each of its recorded alerts:

- breaching datapoints from M datapoints before the alert opened (the M-th one is the datapoint whose
  completion tipped the alarm) until the alarm would leave ALARM when the alert closed; peaks of the alerts
  people acted on stand higher than those of the ones that went away by themselves;
- non-breaching datapoints (noise below the threshold) for a few evaluation ranges on either side, so that
  whatever the alarm's TreatMissingData, the replay enters and leaves ALARM where CloudWatch did.

Elsewhere the metric is left without datapoints, which every alarm of the estate treats as not breaching or
missing (an alarm that treats missing data as breaching is left out). The gaps keep the volume down: the local
AWS answers GetMetricData by scanning every datapoint of the account and region for every period of the
window, so a full baseline would make each replay take minutes. Percentile alarms (p95, p99) are left out too:
the local AWS computes no percentiles (GetMetricData fails on them), and so are metric math alarms, alarms on
a metric another alarm already describes, and alarms whose alert has been open for longer than a day (the
stuck one: weeks of breaching datapoints for nothing to tune).

Real CloudWatch accepts datapoints at most two weeks old; the local AWS takes the 63 days the replay reads.
Deterministic for a seed and the recorded alerts.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from alarms import aws
from alarms.choices import AlarmType
from alarms.models import Alarm
from alarms.review.services.tuning import REAL_OUTCOMES, default_days
from alarms.review.tuning.history import alarm_period
from alarms.review.tuning.replay import EXTRA_RANGE
from incidents.models import Alert
from portal.demo.alert_traffic import DEFAULT_SEED
from portal.demo.estate import member_access

MAX_ALARMS = 300  # the alarms with the most alerts first
BATCH = 1000  # PutMetricData's ceiling of datapoints per call
STATISTICS = ("Sum", "Average", "Maximum", "Minimum")  # one datapoint per period is its own statistic
OPEN_FOR_AT_MOST = timedelta(days=1)  # an alert open longer is the stuck one: nothing to tune
# How far the peaks go beyond the threshold, in thresholds: what went away by itself, what people acted on.
PEAK = (1.2, 2.5)
REAL_PEAK = (2.0, 5.0)
QUIET = (0.0, 0.6)  # the noise, in thresholds below it


@dataclass
class DemoMetrics:
    alarms: int = 0
    alerts: int = 0
    datapoints: int = 0
    percentile: int = 0  # percentile alarms left out: the local AWS computes no percentiles
    left_out: int = 0  # metric math, breaching on missing data, a shared metric, open for long
    seconds: float = 0.0


def demo_put_metrics(*, now: datetime, seed: int = DEFAULT_SEED, max_alarms: int = MAX_ALARMS) -> DemoMetrics:
    """Put the metric datapoints of the alarms that fired in the window the replay reads (see the module's
    notes) into the local AWS the process points at. Returns what was put and what was left out."""
    started = time.monotonic()
    done = DemoMetrics()
    since = now - timedelta(days=settings.OKAMI_REVIEW_LOOKBACK_DAYS)  # each alarm's own window is within
    counts: dict[int, int] = defaultdict(int)
    for alarm_id in Alert.objects.filter(opened_at__gte=since, opened_at__lt=now).values_list("alarm_id", flat=True):
        counts[alarm_id] += 1
    alarms = Alarm.objects.filter(
        pk__in=list(counts), alarm_type=AlarmType.METRIC, deleted_at__isnull=True
    ).select_related("account")
    ranked = sorted(alarms, key=lambda alarm: (-counts[alarm.pk], alarm.arn))
    batches: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    described: set[tuple] = set()
    for alarm in ranked:
        if done.alarms >= max_alarms:
            break
        if alarm.extended_statistic:
            done.percentile += 1
            continue
        datapoints = _alarm_datapoints(alarm, now=now, seed=seed, described=described)
        if datapoints is None:
            done.left_out += 1
            continue
        points, alerts = datapoints
        if not points:
            continue
        done.alarms += 1
        done.alerts += alerts
        done.datapoints += len(points)
        batches[(alarm.account.account_id, alarm.region, alarm.namespace)] += points
    for (account_id, region, namespace), points in sorted(batches.items()):
        cloudwatch = aws.client("cloudwatch", access=member_access(account_id), region=region)
        for first in range(0, len(points), BATCH):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=points[first : first + BATCH])
    done.seconds = time.monotonic() - started
    return done


def _alarm_datapoints(alarm: Alarm, *, now: datetime, seed: int, described: set) -> tuple[list[dict], int] | None:
    """The alarm's PutMetricData entries over its window and how many alerts they tell, or None when the alarm
    is one the demo leaves out."""
    period = alarm_period(alarm)
    if (
        alarm.metrics
        or not (alarm.namespace and alarm.metric_name and period and alarm.threshold is not None)
        or alarm.statistic not in STATISTICS
        or alarm.treat_missing_data == "breaching"
    ):
        return None
    dimensions = tuple(sorted((str(k), str(v)) for k, v in (alarm.dimensions or {}).items()))
    key = (alarm.account_id, alarm.region, alarm.namespace, alarm.metric_name, dimensions)
    if key in described:
        return None
    # the window a review and the tuning page replay by default, from its first whole period
    days = default_days(alarm, lookback=settings.OKAMI_REVIEW_LOOKBACK_DAYS)
    first, last = _bucket(now - timedelta(days=days), period), _bucket(now, period) - 1
    since = _moment(first, period)
    alerts = list(
        Alert.objects.filter(alarm=alarm, opened_at__gte=since, opened_at__lt=now)
        .order_by("opened_at")
        .values_list("opened_at", "closed_at", "outcome")
    )
    if any(closed is None and now - opened > OPEN_FOR_AT_MOST for opened, closed, _ in alerts):
        return None
    described.add(key)
    n = alarm.evaluation_periods or 1
    m = alarm.datapoints_to_alarm or n
    rng = random.Random(f"{seed}-{alarm.arn}")
    runs = _runs(alerts, period=period, n=n, m=m, now=now)
    breaching: dict[int, float] = {}
    quiet: set[int] = set()
    around = n + EXTRA_RANGE + 1  # one evaluation range and a datapoint: the replay sees real data on each side
    for (start, end), (_, _, outcome) in zip(runs, alerts, strict=True):
        low, high = PEAK if outcome not in REAL_OUTCOMES else REAL_PEAK
        peak = rng.uniform(low, high)
        for index in range(max(start, first), min(end, last) + 1):
            breaching[index] = _breach(alarm, 1 + (peak - 1) * rng.uniform(0.5, 1.0))
        quiet.update(range(start - around, start))
        quiet.update(range(end + 1, end + 1 + around))
    values = dict(breaching)
    for index in sorted(quiet - breaching.keys()):
        if first <= index <= last:
            values[index] = _quiet(alarm, rng)
    metric = {
        "MetricName": alarm.metric_name,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions],
    }
    if alarm.unit:
        metric["Unit"] = alarm.unit
    points = [
        {**metric, "Timestamp": _moment(index, period) + timedelta(seconds=period // 2), "Value": value}
        for index, value in sorted(values.items())
    ]
    return points, len(alerts)


def _runs(alerts: list, *, period: int, n: int, m: int, now: datetime) -> list[tuple[int, int]]:
    """Per alert, the first and last breaching datapoint (period indexes) of an M of N alarm that enters ALARM
    when the alert opened and leaves it when it closed. Two alerts of one alarm are kept apart by the quiet
    datapoints CloudWatch needs between them to leave ALARM and enter it again (N - M + 1): an alert that
    came back sooner than the alarm could have is moved that much later."""
    gap = n - m + 1
    runs: list[list[int]] = []
    for opened, closed, _ in alerts:
        tipped = _bucket(opened, period) - 1  # the datapoint whose completion put the alarm in ALARM
        # ALARM is left at the first evaluation with fewer than M breaching of the last N: N - M after the last
        end = max(tipped, _bucket(closed or now, period) - 1 - (n - m) - 1)
        start = tipped - m + 1
        if runs:
            before = runs[-1]
            before[1] = max(before[0] + m - 1, min(before[1], start - gap - 1))
            if start - before[1] - 1 < gap:
                start = before[1] + gap + 1
                end = max(end, start + m - 1)
        runs.append([start, end])
    return [(start, end) for start, end in runs]


def _bucket(moment: datetime, period: int) -> int:
    """The index of the period (aligned on the clock, as CloudWatch aligns them) that holds ``moment``."""
    return int(moment.timestamp()) // period


def _moment(index: int, period: int) -> datetime:
    return datetime.fromtimestamp(index * period, tz=UTC)


def _upward(alarm: Alarm) -> bool:
    return alarm.comparison_operator.startswith("GreaterThan")


def _counted(alarm: Alarm) -> bool:
    """A count (errors, throttles) is a whole number."""
    return alarm.statistic == "Sum" and float(alarm.threshold).is_integer() and alarm.threshold > 0


def _breach(alarm: Alarm, times: float) -> float:
    """A breaching value, ``times`` (> 1) the threshold away from calm, strictly beyond the threshold."""
    threshold = float(alarm.threshold)
    scale = abs(threshold) or 1.0
    if _upward(alarm):
        value = threshold + scale * (times - 1)
        value = float(math.ceil(value)) if _counted(alarm) else round(value, 2)
        return value if value > threshold else threshold + scale * 0.1
    value = round(threshold - scale * (1 - 1 / times), 2)
    return value if value < threshold else threshold - scale * 0.1


def _quiet(alarm: Alarm, rng: random.Random) -> float:
    """Noise on the calm side of the threshold."""
    threshold = float(alarm.threshold)
    scale = abs(threshold) or 1.0
    share = rng.uniform(*QUIET)
    if _upward(alarm):
        if _counted(alarm):
            # mostly none; now and then a few, never as many as the threshold
            return float(math.floor(threshold * share)) if rng.random() < 0.3 else 0.0
        value = threshold - scale * (1 - share)
        return round(max(value, 0.0) if threshold > 0 else value, 2)
    return round(threshold + scale * (1 - share), 2)
