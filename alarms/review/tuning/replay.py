"""CloudWatch's alarm evaluation, replayed over a metric's history.

The model, after CloudWatch's documentation ("Alarm evaluation", "Configuring how CloudWatch alarms treat missing
data"): the alarm is evaluated once per period, when the period's datapoint is complete. Each evaluation looks
back over an *evaluation range* of ``evaluation_periods + EXTRA_RANGE`` periods:

- if the range holds at least N real datapoints, the most recent N of them are evaluated (missing ones are
  skipped, and TreatMissingData plays no part);
- if it holds none: ``missing`` → INSUFFICIENT_DATA, ``ignore`` → the state is kept, ``breaching`` → ALARM,
  ``notBreaching`` → OK;
- if it holds fewer than N: every real one is evaluated and the gap is filled as few times as possible:
  ``breaching`` counts the gap as breaching, ``notBreaching`` as not; ``missing`` judges the real ones alone
  (ALARM when at least min(M, real) of them breach); ``ignore`` goes to ALARM only if M real ones breach, to OK
  only if M could not be reached even with the gap breaching, and otherwise keeps the state.

ALARM when at least M (datapoints to alarm) of the evaluated N breach, OK otherwise. An *episode* is ALARM
entered until ALARM left (to OK or INSUFFICIENT_DATA); it starts when the datapoint that tipped it is complete,
that is at the end of that datapoint's period.

Pure Python, no numpy: one setting is replayed in O(n) with prefix sums.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, compress, count, islice
from operator import ne, sub

# Periods beyond N that CloudWatch looks back over when datapoints are missing (its documented example
# retrieves five datapoints for three evaluation periods).
EXTRA_RANGE = 2

ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"

STATIC_OPERATORS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
BAND_OPERATORS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "GreaterThanUpperThreshold",
    "LessThanLowerThreshold",
)
TREAT_MISSING = ("missing", "notBreaching", "breaching", "ignore")


@dataclass(frozen=True)
class Setting:
    """What decides when an alarm fires: the SETTING shape of the API."""

    threshold: float | None
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    statistic: str
    comparison_operator: str
    treat_missing_data: str

    def as_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "period": self.period,
            "evaluation_periods": self.evaluation_periods,
            "datapoints_to_alarm": self.datapoints_to_alarm,
            "statistic": self.statistic,
            "comparison_operator": self.comparison_operator,
            "treat_missing_data": self.treat_missing_data,
        }

    @property
    def upward(self) -> bool:
        """Whether high values breach (a higher threshold is then quieter)."""
        return self.comparison_operator.startswith("GreaterThan")


@dataclass(frozen=True)
class Series:
    """A metric's datapoints at one resolution: ``values[i]`` is the datapoint at ``start + i * step`` seconds,
    None where CloudWatch has none."""

    start: datetime
    step: int
    values: tuple[float | None, ...]

    def at(self, index: int) -> datetime:
        return self.start + timedelta(seconds=index * self.step)

    @property
    def end(self) -> datetime:
        """When the last datapoint's period ends."""
        return self.at(len(self.values))

    @property
    def empty(self) -> bool:
        return all(v is None for v in self.values)


@dataclass(frozen=True)
class Band:
    """An anomaly-detection band aligned with a series: ``lower[i]`` and ``upper[i]`` bound ``values[i]``."""

    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]


@dataclass(frozen=True)
class Episode:
    """One ALARM episode of a replay: when it started and when it ended (None: still in ALARM at the end)."""

    start: datetime
    end: datetime | None


def _statistic(values: list[float], statistic: str) -> float:
    if statistic in ("Sum", "SampleCount"):
        return sum(values)
    if statistic == "Maximum":
        return max(values)
    if statistic == "Minimum":
        return min(values)
    if statistic.startswith("p") and statistic[1:].replace(".", "", 1).isdigit():
        ranked = sorted(values)
        return ranked[max(0, math.ceil(float(statistic[1:]) / 100 * len(ranked)) - 1)]
    # Average, and anything else (trimmed means): the mean of the sub-periods
    return sum(values) / len(values)


def aggregate(series: Series, period: int, statistic: str) -> Series:
    """The series re-binned to ``period`` (a multiple of its step), periods aligned on the clock as CloudWatch
    aligns them. Sub-period datapoints combine by the statistic (Average: their mean, which is exact only when
    every sub-period holds as many samples; percentiles: the nearest-rank of the sub-period values)."""
    if period == series.step or not series.values:
        return series
    if period % series.step:
        raise ValueError(f"period {period} is not a multiple of the series' step {series.step}")
    origin = int(series.start.timestamp())
    first = origin - origin % period
    bins: list[list[float]] = [[] for _ in range((origin - first + len(series.values) * series.step - 1) // period + 1)]
    for i, value in enumerate(series.values):
        if value is not None:
            bins[(origin + i * series.step - first) // period].append(value)
    values = tuple(_statistic(b, statistic) if b else None for b in bins)
    return Series(start=datetime.fromtimestamp(first, tz=UTC), step=period, values=values)


def breaches(series: Series, setting: Setting, band: "Band | bool | None" = None) -> list[int | None]:
    """Per datapoint: 1 breaching, 0 not, None missing. A band operator compares with ``band`` when it is one;
    otherwise the series already is the metric's distance outside its band, breaching above 0."""
    op, values = setting.comparison_operator, series.values
    if op in BAND_OPERATORS:
        if not isinstance(band, Band):
            return [None if v is None else int(v > 0) for v in values]
        out: list[int | None] = []
        for v, lo, hi in zip(values, band.lower, band.upper, strict=True):
            if v is None or lo is None or hi is None:
                out.append(None)
            elif op == "GreaterThanUpperThreshold":
                out.append(int(v > hi))
            elif op == "LessThanLowerThreshold":
                out.append(int(v < lo))
            else:
                out.append(int(v < lo or v > hi))
        return out
    if setting.threshold is None:
        raise ValueError(f"{op} needs a threshold")
    t = float(setting.threshold)
    if None not in values:
        # the common case at C speed: t.__lt__(v) is v > t
        test = {
            "GreaterThanOrEqualToThreshold": t.__le__,
            "GreaterThanThreshold": t.__lt__,
            "LessThanThreshold": t.__gt__,
            "LessThanOrEqualToThreshold": t.__ge__,
        }.get(op)
        if test is not None:
            return list(map(int, map(test, values)))
    if op == "GreaterThanOrEqualToThreshold":
        return [None if v is None else int(v >= t) for v in values]
    if op == "GreaterThanThreshold":
        return [None if v is None else int(v > t) for v in values]
    if op == "LessThanThreshold":
        return [None if v is None else int(v < t) for v in values]
    if op == "LessThanOrEqualToThreshold":
        return [None if v is None else int(v <= t) for v in values]
    raise ValueError(f"unknown comparison operator {op!r}")


def states(flags: list[int | None], n: int, m: int, treat_missing: str) -> list[str]:
    """The alarm's state after each evaluation (one per datapoint), from the breach flags."""
    if not 1 <= m <= n:
        raise ValueError(f"datapoints to alarm {m} must be between 1 and evaluation periods {n}")
    if treat_missing not in TREAT_MISSING:
        raise ValueError(f"unknown TreatMissingData {treat_missing!r}")
    size = len(flags)
    if None not in flags:
        # every datapoint present: the last N, whatever TreatMissingData says
        prefix = list(accumulate(flags, initial=0))
        state, out = INSUFFICIENT, []
        for i in range(min(n - 1, size)):  # the series' start: fewer than N datapoints behind
            state = ALARM if prefix[i + 1] >= m else _partial(prefix[i + 1], i + 1, n, m, treat_missing, state)
            out.append(state)
        out += [ALARM if b - a >= m else OK for a, b in zip(prefix, prefix[n:], strict=False)]
        return out
    span = n + EXTRA_RANGE
    present = [0]  # prefix count of real datapoints
    breach = [0]  # prefix count of breaching real datapoints
    real_breach = [0]  # prefix over the real datapoints only, in their order
    for f in flags:
        present.append(present[-1] + (f is not None))
        breach.append(breach[-1] + (f or 0))
        if f is not None:
            real_breach.append(real_breach[-1] + f)
    state, out = INSUFFICIENT, []
    for i in range(size):
        lo = max(0, i + 1 - span)
        k = present[i + 1] - present[lo]
        if k >= n:
            j = present[i + 1]  # real datapoints up to i
            b = real_breach[j] - real_breach[j - n]
            state = ALARM if b >= m else OK
        else:
            state = _partial(breach[i + 1] - breach[lo], k, n, m, treat_missing, state)
        out.append(state)
    return out


def _partial(b: int, k: int, n: int, m: int, treat_missing: str, state: str) -> str:
    """The state when only ``k`` < N real datapoints (``b`` breaching) are in the evaluation range."""
    if k == 0:
        return {"missing": INSUFFICIENT, "ignore": state, "breaching": ALARM, "notBreaching": OK}[treat_missing]
    if treat_missing == "breaching":
        return ALARM if b + n - k >= m else OK
    if treat_missing == "notBreaching":
        return ALARM if b >= m else OK
    if treat_missing == "missing":
        return ALARM if b >= min(m, k) else OK
    # ignore: decide only what the gap cannot change
    if b >= m:
        return ALARM
    return OK if b + n - k < m else state


def alarm_runs(flags: list[int | None], n: int, m: int, treat_missing: str) -> list[tuple[int, int | None]]:
    """ALARM episodes as (first evaluation index in ALARM, first index out of it or None)."""
    if None in flags or not 1 <= m <= n:
        alarm = [s == ALARM for s in states(flags, n, m, treat_missing)]
    else:
        # every datapoint present: ALARM when the last N hold M breaches (the series' start as states() says)
        head = min(n - 1, len(flags))
        alarm = [s == ALARM for s in states(flags[:head], n, m, treat_missing)]
        prefix = list(accumulate(flags, initial=0))
        alarm += map(m.__le__, map(sub, prefix[n:], prefix))
    if not alarm:
        return []
    edges: list[int | None] = list(compress(count(1), map(ne, alarm, islice(alarm, 1, None))))
    if alarm[0]:
        edges.insert(0, 0)
    if len(edges) % 2:
        edges.append(None)
    return list(zip(edges[::2], edges[1::2], strict=True))


def episodes(series: Series, setting: Setting, band: "Band | bool | None" = None) -> list[Episode]:
    """The ALARM episodes CloudWatch would have produced over the series under ``setting``. The series may be at
    a finer step than the setting's period (it is aggregated by the setting's statistic first). For the band
    operators, ``band`` is the anomaly-detection band aligned with the series, or True (or None) when the series
    already is the distance outside the band (breaching above 0)."""
    if setting.period != series.step:
        if isinstance(band, Band):
            raise ValueError("an anomaly band is replayed at the series' own step")
        series = aggregate(series, setting.period, setting.statistic)
    flags = breaches(series, setting, band)
    runs = alarm_runs(flags, setting.evaluation_periods, setting.datapoints_to_alarm, setting.treat_missing_data)
    # an evaluation happens when its datapoint's period is complete
    return [Episode(start=series.at(a + 1), end=None if b is None else series.at(b + 1)) for a, b in runs]
