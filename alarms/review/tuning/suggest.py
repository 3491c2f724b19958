"""The suggestion: among candidate settings, the quietest that still fires for every real alert.

How it is found (each rule is a constant below):

1. The current setting is replayed over the series (``replay.episodes``) and checked against the recorded
   alerts: an alert matches when a replayed episode starts within one period of its ``opened_at``. When fewer
   than ``MATCH_SHARE`` of the recorded alerts, or of the replayed episodes, match, the replay does not
   describe this alarm and nothing is suggested. Nor when fewer than ``MIN_LABELLED`` alerts are labelled.
2. A real alert (labelled actioned or customer impact) is *kept* by a setting when that setting is in ALARM at
   some moment from one period before the alert opened to ``max_delay_seconds`` after, in an episode that real
   trouble started (it starts within that same span of some real alert): an alarm held in ALARM by noise
   notifies nobody of what comes next. The delay is how long after ``opened_at`` that episode started.
3. Candidates: the period times each of ``PERIOD_MULTIPLES`` (re-binned by the alarm's statistic), and M of N
   pairs whose M-th datapoint can come within the allowed delay, N consecutive, sparse, or a merge window of
   ``MERGE_SECONDS`` that holds the alarm in ALARM through the gaps of one problem instead of notifying again.
   Thresholds only move the quieter way from the current one (up for the GreaterThan operators, down for
   LessThan), and never as far as the smallest peak a real alert reached.
4. Margin against overfitting: for each (period, M, N) the thresholds that keep every real alert form an
   interval from the current threshold to the last one that still keeps them all; the candidate takes its
   middle, counted in datapoints (the median of the datapoints lying in the interval, rounded), not its edge.
   Among the candidates that keep every real alert when replayed, the one with the fewest ALARM episodes
   wins; ties go to the longer merge window, then to the shorter worst delay, then to the nearest setting.
5. No real alert: nothing is suggested unless the alarm is a removal candidate anyway (alerts, none acted on);
   then, for the case it stays, the threshold goes just beyond the highest value its alerts reached
   (``NOISE_MARGIN``) with the longest merge window: quiet on what nobody acted on, firing on anything beyond.

An anomaly-detection alarm has no threshold to move: only M of N is searched, at its own period, either over
its ``band`` or over a series that already is the metric's distance outside the band (breaching above 0).
"""

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from alarms.review.tuning.replay import (
    BAND_OPERATORS,
    EXTRA_RANGE,
    Band,
    Episode,
    Series,
    Setting,
    aggregate,
    alarm_runs,
    breaches,
)

# share of recorded alerts (and of replayed episodes) that must match for the replay to be trusted
MATCH_SHARE = 0.8
# labelled alerts below which there is too little evidence to tune from
MIN_LABELLED = 3
PERIOD_MULTIPLES = (1, 2, 3, 5)
DATAPOINTS_TO_ALARM = (1, 2, 3, 4, 6, 8, 10)
# N for a given M: consecutive, one spare, twice as wide
EXTRA_PERIODS = (0, 1)
WINDOW_FACTORS = (2,)
# and windows this long, which hold an alarm in ALARM through the gaps of one problem instead of notifying again;
# the longest is the longest a suggested alarm stays in ALARM after its last breach (the quietness of the
# NAB bench depends on it: 63% fewer notifications at 2 h, 71% at 3 h, 76% at 4 h; bench/README.md)
MERGE_SECONDS = (1800, 3600, 7200, 14400)
# a removal candidate's threshold: between these fractions of the way from the current threshold to the highest
# value its alerts reached, beyond that value
NOISE_MARGIN = (0.05, 0.25)
ONE_DAY = 86400

_FLIP = {
    "LessThanThreshold": "GreaterThanThreshold",
    "LessThanOrEqualToThreshold": "GreaterThanOrEqualToThreshold",
}
_UNFLIP = {v: k for k, v in _FLIP.items()}


@dataclass(frozen=True)
class RecordedAlert:
    """An alert the portal recorded for the alarm; ``real`` when labelled actioned or customer impact;
    ``labelled`` when it carries any outcome (an unlabelled alert is no evidence either way)."""

    opened_at: datetime
    closed_at: datetime | None
    real: bool
    labelled: bool = True


@dataclass
class Suggestion:
    """The answer: the current and suggested settings, why, and the replay's figures (the API's ``replay``):
    ``from``/``to`` (ISO), ``current_alerts`` and ``suggested_alerts`` (ALARM episodes of each setting),
    ``real_alerts`` and ``real_alerts_kept``, ``max_delay_seconds`` (the longest delay of a kept real alert
    under the suggestion), ``current_matches_recorded`` (recorded alerts the current replay reproduces),
    plus ``recorded_alerts`` and ``allowed_delay_seconds``."""

    current: Setting
    suggested: Setting | None
    reason: str
    replay: dict = field(default_factory=dict)
    # per real alert under the suggestion: seconds after opened_at it fires (None: not kept)
    delays: list[int | None] = field(default_factory=list)


@dataclass
class _Candidate:
    setting: Setting
    alerts: int
    delays: list[int]

    def key(self, current: Setting) -> tuple:
        distance = (
            self.setting.period != current.period,
            abs(self.setting.evaluation_periods - current.evaluation_periods)
            + abs(self.setting.datapoints_to_alarm - current.datapoints_to_alarm),
        )
        # equally quiet over the history: the one that re-notifies least within one problem, then the quicker
        merge = self.setting.evaluation_periods * self.setting.period // self.setting.datapoints_to_alarm
        return (self.alerts, -merge, max(self.delays, default=0), distance)


def _replay_dict(series: Series, current: Setting, alerts: list[RecordedAlert], max_delay: int) -> dict:
    return {
        "from": series.start.isoformat(),
        "to": series.end.isoformat(),
        "current_alerts": None,
        "suggested_alerts": None,
        "real_alerts": sum(a.real for a in alerts),
        "real_alerts_kept": None,
        "max_delay_seconds": None,
        "current_matches_recorded": None,
        "recorded_alerts": len(alerts),
        "allowed_delay_seconds": max_delay,
    }


def _runs_to_seconds(series: Series, runs: list[tuple[int, int | None]]) -> list[tuple[float, float | None]]:
    origin, step = series.start.timestamp(), series.step
    return [(origin + (a + 1) * step, None if b is None else origin + (b + 1) * step) for a, b in runs]


def _matches(starts: list[float], alerts: list[RecordedAlert], tolerance: int) -> int:
    """Recorded alerts with a replayed episode starting within ``tolerance`` seconds of their opening."""
    matched = 0
    for alert in alerts:
        t = alert.opened_at.timestamp()
        i = bisect_right(starts, t + tolerance)
        if i and starts[i - 1] >= t - tolerance:
            matched += 1
    return matched


def _delays(spans: list[tuple[float, float | None]], real: list[float], before: int, max_delay: int) -> list:
    """Per real alert (opening times, sorted): how long after its opening the setting went into ALARM for it,
    or None when it did not. It did when an episode is in force from ``before`` seconds before the opening to
    ``max_delay`` after, and that episode was itself started by real trouble (it starts within the same span
    of some real alert): an alarm held in ALARM by noise notifies nobody of what comes next."""
    starts = [s for s, _ in spans]
    out = []
    for t in real:
        i = bisect_right(starts, t + max_delay)
        if not i:
            out.append(None)
            continue
        start, end = spans[i - 1]
        if end is not None and end <= t - before:
            out.append(None)
            continue
        # some real alert opened between max_delay before this episode's start and one period after it
        j = bisect_right(real, start + before)
        out.append(int(max(0.0, start - t)) if j and real[j - 1] >= start - max_delay else None)
    return out


def fires_for(
    episodes: list[Episode], alerts: list[RecordedAlert], *, before: int, max_delay_seconds: int = 900
) -> list[int | None]:
    """Per real alert among ``alerts`` (in order of opening): the delay in seconds after which the replayed
    ``episodes`` fire for it, or None when they do not, by the suggestion's own rule (see ``_delays``);
    ``before`` is one period of the current setting."""
    spans = [(e.start.timestamp(), None if e.end is None else e.end.timestamp()) for e in episodes]
    real = sorted(a.opened_at.timestamp() for a in alerts if a.real)
    return _delays(spans, real, before, max_delay_seconds)


def _flipped(series: Series, setting: Setting) -> tuple[Series, Setting]:
    """LessThan alarms as GreaterThan ones over the negated metric, so that quieter is always a higher
    threshold."""
    if setting.comparison_operator not in _FLIP:
        return series, setting
    values = tuple(None if v is None else -v for v in series.values)
    return (
        Series(series.start, series.step, values),
        _with(setting, threshold=-setting.threshold, comparison_operator=_FLIP[setting.comparison_operator]),
    )


def _unflipped(setting: Setting, flipped: bool) -> Setting:
    if not flipped:
        return setting
    op = _UNFLIP[setting.comparison_operator]
    return _with(setting, threshold=-setting.threshold, comparison_operator=op)


def _with(setting: Setting, **changes) -> Setting:
    return Setting(**{**setting.as_dict(), **changes})


def _tipping(window: list[float], n: int, m: int, treat: str) -> float:
    """The threshold above which an evaluation over ``window`` (its real datapoints, newest last, at most N)
    is no longer ALARM: the M-th largest value, adjusted for the gap as replay's model fills it."""
    k = len(window)
    need = m
    if k < n:
        need = {"breaching": m - (n - k), "missing": min(m, k)}.get(treat, m)
    if need <= 0:
        return math.inf
    if need > k:
        return -math.inf
    return sorted(window, reverse=True)[need - 1]


def _highest_keeping(values: tuple, start: float, step: int, t: float, before: int, max_delay: int, n, m, treat):
    """The highest threshold at which the alarm over ``values`` is still in ALARM for a real alert opened at
    ``t``: the best tipping value over the evaluations that would keep it."""
    origin = start
    # evaluation i happens at origin + (i + 1) * step; the one in force at t - before and those up to t + delay
    first = max(0, math.floor((t - before - origin) / step) - 1)
    last = min(len(values) - 1, math.floor((t + max_delay - origin) / step) - 1)
    best = -math.inf
    span = n + EXTRA_RANGE
    for i in range(first, last + 1):
        window = [v for v in values[max(0, i + 1 - span) : i + 1] if v is not None][-n:]
        best = max(best, _tipping(window, n, m, treat))
    return best


def _middle(ranked: list[float], lo: float, hi: float) -> float:
    """The middle of the thresholds (lo, hi), counted in datapoints: a round number between the 40th and 60th
    percentiles of the datapoints lying between them (half of what lies above ``lo`` is then above the
    threshold). Counting datapoints rather than units keeps one outlying peak from pulling the middle to it.
    With too few datapoints between, the middle fifth in units."""
    first, last = bisect_right(ranked, lo), bisect_left(ranked, hi)
    between = last - first
    if between < 5:
        return _nice_between(lo + (hi - lo) * 0.4, lo + (hi - lo) * 0.6)
    return _nice_between(ranked[first + int(between * 0.4)], ranked[first + int(between * 0.6)])


def _nice_between(lo: float, hi: float) -> float:
    """The roundest number in [lo, hi] (fewest significant digits), else their middle."""
    mid = (lo + hi) / 2
    if mid == 0 or not math.isfinite(mid):
        return mid
    band = (hi - lo) / 2
    for digits in range(1, 8):
        scale = 10 ** (digits - 1 - math.floor(math.log10(abs(mid))))
        rounded = round(mid * scale) / scale
        if abs(rounded - mid) <= band:
            return rounded
    return mid


def _peak(series: Series, opened: float, closed: float | None, period: int, max_delay: int) -> float:
    """The highest datapoint of a real alert: from the datapoint that tipped it to its close."""
    origin, step = series.start.timestamp(), series.step
    end = closed if closed is not None else opened + max_delay
    first = max(0, math.floor((opened - period - origin) / step))
    last = min(len(series.values), math.ceil((end - origin) / step))
    return max((v for v in series.values[first:last] if v is not None), default=-math.inf)


def _pairs(period: int, base_period: int, max_delay: int) -> list[tuple[int, int]]:
    """(M, N) pairs whose M-th breaching datapoint can come within the allowed delay of the first."""
    out = []
    for m in DATAPOINTS_TO_ALARM:
        if (m - 1) * period + (period - base_period) > max_delay + base_period:
            continue
        ns = {m + e for e in EXTRA_PERIODS} | {m * f for f in WINDOW_FACTORS}
        ns |= {-(-seconds // period) for seconds in MERGE_SECONDS}
        out += [(m, n) for n in sorted(ns) if n >= m and n * period <= ONE_DAY]
    return out


def suggest(
    series: Series,
    current: Setting,
    alerts: list[RecordedAlert],
    *,
    max_delay_seconds: int = 900,
    removal_candidate: bool = False,
    static_threshold: bool = True,
    band: Band | bool | None = None,
    min_labelled: int = MIN_LABELLED,
) -> Suggestion:
    """The quietest candidate setting that still fires for every real alert at most ``max_delay_seconds`` after
    it opened, or None with the reason. ``static_threshold`` False (anomaly bands) searches M of N only, over
    ``band`` (the band's history, aligned with the series) or, when ``band`` is True or None, over a series that
    is the metric's distance outside its band."""
    begin, end = series.start, series.end
    alerts = sorted((a for a in alerts if begin <= a.opened_at < end), key=lambda a: a.opened_at)
    replay = _replay_dict(series, current, alerts, max_delay_seconds)

    def no(reason: str) -> Suggestion:
        return Suggestion(current=current, suggested=None, reason=reason, replay=replay)

    anomaly = not static_threshold or current.threshold is None or current.comparison_operator in BAND_OPERATORS
    if series.step <= 0 or current.period <= 0:
        return no("The alarm's period or the metric's resolution is not a positive number of seconds.")
    if not series.values or series.empty:
        return no("The metric has no datapoints in this period, so there is nothing to replay.")
    if current.period % series.step:
        return no(
            f"The metric's history is at {series.step} s, which does not divide the alarm's period of "
            f"{current.period} s, so the alarm cannot be replayed faithfully."
        )
    if anomaly and series.step != current.period:
        return no(
            "An anomaly-detection alarm is replayed at its own period; the band's history is at another resolution."
        )

    base = series if anomaly else aggregate(series, current.period, current.statistic)
    # without its band, an anomaly alarm's series is the distance outside the band: breaching above 0
    probe = (
        _with(current, threshold=0.0, comparison_operator="GreaterThanThreshold") if anomaly and not band else current
    )
    try:
        runs = alarm_runs(
            breaches(base, probe, band),
            current.evaluation_periods,
            current.datapoints_to_alarm,
            current.treat_missing_data,
        )
    except ValueError as error:
        return no(f"The alarm's setting cannot be replayed: {error}.")
    spans = _runs_to_seconds(base, runs)
    matched = _matches([s for s, _ in spans], alerts, current.period)
    replay.update(current_alerts=len(spans), current_matches_recorded=matched)

    if matched < MATCH_SHARE * max(len(alerts), len(spans)):
        return no(
            f"The replay of the current setting does not agree with the recorded alerts: it gives {len(spans)} "
            f"alerts where {len(alerts)} were recorded, {matched} of them at the same time. The metric's history "
            "may not be what the alarm evaluated, so no setting is suggested."
        )
    real = [a for a in alerts if a.real]
    labelled = sum(a.labelled for a in alerts)
    if not alerts and not spans:
        return no("The alarm raised no alert in this period: there is nothing to make quieter.")
    if labelled < min_labelled:
        return no(
            f"Only {labelled} of the alarm's alerts {'is' if labelled == 1 else 'are'} labelled; at least "
            f"{min_labelled} are needed to tune from its history."
        )
    if not real:
        if not removal_candidate:
            return no(
                "No alert of this alarm was labelled actioned or customer impact, so there is nothing a quieter "
                "setting must keep."
            )
        if anomaly:
            return no(
                "Nobody acted on any alert of this anomaly-detection alarm: it is a removal candidate, and with "
                "no real alert to keep there is no M of N to prefer."
            )
        return _above_noise(base, current, spans, replay)

    opened = [a.opened_at.timestamp() for a in real]
    best = (
        _search_band(base, band, current, probe, opened, max_delay_seconds)
        if anomaly
        else _search_threshold(series, base, current, real, opened, max_delay_seconds)
    )
    if best is None or best.alerts >= len(spans):
        kept = _delays(spans, opened, current.period, max_delay_seconds)
        return no(
            f"No candidate setting is quieter than the current one ({len(spans)} alerts) while still firing "
            f"for all {len(real)} real alerts within {max_delay_seconds // 60} minutes."
            + (
                ""
                if all(d is not None for d in kept)
                else f" The current setting itself misses {sum(d is None for d in kept)} of them."
            )
        )
    replay.update(
        suggested_alerts=best.alerts,
        real_alerts_kept=len(best.delays),
        max_delay_seconds=max(best.delays, default=0),
    )
    s, worst = best.setting, max(best.delays, default=0)
    return Suggestion(
        current=current,
        suggested=s,
        reason=(
            f"ALARM when {_condition(s)}: {_alerts(best.alerts)} instead of {len(spans)} over this period, and "
            + (
                f"all {len(real)} real alerts still fire, "
                + (f"at most {_duration(worst)} later." if worst else "none of them later.")
                if len(real) > 1
                else "the real alert still fires" + (f", {_duration(worst)} later." if worst else " as early.")
            )
        ),
        replay=replay,
        delays=best.delays,
    )


def _alerts(count: int) -> str:
    return f"{count} alert" if count == 1 else f"{count} alerts"


_WORDS = {
    "GreaterThanThreshold": "above",
    "GreaterThanOrEqualToThreshold": "at or above",
    "LessThanThreshold": "below",
    "LessThanOrEqualToThreshold": "at or below",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "GreaterThanUpperThreshold": "above the band",
    "LessThanLowerThreshold": "below the band",
}


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _condition(s: Setting) -> str:
    where = _WORDS.get(s.comparison_operator, s.comparison_operator)
    if s.threshold is not None and s.comparison_operator not in BAND_OPERATORS:
        where = f"{where} {s.threshold:g}"
    verb = "is" if s.datapoints_to_alarm == 1 else "are"
    dur = _duration(s.period).replace(" ", "-")
    return f"{s.datapoints_to_alarm} of the last {s.evaluation_periods} {dur} datapoints {verb} {where}"


def _above_noise(base: Series, current: Setting, spans: list, replay: dict) -> Suggestion:
    """A removal candidate (alerts, none acted on): the threshold just above the highest value its episodes
    reached (by ``NOISE_MARGIN`` of the way from the current threshold), so that it stays quiet on what nobody
    acted on and still fires on anything beyond it."""
    flipped = current.comparison_operator in _FLIP
    values, now = _flipped(base, current)
    peak = max(_peak(values, start, end, current.period, current.period) for start, end in spans)
    lo, hi = (peak + f * (peak - now.threshold) for f in NOISE_MARGIN)
    # one notification per problem: held in ALARM until the longest merge window passes without a breach
    merged = max(current.evaluation_periods, -(-max(MERGE_SECONDS) // current.period))
    setting = _unflipped(_with(now, threshold=_nice_between(lo, hi), evaluation_periods=merged), flipped)
    quiet = alarm_runs(
        breaches(base, setting), setting.evaluation_periods, setting.datapoints_to_alarm, setting.treat_missing_data
    )
    replay.update(suggested_alerts=len(quiet), real_alerts_kept=0, max_delay_seconds=0)
    shown = -peak if flipped else peak
    return Suggestion(
        current=current,
        suggested=setting,
        reason=(
            f"Nobody acted on any of its {len(spans)} alerts: it is a removal candidate. If it stays, ALARM when "
            f"{_condition(setting)} (its alerts reached {shown:g}): {_alerts(len(quiet))} over this period, and "
            "it still fires on anything beyond what was seen."
        ),
        replay=replay,
    )


def _search_band(base: Series, band: Band | None, current: Setting, probe: Setting, opened, max_delay: int):
    """M of N only, on the anomaly alarm's own breaches (``probe`` is how they are told from the series)."""
    flags = breaches(base, probe, band)
    best = None
    for m, n in _pairs(current.period, current.period, max_delay):
        spans = _runs_to_seconds(base, alarm_runs(flags, n, m, current.treat_missing_data))
        delays = _delays(spans, opened, current.period, max_delay)
        if all(d is not None for d in delays):
            setting = _with(current, evaluation_periods=n, datapoints_to_alarm=m)
            candidate = _Candidate(setting, len(spans), delays)
            if best is None or candidate.key(current) < best.key(current):
                best = candidate
    return best


def _search_threshold(series, base, current, real, opened, max_delay):
    flipped = current.comparison_operator in _FLIP
    base, now = _flipped(base, current)
    strict = now.comparison_operator == "GreaterThanThreshold"
    # never as far as the smallest peak a real alert reached
    ceiling = min(
        _peak(base, t, None if a.closed_at is None else a.closed_at.timestamp(), current.period, max_delay)
        for a, t in zip(real, opened, strict=True)
    )
    best = None
    for multiple in PERIOD_MULTIPLES:
        period = current.period * multiple
        if period > ONE_DAY:
            break
        # aggregated before any flip: the statistic applies to the metric's own values
        binned = base if multiple == 1 else _flipped(aggregate(series, period, current.statistic), current)[0]
        origin = binned.start.timestamp()
        ranked = sorted(v for v in binned.values if v is not None)
        flags_at: dict[float, list] = {}  # candidates often share a (rounded) threshold
        for m, n in _pairs(period, current.period, max_delay):
            highest = min(
                _highest_keeping(
                    binned.values, origin, period, t, current.period, max_delay, n, m, now.treat_missing_data
                )
                for t in opened
            )
            top = min(highest, ceiling)
            if top < now.threshold or (strict and top == now.threshold):
                continue
            threshold = _middle(ranked, now.threshold, top) if top > now.threshold else now.threshold
            setting = _with(now, period=period, evaluation_periods=n, datapoints_to_alarm=m, threshold=threshold)
            if threshold not in flags_at:
                flags_at[threshold] = breaches(binned, setting)
            flags = flags_at[threshold]
            spans = _runs_to_seconds(binned, alarm_runs(flags, n, m, setting.treat_missing_data))
            delays = _delays(spans, opened, current.period, max_delay)
            if any(d is None for d in delays):
                continue
            candidate = _Candidate(_unflipped(setting, flipped), len(spans), delays)
            if best is None or candidate.key(current) < best.key(current):
                best = candidate
    return best
