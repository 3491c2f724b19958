"""The NAB benchmark, small: three of the real CloudWatch series with labelled anomaly windows (bench/data/nab),
each tuned on its first half and replayed on its second."""

import pytest

from bench import tuning_nab

SERIES = ("ec2_cpu_utilization_77c1ca", "grok_asg_anomaly", "rds_cpu_utilization_cc0c53")


@pytest.fixture(scope="module")
def outcomes():
    return [tuning_nab.run_series(name) for name in SERIES]


def test_the_data_ships_with_its_licence():
    assert "Numenta" in (tuning_nab.DATA / "LICENSE").read_text()
    assert set(SERIES) <= set(tuning_nab.names())
    assert len(tuning_nab.names()) == 17


def test_the_suggestion_is_quieter_on_unseen_data_and_catches_the_same_windows(outcomes):
    total = tuning_nab.summary(outcomes)
    assert total["naive_alerts"] > 0
    assert total["fewer"] >= tuning_nab.TARGET_FEWER
    assert total["suggested_caught"] == total["naive_caught"] > 0


def test_the_suggestion_sees_only_the_first_half(outcomes):
    for o in outcomes:
        series, _ = tuning_nab.load(o.name)
        first, second = tuning_nab.halves(series)
        assert o.suggestion.replay["to"] == first.end.isoformat() == second.start.isoformat()
        assert o.suggestion.replay["current_matches_recorded"] == o.suggestion.replay["current_alerts"]
