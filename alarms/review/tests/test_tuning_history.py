"""Reading an alarm's metric with GetMetricData: what moto cannot show (paging with NextToken, CloudWatch's
retention tiers, anomaly bands, refusals), checked with botocore's Stubber and responses shaped like AWS's."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import EndpointConnectionError

from alarms.choices import AlarmType
from alarms.review.tests.stubbed_aws import stubbed_cloudwatch
from alarms.review.tuning import history as history_module
from alarms.review.tuning.history import HistoryUnavailable, metric_history, resolution_for
from alarms.tests.factories import AlarmFactory, AwsAccountFactory

pytestmark = pytest.mark.django_db

ACCOUNT, REGION = "111111111111", "eu-west-1"
NOW = datetime(2026, 11, 30, 12, 34, 56, tzinfo=UTC)


@pytest.fixture
def cloudwatch(monkeypatch, settings):
    """The portal's own cached CloudWatch client for the account, with a Stubber in front of it."""
    settings.OKAMI_AWS_THROTTLE_BACKOFF_SECONDS = 0.001
    settings.OKAMI_AWS_THROTTLE_RETRIES = 1
    with stubbed_cloudwatch(monkeypatch, account_id=ACCOUNT, region=REGION) as stubber:
        yield stubber


@pytest.fixture
def alarm():
    """orders-fn Errors, Sum over 60 s, alarming on 2 of 3 at 1 or more."""
    return AlarmFactory(account=AwsAccountFactory(account_id=ACCOUNT), region=REGION, name="orders-fn-Errors")


def floor(moment: datetime, step: int) -> datetime:
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % step, tz=UTC)


def result(query_id: str, points: dict[datetime, float], *, status="Complete", label="Errors") -> dict:
    return {
        "Id": query_id,
        "Label": label,
        "Timestamps": list(points),
        "Values": list(points.values()),
        "StatusCode": status,
    }


def request(queries, *, days: int, step: int, token: str | None = None) -> dict:
    params = {
        "MetricDataQueries": queries,
        "StartTime": floor(NOW - timedelta(days=days), step),
        "EndTime": floor(NOW, step),
        "ScanBy": "TimestampAscending",
        "MaxDatapoints": 100_800,
    }
    if token:
        params["NextToken"] = token
    return params


def errors_query(step: int) -> list[dict]:
    return [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Errors",
                    "Dimensions": [{"Name": "FunctionName", "Value": "orders-fn"}],
                },
                "Period": step,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
    ]


@pytest.mark.parametrize(
    ("days", "period", "step"),
    [
        (10, 60, 60),  # 1-minute data is kept 15 days
        (15, 60, 60),
        (30, 60, 300),  # 5-minute data 63 days
        (90, 60, 3600),  # hourly data 455 days
        (400, 60, 3600),
        (10, 300, 300),  # never finer than the alarm's own period
        (30, 600, 600),
        (90, 7200, 7200),
    ],
)
def test_the_finest_resolution_kept_for_the_whole_window_and_never_finer_than_the_period(days, period, step):
    assert resolution_for(days, period) == step


def test_a_window_longer_than_cloudwatch_keeps_data_is_refused():
    with pytest.raises(HistoryUnavailable, match="455 days"):
        resolution_for(456, 60)


@pytest.mark.parametrize(("days", "step"), [(10, 60), (30, 300), (90, 3600), (400, 3600)])
def test_the_request_reads_the_alarms_metric_at_the_chosen_step(cloudwatch, alarm, days, step):
    start = floor(NOW - timedelta(days=days), step)
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m1", {start: 4.0, start + timedelta(seconds=2 * step): 1.0})]},
        request(errors_query(step), days=days, step=step),
    )

    found = metric_history(alarm=alarm, days=days, now=NOW, sleep=lambda _: None)

    cloudwatch.assert_no_pending_responses()
    assert found.resolution_seconds == step
    assert found.series.step == step and found.series.start == start
    assert len(found.series.values) == days * 86400 // step
    assert found.series.values[:4] == (4.0, None, 1.0, None)


def test_pages_are_followed_with_next_token_and_gaps_stay_none(cloudwatch, alarm):
    start = floor(NOW - timedelta(days=1), 60)
    at = [start + timedelta(minutes=i) for i in range(6)]
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m1", {at[0]: 1.0, at[1]: 2.0}, status="PartialData")], "NextToken": "page-2"},
        request(errors_query(60), days=1, step=60),
    )
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m1", {at[4]: 5.0, at[5]: 0.0})]},
        request(errors_query(60), days=1, step=60, token="page-2"),
    )

    found = metric_history(alarm=alarm, days=1, now=NOW, sleep=lambda _: None)

    cloudwatch.assert_no_pending_responses()
    assert found.series.values[:7] == (1.0, 2.0, None, None, 5.0, 0.0, None)
    assert len(found.series.values) == 1440


def test_a_second_read_of_the_same_alarm_and_window_comes_from_the_cache(cloudwatch, alarm):
    start = floor(NOW - timedelta(days=1), 60)
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("m1", {start: 3.0})]},
        request(errors_query(60), days=1, step=60),
    )
    first = metric_history(alarm=alarm, days=1, now=NOW, sleep=lambda _: None)

    # Not a single response left to give: a second call to AWS would fail the test.
    again = metric_history(alarm=alarm, days=1, now=NOW + timedelta(seconds=2), sleep=lambda _: None)

    assert again == first
    cloudwatch.assert_no_pending_responses()


def test_a_changed_definition_is_read_again(cloudwatch, alarm):
    for value in (3.0, 7.0):
        start = floor(NOW - timedelta(days=1), 60)
        cloudwatch.add_response("get_metric_data", {"MetricDataResults": [result("m1", {start: value})]}, None)
    first = metric_history(alarm=alarm, days=1, now=NOW, sleep=lambda _: None)
    alarm.statistic = "Maximum"
    second = metric_history(alarm=alarm, days=1, now=NOW, sleep=lambda _: None)

    assert (first.series.values[0], second.series.values[0]) == (3.0, 7.0)
    cloudwatch.assert_no_pending_responses()


def test_metric_math_is_sent_as_the_alarm_defines_it_and_its_returned_expression_read(cloudwatch, alarm):
    alarm.metric_name = alarm.namespace = alarm.statistic = ""
    alarm.period = None
    alarm.metrics = [
        {
            "Id": "errors",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": []},
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {
            "Id": "calls",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"},
                "Period": 300,
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {"Id": "rate", "Expression": "100 * errors / calls", "Label": "Error rate", "ReturnData": True},
    ]
    alarm.save()
    start = floor(NOW - timedelta(days=10), 300)
    cloudwatch.add_response(
        "get_metric_data",
        {"MetricDataResults": [result("rate", {start: 12.5, start + timedelta(minutes=5): 0.0}, label="Error rate")]},
        request(alarm.metrics, days=10, step=300),
    )

    found = metric_history(alarm=alarm, days=10, now=NOW, sleep=lambda _: None)

    cloudwatch.assert_no_pending_responses()
    assert found.resolution_seconds == 300  # the queries' period, finer data notwithstanding
    assert found.series.values[:3] == (12.5, 0.0, None)


def test_an_anomaly_band_alarm_reads_the_metric_and_both_bounds(cloudwatch, alarm):
    alarm.metric_name = alarm.namespace = alarm.statistic = ""
    alarm.period = None
    alarm.threshold = None
    alarm.comparison_operator = "GreaterThanUpperThreshold"
    alarm.threshold_metric_id = "ad1"
    alarm.metrics = [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Duration"},
                "Period": 300,
                "Stat": "p99",
            },
            "ReturnData": True,
        },
        {
            "Id": "ad1",
            "Expression": "ANOMALY_DETECTION_BAND(m1, 2)",
            "Label": "Duration (expected)",
            "ReturnData": True,
        },
    ]
    alarm.save()
    start = floor(NOW - timedelta(days=10), 300)
    later = start + timedelta(minutes=5)
    cloudwatch.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                result("m1", {start: 900.0, later: 300.0}),
                result("ad1", {start: 500.0, later: 520.0}, label="Duration (expected) High"),
                result("ad1", {start: 100.0, later: 120.0}, label="Duration (expected) Low"),
            ]
        },
        request(alarm.metrics, days=10, step=300),
    )

    found = metric_history(alarm=alarm, days=10, now=NOW, sleep=lambda _: None)

    assert found.series.values[:2] == (900.0, 300.0)
    assert found.band.upper[:3] == (500.0, 520.0, None)
    assert found.band.lower[:3] == (100.0, 120.0, None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"alarm_type": AlarmType.COMPOSITE}, "composite alarm"),
        ({"metrics": [{"Id": "q", "Expression": 'SELECT MAX(Errors) FROM "AWS/Lambda"', "Period": 60}]}, "SELECT"),
        ({"extra_settings": {"EvaluationCriteria": {"PromQLCriteria": {"Query": "up == 0"}}}}, "PromQL"),
        (
            {"metrics": [{"Id": "a", "Expression": "m1", "ReturnData": True}, {"Id": "b", "Expression": "m1"}]},
            "exactly one",
        ),
    ],
)
def test_alarms_the_replay_cannot_read_are_refused_before_any_call(cloudwatch, alarm, change, reason):
    for name, value in change.items():
        setattr(alarm, name, value)

    with pytest.raises(HistoryUnavailable, match=reason):
        metric_history(alarm=alarm, days=10, now=NOW, sleep=lambda _: None)
    cloudwatch.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "message"),
    [("AccessDenied", "AWS refused to read the metric: AccessDenied"), ("Throttling", "throttled")],
)
def test_aws_refusals_become_a_reason_without_the_aws_message(cloudwatch, alarm, code, message):
    for _ in range(2):  # throttling is retried once (settings above); a refusal is not
        cloudwatch.add_client_error(
            "get_metric_data", service_error_code=code, service_message=f"arn:aws:iam::{ACCOUNT}:role/Secret said no"
        )

    with pytest.raises(HistoryUnavailable, match=message) as caught:
        metric_history(alarm=alarm, days=1, now=NOW, sleep=lambda _: None)
    assert "Secret" not in str(caught.value)


def test_an_unreachable_aws_becomes_a_reason(monkeypatch, alarm):
    class Unreachable:
        def get_metric_data(self, **params):
            raise EndpointConnectionError(endpoint_url="https://monitoring.eu-west-1.amazonaws.com/")

    monkeypatch.setattr(history_module.aws, "client", lambda *args, **kwargs: Unreachable())

    with pytest.raises(HistoryUnavailable, match="Could not reach AWS"):
        metric_history(alarm=alarm, days=1, now=NOW, sleep=lambda _: None)


def test_calls_are_paced_to_the_quota(cloudwatch, alarm):
    start = floor(NOW - timedelta(days=1), 60)
    for token in ("a", "b", None):
        page = {"MetricDataResults": [result("m1", {start: 1.0})]}
        if token:
            page["NextToken"] = token
        cloudwatch.add_response("get_metric_data", page, None)
    waits = []

    metric_history(alarm=alarm, days=1, now=NOW, sleep=waits.append)

    # Three calls in quick succession: the second and third wait for their fiftieth of a second.
    assert len(waits) == 2 and all(0 < wait <= 1 / 50 for wait in waits)
