"""The replay of CloudWatch's alarm evaluation against hand-computed cases: every comparison operator, M of N,
every TreatMissingData value (the documented table of a 3-of-3 alarm), re-binning to a longer period.

Episodes start when the datapoint that tipped the alarm is complete: datapoint ``i`` covers minute ``i``, so an
alarm tipped by it starts at ``at(i + 1)``.
"""

from datetime import UTC, datetime, timedelta

import pytest

from alarms.review.tuning.replay import (
    ALARM,
    INSUFFICIENT,
    OK,
    Band,
    Series,
    Setting,
    aggregate,
    episodes,
    states,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def setting(op="GreaterThanThreshold", threshold=10.0, n=1, m=1, treat="missing", period=60, statistic="Average"):
    return Setting(threshold, period, n, m, statistic, op, treat)


def replay(values, band=None, **kw) -> list[tuple[datetime, datetime | None]]:
    return [(e.start, e.end) for e in episodes(Series(T0, 60, tuple(values)), setting(**kw), band)]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        # values 5, 10, 15, 10, 5 against 10
        ("GreaterThanOrEqualToThreshold", [(at(2), at(5))]),
        ("GreaterThanThreshold", [(at(3), at(4))]),
        ("LessThanThreshold", [(at(1), at(2)), (at(5), None)]),
        ("LessThanOrEqualToThreshold", [(at(1), at(3)), (at(4), None)]),
    ],
)
def test_static_operators(op, expected):
    assert replay([5, 10, 15, 10, 5], op=op) == expected


BAND = Band(lower=(4.0,) * 5, upper=(12.0,) * 5)


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        # values 5, 20, 0, 10, 13 against the band 4..12
        ("LessThanLowerOrGreaterThanUpperThreshold", [(at(2), at(4)), (at(5), None)]),
        ("GreaterThanUpperThreshold", [(at(2), at(3)), (at(5), None)]),
        ("LessThanLowerThreshold", [(at(3), at(4))]),
    ],
)
def test_band_operators(op, expected):
    assert replay([5, 20, 0, 10, 13], band=BAND, op=op, threshold=None) == expected


def test_band_operator_over_a_distance_series_breaches_above_zero():
    """Without the band itself, the series is the metric's distance outside it."""
    assert replay([0, 3, 0, 0], op="GreaterThanUpperThreshold", threshold=None) == [(at(2), at(3))]


def test_m_of_n_needs_m_breaches_among_the_last_n():
    # 2 of 3: the window [20, 0, 20] at minute 5 holds two breaches, the next [0, 20, 0] one
    assert replay([0, 0, 0, 20, 0, 20, 0, 0, 0], n=3, m=2) == [(at(6), at(7))]
    # 3 of 3 never: no three in a row
    assert replay([0, 0, 0, 20, 0, 20, 20, 0, 0], n=3, m=3) == []
    assert replay([0, 0, 0, 20, 20, 20, 0, 0, 0], n=3, m=3) == [(at(6), at(7))]


X, G, _ = 1, 0, None  # breaching, good (not breaching), missing


@pytest.mark.parametrize(
    ("flags", "missing", "ignore", "breaching", "not_breaching"),
    [
        # CloudWatch's documented table for 3 evaluation periods, 3 datapoints to alarm, 5 datapoints retrieved
        ([G, _, X, _, X], OK, OK, OK, OK),
        ([_, _, _, _, G], OK, OK, OK, OK),
        ([G, X, X, _, X], ALARM, ALARM, ALARM, ALARM),
        ([_, _, X, _, _], ALARM, "kept", ALARM, OK),
    ],
)
def test_missing_data_table_of_a_3_of_3_alarm(flags, missing, ignore, breaching, not_breaching):
    before = [G, G, G]  # the alarm is OK before the five datapoints
    for treat, expected in (
        ("missing", missing),
        ("ignore", OK if ignore == "kept" else ignore),
        ("breaching", breaching),
        ("notBreaching", not_breaching),
    ):
        assert states(before + flags, 3, 3, treat)[-1] == expected, treat


def test_all_missing_in_the_evaluation_range():
    """'missing' → INSUFFICIENT_DATA, 'ignore' keeps the state, 'breaching' → ALARM, 'notBreaching' → OK."""
    flags = [X, X, X, _, _, _, _, _]  # in ALARM, then five missing datapoints (the whole range)
    assert states(flags, 3, 3, "missing")[-1] == INSUFFICIENT
    assert states(flags, 3, 3, "ignore")[-1] == ALARM
    assert states(flags, 3, 3, "breaching")[-1] == ALARM
    assert states(flags, 3, 3, "notBreaching")[-1] == OK
    # from OK, 'ignore' stays OK through the gap
    assert states([G, G, G, _, _, _, _, _], 3, 3, "ignore")[-1] == OK


def test_missing_points_are_skipped_when_enough_real_ones_are_in_range():
    """With at least N real datapoints in the evaluation range, the last N real ones are evaluated whatever
    TreatMissingData says: the gap is not filled, not even as 'notBreaching'."""
    for treat in ("missing", "ignore", "breaching", "notBreaching"):
        assert states([G, X, _, X], 2, 2, treat)[-1] == ALARM, treat
        assert states([X, G, _, G], 2, 1, treat)[-1] == OK, treat
    # the range reaches N + 2 periods back: a longer gap leaves one real datapoint, and the gap is filled
    flags = [X, _, _, _, _, X]
    assert states(flags, 2, 2, "notBreaching")[-1] == OK
    assert states(flags, 2, 2, "breaching")[-1] == ALARM


def test_an_episode_ends_when_the_data_stops():
    """'missing': once the whole range is missing the alarm leaves ALARM for INSUFFICIENT_DATA."""
    assert replay([20, None, None, None, None]) == [(at(1), at(4))]
    assert replay([20, None, None, None, None], treat="ignore") == [(at(1), None)]
    assert replay([0, None, None, None, None], treat="breaching") == [(at(4), None)]


def test_invalid_m_of_n_is_refused():
    with pytest.raises(ValueError, match="datapoints to alarm"):
        states([X, X], 1, 2, "missing")


def test_aggregate_rebins_on_the_clock_by_the_statistic():
    # 1-minute datapoints from 12:03: the 5-minute periods start at 12:00 and 12:05
    series = Series(T0 + timedelta(minutes=3), 60, (1.0, 2.0, 3.0, None, 5.0, 6.0))
    assert aggregate(series, 300, "Average") == Series(T0, 300, (1.5, 14 / 3))
    assert aggregate(series, 300, "Maximum").values == (2.0, 6.0)
    assert aggregate(series, 300, "Sum").values == (3.0, 14.0)
    assert aggregate(series, 300, "Minimum").values == (1.0, 3.0)


def test_a_setting_at_a_longer_period_is_replayed_over_the_rebinned_metric():
    # minute values: a one-minute spike averages out at 5 minutes, a sustained breach does not
    values = [0.0] * 5 + [40.0] + [0.0] * 4 + [20.0] * 5
    assert replay(values) == [(at(6), at(7)), (at(11), None)]
    assert replay(values, period=300) == [(at(15), None)]
    assert replay(values, period=300, statistic="Maximum") == [(at(10), None)]


def test_setting_as_dict_is_the_api_shape():
    assert setting().as_dict() == {
        "threshold": 10.0,
        "period": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "statistic": "Average",
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "missing",
    }
