"""The demo alarms' metrics: once the history is in, the local AWS holds datapoints that tell the recorded
alerts' story, so that the replay of an alarm's current setting reproduces its alerts and tuning can suggest."""

from datetime import UTC, datetime, timedelta

import pytest

from alarms.review.services.tuning import alarm_tuning, default_days
from alarms.tests.factories import AlarmFactory, AwsAccountFactory
from incidents.models import Alert
from portal.demo.estate import EXTERNAL_ID
from portal.demo.metrics import demo_put_metrics
from portal.localaws import role_arn

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(seconds=17)
# (days before now the alert opened, minutes it lasted, outcome): blips that went away by themselves, two close
# together, and incidents someone acted on
STORY = (
    (0.4, 2, "transient"),
    (1.3, 1.5, "transient"),
    (2.2, 30, "actioned"),
    (3.7, 3, "transient"),
    (3.7 + 6 / 1440, 2, "transient"),
    (5.1, 4, "transient"),
    (6.6, 45, "customer_impact"),
    (8.2, 1, "transient"),
    (9.9, 25, "actioned"),
    (12.5, 2.5, ""),
)


@pytest.fixture
def account():
    return AwsAccountFactory(account_id="111111111111", role_arn=role_arn("111111111111"), external_id=EXTERNAL_ID)


def record(alarm, story=STORY, *, seconds=23):
    Alert.objects.bulk_create(
        Alert(
            alarm=alarm,
            opened_at=NOW - timedelta(days=days) + timedelta(seconds=seconds),
            closed_at=NOW - timedelta(days=days) + timedelta(seconds=seconds, minutes=minutes),
            outcome=outcome,
        )
        for days, minutes, outcome in story
    )


@pytest.mark.parametrize(
    ("fields", "days"),
    [
        ({}, 15),  # Lambda errors: 2 of 3 one-minute datapoints at or above 1, missing is not breaching
        ({"evaluation_periods": 1, "datapoints_to_alarm": 1, "treat_missing_data": "missing"}, 15),
        ({"evaluation_periods": 5, "datapoints_to_alarm": 5, "treat_missing_data": "ignore", "threshold": 10}, 15),
        (
            {
                "namespace": "AWS/SQS",
                "metric_name": "ApproximateAgeOfOldestMessage",
                "dimensions": {"QueueName": "orders"},
                "statistic": "Maximum",
                "period": 300,
                "evaluation_periods": 2,
                "datapoints_to_alarm": 2,
                "threshold": 900,
                "comparison_operator": "GreaterThanThreshold",
                "treat_missing_data": "missing",
            },
            63,
        ),
    ],
)
def test_the_replay_of_the_current_setting_reproduces_the_recorded_alerts(local_aws, account, fields, days):
    alarm = AlarmFactory(account=account, **fields)
    story = STORY if days == 15 else tuple((d * 4, m * 5, o) for d, m, o in STORY)
    record(alarm, story)
    assert default_days(alarm) == days

    done = demo_put_metrics(now=NOW)

    assert (done.alarms, done.alerts) == (1, len(STORY))
    answer = alarm_tuning(alarm=alarm, days=days, now=NOW)
    assert answer["resolution_seconds"] == alarm.period
    assert answer["replay"]["current_matches_recorded"] == len(STORY)
    assert answer["replay"]["current_alerts"] == len(STORY)


def test_a_noisy_alarm_gets_a_quieter_setting_that_still_fires_for_the_real_alerts(local_aws, account):
    alarm = AlarmFactory(account=account, evaluation_periods=1, datapoints_to_alarm=1)
    record(alarm)
    demo_put_metrics(now=NOW)

    answer = alarm_tuning(alarm=alarm, days=15, now=NOW)

    assert answer["suggested"] is not None, answer["reason"]
    assert answer["replay"]["suggested_alerts"] < answer["replay"]["current_alerts"] == len(STORY)
    assert answer["replay"]["real_alerts_kept"] == answer["replay"]["real_alerts"] == 3


def test_only_the_alarms_the_replay_can_read_get_their_metric(local_aws, account):
    percentile = AlarmFactory(account=account, statistic="", extended_statistic="p99", metric_name="Duration")
    stuck = AlarmFactory(account=account)
    old = AlarmFactory(account=account)  # fired only before the 15 days CloudWatch keeps one-minute data
    record(percentile)
    Alert.objects.create(alarm=stuck, opened_at=NOW - timedelta(days=9))
    Alert.objects.create(
        alarm=old, opened_at=NOW - timedelta(days=20), closed_at=NOW - timedelta(days=20) + timedelta(minutes=3)
    )

    done = demo_put_metrics(now=NOW)

    assert (done.alarms, done.percentile, done.left_out, done.datapoints) == (0, 1, 1, 0)
    for alarm in (percentile, stuck, old):
        assert alarm_tuning(alarm=alarm, days=15, now=NOW)["reason"].startswith("The metric has no datapoints")
