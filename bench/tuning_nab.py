"""The tuning engine on real CloudWatch series with labelled anomaly windows (Numenta's NAB, realAWSCloudwatch).

For each series: a naive alarm (threshold mean + 3 standard deviations of the first 15%, 1 of 1, 5-minute
period); its ALARM episodes on the first half become alerts, ``actioned`` when they overlap a labelled window
and ``no_action`` otherwise; the suggestion is computed from the first half only; both settings are then
replayed on the second half, counting notifications (ALARM episodes) and the labelled windows each catches (an
episode overlapping the window; also, more strictly, those with a notification inside). Then the same first
halves go through the local AWS and the portal (``through_portal``). Also the time to compute a suggestion over
90 days of 1-minute data.
"""

from __future__ import annotations

import csv
import json
import math
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alarms.review.tuning.replay import Episode, Series, Setting, episodes
from alarms.review.tuning.suggest import PERIOD_MULTIPLES, RecordedAlert, Suggestion, suggest

DATA = Path(__file__).resolve().parent / "data" / "nab"
STEP = 300
PROBATION = 0.15  # NAB's own probationary share: the naive threshold is learnt there
TARGET_FEWER = 0.70
TARGET_CAUGHT = 15 / 16


def names() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.csv"))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)


def load(name: str) -> tuple[Series, list[tuple[datetime, datetime]]]:
    """The series at its 5-minute step (None where a datapoint is missing) and its labelled windows."""
    with (DATA / f"{name}.csv").open() as f:
        rows = [(_parse(r["timestamp"]), float(r["value"])) for r in csv.DictReader(f)]
    # CloudWatch's periods are on the clock: a datapoint at 14:27 is the 14:25 five-minute period's
    first = int(rows[0][0].timestamp())
    start = datetime.fromtimestamp(first - first % STEP, tz=UTC)
    slots = int((rows[-1][0] - start).total_seconds() // STEP) + 1
    values: list[float | None] = [None] * slots
    for at, value in rows:
        values[int((at - start).total_seconds() // STEP)] = value
    windows = json.loads((DATA / "windows.json").read_text())[f"{name}.csv"]
    return Series(start, STEP, tuple(values)), [(_parse(a), _parse(b)) for a, b in windows]


def naive_setting(series: Series) -> Setting:
    head = [v for v in series.values[: int(len(series.values) * PROBATION)] if v is not None]
    return Setting(
        threshold=statistics.fmean(head) + 3 * statistics.pstdev(head),
        period=STEP,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        statistic="Average",
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="missing",
    )


def _overlaps(ep: Episode, window: tuple[datetime, datetime], until: datetime) -> bool:
    return ep.start <= window[1] and (ep.end or until) >= window[0]


def caught(eps: list[Episode], windows: list[tuple[datetime, datetime]], until: datetime) -> int:
    """Windows the alarm was in ALARM during (an episode overlaps them)."""
    return sum(any(_overlaps(ep, w, until) for ep in eps) for w in windows)


def notified(eps: list[Episode], windows: list[tuple[datetime, datetime]]) -> int:
    """Windows during which a notification went out (an episode starts inside): the stricter count, since
    being held in ALARM into a window by an earlier episode notifies nobody."""
    return sum(any(w[0] <= ep.start <= w[1] for ep in eps) for w in windows)


@dataclass
class Outcome:
    name: str
    naive: Setting
    suggestion: Suggestion
    windows: int
    naive_alerts: int
    suggested_alerts: int
    naive_caught: int
    suggested_caught: int
    naive_notified: int
    suggested_notified: int


def halves(series: Series) -> tuple[Series, Series]:
    half = len(series.values) // 2
    return Series(series.start, series.step, series.values[:half]), Series(
        series.at(half), series.step, series.values[half:]
    )


def first_half_alerts(first: Series, naive: Setting, windows) -> list[RecordedAlert]:
    """The naive alarm's episodes on the first half, labelled by the windows they overlap."""
    return [
        RecordedAlert(opened_at=ep.start, closed_at=ep.end, real=any(_overlaps(ep, w, first.end) for w in windows))
        for ep in episodes(first, naive)
    ]


def run_series(name: str, *, max_delay_seconds: int = 900, alerts_hook=None) -> Outcome:
    """One series end to end. ``alerts_hook(name, first_half, naive, alerts)`` may replace the alerts with the
    ones the portal recorded (the bench's real path); by default they are the labelled replay itself."""
    series, windows = load(name)
    first, second = halves(series)
    naive = naive_setting(series)
    alerts = first_half_alerts(first, naive, windows)
    if alerts_hook is not None:
        alerts = alerts_hook(name, first, naive, alerts)
    # the review's never-acted-on rule: at least 3 alerts, none actioned
    removal_candidate = len(alerts) >= 3 and not any(a.real for a in alerts)
    suggestion = suggest(first, naive, alerts, max_delay_seconds=max_delay_seconds, removal_candidate=removal_candidate)
    tuned = suggestion.suggested or naive
    later = [w for w in windows if w[1] >= second.start]
    naive_eps, tuned_eps = episodes(second, naive), episodes(second, tuned)
    return Outcome(
        name=name,
        naive=naive,
        suggestion=suggestion,
        windows=len(later),
        naive_alerts=len(naive_eps),
        suggested_alerts=len(tuned_eps),
        naive_caught=caught(naive_eps, later, second.end),
        suggested_caught=caught(tuned_eps, later, second.end),
        naive_notified=notified(naive_eps, later),
        suggested_notified=notified(tuned_eps, later),
    )


def summary(outcomes: list[Outcome]) -> dict:
    naive = sum(o.naive_alerts for o in outcomes)
    tuned = sum(o.suggested_alerts for o in outcomes)
    naive_caught = sum(o.naive_caught for o in outcomes)
    tuned_caught = sum(o.suggested_caught for o in outcomes)
    return {
        "series": len(outcomes),
        "windows": sum(o.windows for o in outcomes),
        "naive_alerts": naive,
        "suggested_alerts": tuned,
        "fewer": 1 - tuned / naive if naive else 0.0,
        "naive_caught": naive_caught,
        "suggested_caught": tuned_caught,
        "caught_share": tuned_caught / naive_caught if naive_caught else 1.0,
        "naive_notified": sum(o.naive_notified for o in outcomes),
        "suggested_notified": sum(o.suggested_notified for o in outcomes),
        "suggestions": sum(o.suggestion.suggested is not None for o in outcomes),
    }


def one_minute_series(days: int = 90, seed: int = 7) -> tuple[Series, Setting, list[RecordedAlert]]:
    """90 days of 1-minute datapoints: a daily cycle with noise, blips every few hours and a real incident a
    week; the naive 1-of-1 alarm's episodes are the alerts, the incidents labelled real."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    n = days * 1440
    values = [50 + 10 * math.sin(2 * math.pi * i / 1440) + rng.gauss(0, 3) for i in range(n)]
    for i in range(0, n, 1440 * 7):
        for j in range(i + 700, i + 760):
            values[j] += 60
    for i in range(200, n, 1440 // 5):
        values[i + rng.randrange(60)] += 40
    series = Series(start, 60, tuple(values))
    current = Setting(70.0, 60, 1, 1, "Average", "GreaterThanThreshold", "missing")
    alerts = []
    for ep in episodes(series, current):
        minute = int((ep.start - start).total_seconds() // 60) % (1440 * 7)
        alerts.append(RecordedAlert(ep.start, ep.end, real=700 <= minute <= 765))
    return series, current, alerts


def time_suggestion(days: int = 90, repeats: int = 3) -> tuple[float, Suggestion]:
    series, current, alerts = one_minute_series(days)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = suggest(series, current, alerts)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def report(outcomes: list[Outcome]) -> dict:
    print(f"{'series':42} {'win':>3} {'naive':>5} {'tuned':>5} {'caught n/t':>10}  suggestion")
    for o in outcomes:
        s = o.suggestion.suggested
        what = (
            f"{s.datapoints_to_alarm}/{s.evaluation_periods} at {s.period}s > {s.threshold:g} "
            f"(naive > {o.naive.threshold:.4g})"
            if s
            else o.suggestion.reason[:70]
        )
        print(
            f"{o.name:42} {o.windows:>3} {o.naive_alerts:>5} {o.suggested_alerts:>5} "
            f"{o.naive_caught:>4}/{o.suggested_caught:<5}  {what}"
        )
    total = summary(outcomes)
    print(
        f"second half, summed over {total['series']} series: notifications {total['naive_alerts']} naive → "
        f"{total['suggested_alerts']} suggested ({total['fewer']:.0%} fewer, target ≥ {TARGET_FEWER:.0%}); "
        f"windows caught {total['naive_caught']} naive, {total['suggested_caught']} suggested "
        f"({total['caught_share']:.1%} of the naive's, target ≥ {TARGET_CAUGHT:.1%} = 15 of 16); "
        f"windows with a notification inside {total['naive_notified']} naive, {total['suggested_notified']} "
        "suggested"
    )
    return total


# --- The real path: the first halves in the local AWS and the portal -------------------------------------

NAMESPACE = "Bench/NAB"


def through_portal(outcomes: list[Outcome]) -> dict:
    """The same suggestions through the portal's own paths: each series' first half is put into the local AWS
    (PutMetricData, shifted by a multiple of every candidate period to end within the last few hours, so that
    longer periods re-bin it in the same phase), its naive alarm is created there and synced into the catalog by the
    real sync, the first half's labelled alerts are stored as the portal's alerts, and ``alarm_tuning`` (the
    API's service: GetMetricData through the alarm's account, the recorded alerts through the incidents
    selectors) answers. Returns how many of its suggestions equal the pure ones, and the failures by series."""
    from alarms import aws
    from alarms.models import Alarm
    from alarms.review.services.tuning import alarm_tuning
    from alarms.services.sync import sync_alarms, sync_targets
    from bench.common import ACCOUNTS, register_accounts, reset_catalog
    from incidents.models import Alert
    from portal.localaws import local_aws_environ, role_arn, start_local_aws

    account_id, region = ACCOUNTS[0], "eu-west-1"

    grain = math.lcm(*(STEP * k for k in PERIOD_MULTIPLES))

    def shift_of(first: Series) -> timedelta:
        return timedelta(seconds=(time.time() - first.end.timestamp()) // grain * grain)

    local = start_local_aws()
    same, failures, answers = 0, {}, []
    started = time.perf_counter()
    try:
        with local_aws_environ(local):
            reset_catalog()
            register_accounts(accounts=(account_id,))
            access = aws.AccountAccess(account_id, role_arn(account_id), "bench")
            cloudwatch = aws.client("cloudwatch", access=access, region=region)
            for o in outcomes:
                series, _ = load(o.name)
                first, _ = halves(series)
                shift = shift_of(first)
                data = [
                    {"MetricName": o.name, "Timestamp": first.at(i) + shift, "Value": v}
                    for i, v in enumerate(first.values)
                    if v is not None
                ]
                for i in range(0, len(data), 1000):
                    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[i : i + 1000])
                cloudwatch.put_metric_alarm(
                    AlarmName=f"nab-{o.name}",
                    Namespace=NAMESPACE,
                    MetricName=o.name,
                    Statistic=o.naive.statistic,
                    Period=o.naive.period,
                    EvaluationPeriods=o.naive.evaluation_periods,
                    DatapointsToAlarm=o.naive.datapoints_to_alarm,
                    Threshold=o.naive.threshold,
                    ComparisonOperator=o.naive.comparison_operator,
                    TreatMissingData=o.naive.treat_missing_data,
                )
            put = time.perf_counter() - started
            for account, key_region in sync_targets(account_id=account_id, region=region):
                sync_alarms(account=account, region=key_region, triggered_by="bench")
            for o in outcomes:
                series, windows = load(o.name)
                first, _ = halves(series)
                shift = shift_of(first)
                days = math.ceil(len(first.values) * STEP / 86400)
                alarm = Alarm.objects.get(name=f"nab-{o.name}")
                Alert.objects.bulk_create(
                    Alert(
                        alarm=alarm,
                        opened_at=a.opened_at + shift,
                        closed_at=None if a.closed_at is None else a.closed_at + shift,
                        outcome="actioned" if a.real else "no_action",
                    )
                    for a in first_half_alerts(first, o.naive, windows)
                )
                try:
                    asked = time.perf_counter()
                    answer = alarm_tuning(alarm=alarm, days=days, now=first.end + shift)
                    answers.append(time.perf_counter() - asked)
                except Exception as exc:  # the bench reports every failure and carries on
                    failures[o.name] = f"{type(exc).__name__}: {exc}"
                    continue
                pure = o.suggestion.suggested.as_dict() if o.suggestion.suggested else None
                if answer["suggested"] == pure:
                    same += 1
                else:
                    failures[o.name] = f"portal suggested {answer['suggested']} ({answer['reason']}), pure {pure}"
    finally:
        local.stop()
    return {
        "same": same,
        "failures": failures,
        "put_seconds": put,
        "seconds": time.perf_counter() - started,
        "answer_seconds": statistics.median(answers) if answers else None,
    }


def bench_tuning_nab(max_delay_seconds: int = 900, real_path: bool = True) -> dict:
    print("tuning-nab: naive alarm vs the suggestion tuned on the first half, replayed on the second")
    outcomes = [run_series(name, max_delay_seconds=max_delay_seconds) for name in names()]
    total = report(outcomes)
    if real_path:
        portal = through_portal(outcomes)
        print(
            f"tuning-nab: through the local AWS and the portal ({portal['seconds']:.0f} s, of which "
            f"{portal['put_seconds']:.0f} s putting the metrics, {portal['answer_seconds'] or 0:.1f} s per answer "
            "of alarm_tuning, median): "
            f"{portal['same']} of {len(outcomes)} suggestions equal the pure engine's"
        )
        for name, why in portal["failures"].items():
            print(f"  {name}: {why[:300]}")
        total["portal_same"] = portal["same"]
    seconds, result = time_suggestion()
    print(
        f"tuning-nab: a suggestion over 90 days of 1-minute data (129,600 datapoints, "
        f"{result.replay['current_alerts']} alerts): {seconds:.2f} s "
        f"({'suggested' if result.suggested else 'none'}: {result.reason})"
    )
    total["seconds_90_days"] = seconds
    return total


if __name__ == "__main__":  # the pure comparison alone, without Django: python bench/tuning_nab.py
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    bench_tuning_nab(real_path=False)
