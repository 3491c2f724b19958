"""The alarm's own metric over a window, by GetMetricData: the queries the alarm evaluates, at the finest
resolution CloudWatch still keeps for the whole window, paged and paced, cached per alarm and window.

CloudWatch keeps 1-minute datapoints 15 days, 5-minute ones 63 days and 1-hour ones 455 days, so a 10-day
window is read in 1-minute datapoints, a 30-day one in 5-minute ones and a 90-day one in hourly ones. The
series' step is never finer than the alarm's own period: a 5-minute alarm is read in 5-minute datapoints even
over 10 days. A step coarser than the period makes the replay an approximation (the response says which step).

Metric math is fetched as the alarm defines it: GetMetricData evaluates the expressions itself, so the series
is what the alarm compared with its threshold. Anomaly-detection alarms have no static threshold: the metric
and its band (the alarm's ThresholdMetricId expression, which GetMetricData answers as two series: the bounds)
are fetched together, so that the replay compares each datapoint with the band as the alarm did; such alarms
can only be tuned in M of N.
Metrics Insights (SELECT) and PromQL alarms are not replayed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError
from django.core.cache import cache

from alarms import aws
from alarms.aws.paging import pages
from alarms.models import Alarm
from alarms.review.tuning.replay import Band, Series
from alarms.services.runs import account_access

logger = logging.getLogger(__name__)

# (step in seconds, how many days CloudWatch keeps datapoints of that step)
RETENTION = ((60, 15), (300, 63), (3600, 455))
MAX_DAYS = RETENTION[-1][1]
MAX_DATAPOINTS = 100_800  # GetMetricData's ceiling of datapoints per call
GET_METRIC_DATA_TPS = 50  # per account and region
QUERY_KEYS = ("Id", "MetricStat", "Expression", "Label", "ReturnData", "Period", "AccountId")
BAND_OPERATORS = {"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"}
CACHE_PREFIX = "tuning:history:v1"


class HistoryUnavailable(Exception):
    """The metric's history cannot be read or replayed; the message says why, fit for every user."""


@dataclass(frozen=True)
class MetricHistory:
    """The series the replay evaluates (its step is ``resolution_seconds``) and, for an anomaly-detection alarm,
    the band aligned with it."""

    series: Series
    resolution_seconds: int
    band: Band | None = None


def alarm_period(alarm: Alarm) -> int | None:
    """The alarm's period: its own, or for metric math (whose period lives in the queries) the longest period
    among its queries."""
    if alarm.period:
        return alarm.period
    periods = []
    for query in alarm.metrics or []:
        if isinstance(query, dict):
            periods += [query.get("Period"), (query.get("MetricStat") or {}).get("Period")]
    return max((int(p) for p in periods if isinstance(p, int) and p > 0), default=None)


def resolution_for(days: int | float, period: int | None = None) -> int:
    """The step to read a window of ``days`` ending now: the finest CloudWatch keeps for the whole window,
    never finer than the alarm's ``period`` (then the period itself, when coarser than what is kept)."""
    step = next((step for step, kept_days in RETENTION if days <= kept_days), None)
    if step is None:
        raise HistoryUnavailable(f"CloudWatch keeps datapoints {MAX_DAYS} days at most.")
    if period and period > step:
        # The alarm's period read as is when it is a multiple of the kept step, else the next multiple up.
        step = -(-period // step) * step
    return step


def alarm_queries(alarm: Alarm, step: int) -> tuple[list[dict], str, str]:
    """The GetMetricData queries for the alarm at ``step``, the id of the query the alarm evaluates, and the
    id of its anomaly band ("" without). Raises HistoryUnavailable for alarms the replay cannot read."""
    if alarm.alarm_type != "metric":
        raise HistoryUnavailable("A composite alarm has no metric of its own: tune its child alarms.")
    if (alarm.extra_settings or {}).get("EvaluationCriteria"):
        raise HistoryUnavailable("A PromQL alarm: the replay reads CloudWatch metrics and metric math only.")
    if alarm.metrics:
        return _math_queries(alarm, step)
    if not (alarm.namespace and alarm.metric_name and (alarm.statistic or alarm.extended_statistic)):
        raise HistoryUnavailable("The alarm's definition names no metric and statistic to read.")
    metric = {"Namespace": alarm.namespace, "MetricName": alarm.metric_name}
    if alarm.dimensions:
        metric["Dimensions"] = [{"Name": name, "Value": str(value)} for name, value in alarm.dimensions.items()]
    stat = {"Metric": metric, "Period": step, "Stat": alarm.statistic or alarm.extended_statistic}
    if alarm.unit:
        stat["Unit"] = alarm.unit
    return [{"Id": "m1", "MetricStat": stat, "ReturnData": True}], "m1", ""


def _math_queries(alarm: Alarm, step: int) -> tuple[list[dict], str, str]:
    queries = []
    for raw in alarm.metrics:
        if not isinstance(raw, dict) or not raw.get("Id"):
            raise HistoryUnavailable("The alarm's metric math queries are malformed.")
        query = {key: raw[key] for key in QUERY_KEYS if key in raw}
        if "SELECT" in str(query.get("Expression", "")).upper().lstrip()[:6]:
            raise HistoryUnavailable("A Metrics Insights (SELECT) alarm: the replay does not support its query.")
        if "MetricStat" in query:
            # Every metric read at the series' step; the expressions follow the step of their inputs.
            query["MetricStat"] = {**query["MetricStat"], "Period": step}
        if "Period" in query:
            query["Period"] = step
        queries.append(query)
    band_id = alarm.threshold_metric_id
    returned = [q["Id"] for q in queries if q.get("ReturnData", True) and q["Id"] != band_id]
    if len(returned) != 1:
        raise HistoryUnavailable("The alarm's metric math does not return exactly one series to evaluate.")
    if band_id:
        band = next((q for q in queries if q["Id"] == band_id), None)
        if band is None or "ANOMALY_DETECTION_BAND" not in str(band.get("Expression", "")).upper():
            raise HistoryUnavailable("The alarm's threshold comes from an expression the replay does not support.")
        if alarm.comparison_operator not in BAND_OPERATORS:
            raise HistoryUnavailable("The alarm's band comparison is not one the replay knows.")
        band["ReturnData"] = True
    return queries, returned[0], band_id


def definition_fingerprint(queries: list[dict], comparison_operator: str) -> str:
    text = json.dumps([queries, comparison_operator], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def metric_history(
    *,
    alarm: Alarm,
    days: int,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> MetricHistory:
    """The alarm's metric over the ``days`` before ``now`` (see the module's notes), from the cache when the
    same alarm definition and window (rounded to the step) was read before."""
    now = now or datetime.now(UTC)
    step = resolution_for(days, alarm_period(alarm))
    queries, metric_id, band_id = alarm_queries(alarm, step)
    end = _floor(now, step)
    start = _floor(now - timedelta(days=days), step)
    key = ":".join(
        [
            CACHE_PREFIX,
            str(alarm.pk),
            definition_fingerprint(queries, alarm.comparison_operator),
            str(int(start.timestamp())),
            str(int(end.timestamp())),
            str(step),
        ]
    )
    cached = cache.get(key)
    if cached is not None:
        return _from_cache(cached)
    results = _fetch(alarm, queries, start=start, end=end, sleep=sleep)
    values = _aligned(results.get(metric_id, []), start, step, end)
    band = _band(results.get(band_id, []), start, step, end) if band_id else None
    history = MetricHistory(Series(start, step, tuple(values)), step, band=band)
    # The newest step is still filling: the entry lives one step, so the next step's read is fresh.
    cache.set(key, _to_cache(history), timeout=max(step, 60))
    return history


def _floor(moment: datetime, step: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % step, tz=UTC)


def _fetch(alarm: Alarm, queries: list[dict], *, start, end, sleep) -> dict[str, list[tuple[dict, dict]]]:
    """Query id → its results (one per series; an anomaly band has two), timestamps → values merged over pages."""
    try:
        cloudwatch = aws.client("cloudwatch", access=account_access(alarm.account), region=alarm.region)
        call = _paced(cloudwatch.get_metric_data, sleep)
        merged: dict[tuple[str, str], dict] = {}
        order: list[tuple[str, str]] = []
        for page in pages(
            call,
            "NextToken",
            aws.CallCounter(),
            MetricDataQueries=queries,
            StartTime=start,
            EndTime=end,
            ScanBy="TimestampAscending",
            MaxDatapoints=MAX_DATAPOINTS,
        ):
            _raise_for_messages(page.get("Messages") or [])
            for index, result in enumerate(page.get("MetricDataResults") or []):
                if result.get("StatusCode") in ("Forbidden", "InternalError"):
                    raise HistoryUnavailable(f"CloudWatch could not read the metric ({result['StatusCode']}).")
                _raise_for_messages(result.get("Messages") or [])
                # Results come in the same order on every page; a band's two series share their Id.
                position = (result.get("Id", ""), str(index))
                if position not in merged:
                    merged[position] = {}
                    order.append(position)
                points = merged[position]
                for moment, value in zip(result.get("Timestamps") or [], result.get("Values") or [], strict=False):
                    points[_epoch(moment)] = float(value)
    except aws.AwsThrottled as exc:
        raise HistoryUnavailable("AWS throttled the metric read: try again in a minute.") from exc
    except aws.AwsError as exc:
        logger.warning("GetMetricData for %s failed: %s", alarm.arn, exc)
        raise HistoryUnavailable(f"AWS refused to read the metric: {_public(exc)}.") from exc
    except BotoCoreError as exc:
        logger.warning("GetMetricData for %s failed: %s", alarm.arn, exc)
        raise HistoryUnavailable("Could not reach AWS to read the metric.") from exc
    by_id: dict[str, list[dict]] = {}
    for query_id, index in order:
        by_id.setdefault(query_id, []).append(merged[(query_id, index)])
    return by_id


def _public(exc: aws.AwsError) -> str:
    """The AWS error code, never the message (it may name a role or an account)."""
    cause = exc.__cause__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code", "") if cause is not None else ""
    return code or aws.error_summary(exc)


def _raise_for_messages(messages: list[dict]) -> None:
    for message in messages:
        if message.get("Code") in ("Forbidden", "InternalError"):
            raise HistoryUnavailable(f"CloudWatch could not read the metric ({message.get('Code')}).")


def _paced(call, sleep):
    """``call`` made at most GET_METRIC_DATA_TPS times a second from this process."""
    previous = [0.0]

    def paced(**params):
        wait = previous[0] + 1 / GET_METRIC_DATA_TPS - time.monotonic()
        if wait > 0:
            sleep(wait)
        previous[0] = time.monotonic()
        return call(**params)

    return paced


def _epoch(moment) -> int:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _aligned(results: list[dict], start: datetime, step: int, end: datetime) -> list[float | None]:
    """One value per step from ``start`` to ``end``, None where CloudWatch has no datapoint."""
    count = int((end - start).total_seconds()) // step
    values: list[float | None] = [None] * count
    base = int(start.timestamp())
    for points in results[:1]:
        for moment, value in points.items():
            index = (moment - base) // step
            if 0 <= index < count:
                values[index] = value
    return values


def _band(results: list[dict], start: datetime, step: int, end: datetime) -> Band:
    """The band's bounds, from its two series (the lower is the smaller value at each step)."""
    if len(results) != 2:
        raise HistoryUnavailable("CloudWatch returned no anomaly band for the alarm's metric.")
    first, second = (_aligned([points], start, step, end) for points in results)
    lower, upper = [], []
    for a, b in zip(first, second, strict=True):
        both = a is not None and b is not None
        lower.append(min(a, b) if both else None)
        upper.append(max(a, b) if both else None)
    return Band(tuple(lower), tuple(upper))


def _to_cache(history: MetricHistory) -> dict:
    series, band = history.series, history.band
    return {
        "start": series.start.isoformat(),
        "step": series.step,
        "values": list(series.values),
        "band": None if band is None else [list(band.lower), list(band.upper)],
    }


def _from_cache(data: dict) -> MetricHistory:
    series = Series(datetime.fromisoformat(data["start"]), data["step"], tuple(data["values"]))
    band = None if data["band"] is None else Band(tuple(data["band"][0]), tuple(data["band"][1]))
    return MetricHistory(series, data["step"], band=band)
