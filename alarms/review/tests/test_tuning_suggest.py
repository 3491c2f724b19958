"""The suggestion over a planted metric: three days of 1-minute datapoints around 10, a one-minute blip every
90 minutes (22 to 30, nobody acted on them) and three real incidents of 40 minutes at 45 (actioned). The alarm
fires above 20 on 1 of 1 minute, so it raised every blip (one falls inside an incident) and every incident."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from alarms.review.tuning.replay import Band, Series, Setting, episodes
from alarms.review.tuning.suggest import RecordedAlert, fires_for, suggest

T0 = datetime(2026, 2, 2, tzinfo=UTC)
MINUTES = 3 * 1440
INCIDENTS = (700, 2000, 3600)  # minutes at which the real incidents begin
CURRENT = Setting(20.0, 60, 1, 1, "Average", "GreaterThanThreshold", "missing")


def planted(sign: float = 1.0) -> Series:
    rng = random.Random(12)
    values = [10 + rng.uniform(-2, 2) for _ in range(MINUTES)]
    for i in range(45, MINUTES, 90):
        values[i] = rng.uniform(22, 30)
    for start in INCIDENTS:
        for i in range(start, start + 40):
            values[i] = 45.0
    return Series(T0, 60, tuple(sign * v for v in values))


def recorded(series: Series, setting: Setting = CURRENT, *, late=timedelta(seconds=20), **labels) -> list:
    """The alerts the portal recorded: the alarm's episodes, notified a little after they started, labelled
    real when they are an incident."""
    out = []
    for ep in episodes(series, setting):
        minute = int((ep.start - T0).total_seconds() // 60)
        real = any(start <= minute <= start + 41 for start in INCIDENTS)
        out.append(RecordedAlert(ep.start + late, ep.end, real=real and labels.get("real", True), labelled=True))
    return out


@pytest.fixture(scope="module")
def series() -> Series:
    return planted()


def test_the_suggestion_removes_the_blips_and_keeps_the_incidents(series):
    alerts = recorded(series)
    assert len(alerts) == 47 + 3 and sum(a.real for a in alerts) == 3

    result = suggest(series, CURRENT, alerts)

    s = result.suggested
    assert s is not None, result.reason
    replayed = episodes(series, s)
    assert len(replayed) == 3
    for start in INCIDENTS:
        opened = T0 + timedelta(minutes=start + 1)
        assert any(opened - timedelta(minutes=1) <= ep.start <= opened + timedelta(minutes=15) for ep in replayed)
    # never beyond what a real incident reached, never noisier than the current threshold
    assert 20 <= s.threshold < 45
    assert result.replay == {
        "from": T0.isoformat(),
        "to": (T0 + timedelta(minutes=MINUTES)).isoformat(),
        "current_alerts": 50,
        "suggested_alerts": 3,
        "real_alerts": 3,
        "real_alerts_kept": 3,
        "max_delay_seconds": result.replay["max_delay_seconds"],
        "current_matches_recorded": 50,
        "recorded_alerts": 50,
        "allowed_delay_seconds": 900,
    }
    assert 0 <= result.replay["max_delay_seconds"] <= 900
    assert "3 alerts instead of 50" in result.reason
    assert fires_for(replayed, alerts, before=60) == result.delays


def test_a_shorter_allowed_delay_keeps_the_alarm_quicker(series):
    result = suggest(series, CURRENT, recorded(series), max_delay_seconds=120)
    assert result.suggested is not None
    assert result.replay["max_delay_seconds"] <= 120
    assert result.replay["suggested_alerts"] == 3


def test_a_falling_metric_is_tuned_downwards():
    series = planted(-1.0)
    current = Setting(-20.0, 60, 1, 1, "Average", "LessThanThreshold", "missing")
    result = suggest(series, current, recorded(series, current))
    s = result.suggested
    assert s is not None, result.reason
    assert s.comparison_operator == "LessThanThreshold"
    assert -45 < s.threshold <= -20
    assert result.replay["suggested_alerts"] == 3


def test_the_current_replay_must_match_the_recorded_alerts(series):
    alerts = recorded(series)
    assert suggest(series, CURRENT, alerts).replay["current_matches_recorded"] == len(alerts)

    elsewhere = recorded(series, late=timedelta(minutes=30))  # recorded at other times than the metric says
    result = suggest(series, CURRENT, elsewhere)
    assert result.suggested is None
    assert result.replay["current_matches_recorded"] == 0
    assert "does not agree with the recorded alerts" in result.reason


def test_no_suggestion_without_real_alerts(series):
    alerts = recorded(series, real=False)
    result = suggest(series, CURRENT, alerts)
    assert result.suggested is None
    assert "actioned or customer impact" in result.reason
    assert result.replay["real_alerts"] == 0


def test_a_removal_candidate_is_offered_a_threshold_beyond_its_alerts():
    rng = random.Random(3)
    values = [10 + rng.uniform(-2, 2) for _ in range(MINUTES)]
    for i in range(45, MINUTES, 90):
        values[i] = rng.uniform(22, 30)
    series = Series(T0, 60, tuple(values))
    alerts = recorded(series, real=False)
    result = suggest(series, CURRENT, alerts, removal_candidate=True)
    assert result.suggested is not None
    assert result.suggested.threshold > max(values)
    assert result.replay["suggested_alerts"] == 0
    assert "removal candidate" in result.reason


def test_no_suggestion_with_too_few_labelled_alerts(series):
    alerts = [
        RecordedAlert(a.opened_at, a.closed_at, a.real, labelled=a.real and i < 2)
        for i, a in enumerate(a for a in recorded(series) if a.real)
    ]
    alerts += [RecordedAlert(a.opened_at, a.closed_at, False, labelled=False) for a in recorded(series) if not a.real]
    result = suggest(series, CURRENT, alerts)
    assert result.suggested is None
    assert "Only 2 of the alarm's alerts are labelled" in result.reason


@pytest.mark.parametrize("values", [(), (None,) * 500])
def test_a_metric_without_data(values):
    result = suggest(Series(T0, 60, values), CURRENT, [])
    assert result.suggested is None
    assert "no datapoints" in result.reason
    assert set(result.replay) >= {"from", "to", "current_alerts", "suggested_alerts", "real_alerts"}


def test_a_history_coarser_than_the_period_is_refused_with_a_reason(series):
    coarse = Series(T0, 300, series.values[: MINUTES // 5])
    result = suggest(coarse, CURRENT, [])
    assert result.suggested is None
    assert "cannot be replayed faithfully" in result.reason


def test_an_anomaly_alarm_is_tuned_in_m_of_n_only(series):
    band = Band(lower=(0.0,) * MINUTES, upper=(20.0,) * MINUTES)
    current = Setting(None, 60, 1, 1, "Average", "GreaterThanUpperThreshold", "missing")
    alerts = recorded(series)
    result = suggest(series, current, alerts, static_threshold=False, band=band)
    s = result.suggested
    assert s is not None, result.reason
    assert (s.threshold, s.comparison_operator, s.period) == (None, "GreaterThanUpperThreshold", 60)
    assert s.datapoints_to_alarm >= 2
    assert result.replay["suggested_alerts"] == 3

    # the same alarm read as its distance outside the band (above 0 is breaching)
    distance = Series(T0, 60, tuple(max(0.0, v - 20) for v in series.values))
    again = suggest(distance, current, alerts, static_threshold=False, band=True)
    assert again.suggested == s

    # no real alert: a clear reason, no exception
    none = suggest(distance, current, recorded(series, real=False), static_threshold=False, removal_candidate=True)
    assert none.suggested is None
    assert "anomaly-detection" in none.reason


@pytest.mark.parametrize(
    "current",
    [
        Setting(20.0, 60, 1, 3, "Average", "GreaterThanThreshold", "missing"),  # M above N
        Setting(20.0, 60, 1, 1, "Average", "GreaterThanThreshold", "sometimes"),
        Setting(20.0, 60, 1, 1, "Average", "MoreOrLess", "missing"),
        Setting(20.0, 0, 1, 1, "Average", "GreaterThanThreshold", "missing"),
    ],
)
def test_a_setting_the_replay_cannot_evaluate_gets_a_reason(series, current):
    result = suggest(series, current, recorded(series))
    assert result.suggested is None and result.reason
