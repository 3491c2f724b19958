"""GET /api/v1/alarms/{id}/tuning/ end to end: the metric put into the local AWS with PutMetricData, read back
with GetMetricData, replayed against the alerts the portal recorded; what moto cannot answer (anomaly bands,
refusals) from botocore's Stubber. Every bad input gets its reason, never a 500."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from django.urls import resolve, reverse
from rest_framework.test import APIClient

from alarms import aws
from alarms.choices import AlarmType
from alarms.review import tuning_api
from alarms.review.models import Review, ReviewItem
from alarms.review.services.tuning import review_items_replay
from alarms.review.tests.stubbed_aws import stubbed_cloudwatch
from alarms.review.tuning import history as history_module
from alarms.tests.factories import AlarmFactory, AwsAccountFactory, TeamFactory
from incidents.models import Alert
from portal.localaws import MANAGEMENT_ACCOUNT

pytestmark = pytest.mark.django_db

REGION = "eu-west-1"
NAMESPACE = "Okami/Orders"
DIMENSIONS = {"FunctionName": "orders-fn"}
SPIKES = (100, 250, 400, 700, 900, 1100)  # minutes into the day: one-minute blips of 2 errors
INCIDENTS = (200, 600, 1000)  # five minutes of 10 errors each: someone acted on these


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@pytest.fixture
def api(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture
def account():
    return AwsAccountFactory(account_id=MANAGEMENT_ACCOUNT, regions=[REGION])


@pytest.fixture
def errors_alarm(account):
    """Errors ≥ 1 in one minute: alarms on every blip."""
    return AlarmFactory(
        account=account,
        region=REGION,
        name="orders-fn-Errors",
        namespace=NAMESPACE,
        metric_name="Errors",
        dimensions=DIMENSIONS,
        statistic="Sum",
        period=60,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=1.0,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="notBreaching",
    )


def put_day_of_errors(start: datetime) -> None:
    """A day of the metric, one datapoint a minute: 0, with blips and incidents."""
    values = [0.0] * 1440
    for minute in SPIKES:
        values[minute] = 2.0
    for minute in INCIDENTS:
        values[minute : minute + 5] = [10.0] * 5
    cloudwatch = aws.client("cloudwatch", access=aws.AccountAccess(MANAGEMENT_ACCOUNT), region=REGION)
    data = [
        {
            "MetricName": "Errors",
            "Dimensions": [{"Name": k, "Value": v} for k, v in DIMENSIONS.items()],
            "Timestamp": start + timedelta(minutes=i),
            "Value": value,
        }
        for i, value in enumerate(values)
    ]
    for first in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[first : first + 1000])


def record_alerts(alarm, start: datetime) -> None:
    """The alerts the alarm raised, as the portal recorded them: each opens when its first breaching minute is
    complete; the incidents were actioned, the blips went away by themselves."""
    alerts = [(minute, 1, "transient") for minute in SPIKES] + [(minute, 5, "actioned") for minute in INCIDENTS]
    Alert.objects.bulk_create(
        Alert(
            alarm=alarm,
            opened_at=start + timedelta(minutes=minute + 1),
            closed_at=start + timedelta(minutes=minute + 1 + length),
            outcome=outcome,
        )
        for minute, length, outcome in alerts
    )


@pytest.fixture
def day_of_errors(local_aws, errors_alarm):
    start = minute_floor(datetime.now(UTC)) - timedelta(days=1)
    put_day_of_errors(start)
    record_alerts(errors_alarm, start)
    return errors_alarm


def tuning(api, alarm, **params):
    return api.get(reverse("alarm-tuning", args=[alarm.pk]), params)


def test_the_route_is_the_tuning_view_not_the_alarm_router():
    url = reverse("alarm-tuning", args=[42])
    assert url == "/api/v1/alarms/42/tuning/"
    assert resolve(url).func.view_class is tuning_api.AlarmTuningView


def test_login_is_required(errors_alarm):
    response = APIClient().get(reverse("alarm-tuning", args=[errors_alarm.pk]))
    assert response.status_code in (401, 403)


def test_a_quieter_setting_that_keeps_every_actioned_alert_is_suggested(api, day_of_errors):
    response = tuning(api, day_of_errors, days=2)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["alarm_arn"] == day_of_errors.arn
    assert body["current"] == {
        "threshold": 1.0,
        "period": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "statistic": "Sum",
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching",
    }
    assert body["resolution_seconds"] == 60
    replay = body["replay"]
    # The replay of today's setting reproduces the nine recorded alerts.
    assert replay["current_alerts"] == 9 and replay["current_matches_recorded"] == 9
    assert body["suggested"] is not None, body["reason"]
    assert replay["suggested_alerts"] == 3
    assert replay["real_alerts"] == 3 and replay["real_alerts_kept"] == 3
    assert replay["max_delay_seconds"] <= 900
    assert set(replay) >= {"from", "to"}
    assert body["reason"]


def test_the_default_window_is_what_cloudwatch_keeps_at_the_alarms_period(api, day_of_errors, settings):
    settings.OKAMI_REVIEW_LOOKBACK_DAYS = 90

    body = tuning(api, day_of_errors).json()

    # 90 days exist at one hour only: a one-minute alarm is replayed over its 15 days of one-minute data.
    assert body["resolution_seconds"] == 60
    assert body["suggested"] is not None
    assert (body["replay"]["current_alerts"], body["replay"]["real_alerts_kept"]) == (9, 3)


def test_a_window_longer_than_cloudwatch_keeps_at_the_period_says_which_would_replay(api, day_of_errors):
    body = tuning(api, day_of_errors, days=16).json()

    # 16 days are kept at 5 minutes only: a one-minute alarm cannot be replayed faithfully from them.
    assert body["resolution_seconds"] == 300
    assert body["suggested"] is None
    assert "15 days or fewer" in body["reason"]


def test_the_tune_decision_preview_replays_the_proposed_setting(api, day_of_errors):
    review = Review.objects.create(team=TeamFactory(), week="2026-W48", opened_at=datetime.now(UTC), lookback_days=90)
    item = ReviewItem.objects.create(review=review, alarm=day_of_errors, rule="transient", evidence={}, suggestion={})
    url = reverse("review-item-tuning-preview", args=[review.pk, item.pk])

    body = api.get(url, {"threshold": "5", "days": 2}).json()
    too_far = api.get(url, {"threshold": "50", "days": 2}).json()
    refused = api.get(url, {"datapoints_to_alarm": "4", "days": 2})

    assert (body["alerts"], body["current_alerts"], body["real_alerts"], body["real_alerts_kept"]) == (3, 9, 3, 3)
    assert (too_far["alerts"], too_far["real_alerts_kept"]) == (0, 0)
    assert refused.status_code == 400  # 4 datapoints of 1 evaluation period: the decision refuses it too


def test_a_metric_without_data_gets_a_reason(api, local_aws, errors_alarm):
    response = tuning(api, errors_alarm, days=3)

    assert response.status_code == 200
    assert response.json()["suggested"] is None
    assert "no datapoints" in response.json()["reason"]


@pytest.mark.parametrize("days", ["0", "456", "-3", "ninety", ""])
def test_days_outside_1_to_455_is_a_400(api, errors_alarm, days):
    response = tuning(api, errors_alarm, days=days)

    assert response.status_code == 400
    assert "from 1 to 455" in response.json()["errors"]["days"][0]


def test_a_composite_alarm_has_no_suggestion(api, account):
    composite = AlarmFactory(account=account, alarm_type=AlarmType.COMPOSITE, alarm_rule='ALARM("a")', period=None)

    body = tuning(api, composite, days=10).json()

    assert body["suggested"] is None and body["current"] is None
    assert "composite alarm" in body["reason"]


def test_a_metrics_insights_alarm_says_it_is_not_supported(api, errors_alarm):
    errors_alarm.metrics = [{"Id": "q", "Expression": 'SELECT SUM(Errors) FROM "AWS/Lambda"', "Period": 60}]
    errors_alarm.save()

    body = tuning(api, errors_alarm, days=10).json()

    assert body["suggested"] is None
    assert "does not support" in body["reason"]


def test_an_unknown_alarm_is_a_404(api):
    assert api.get(reverse("alarm-tuning", args=[999999])).status_code == 404


# --- what moto cannot answer ---------------------------------------------------------------------


@pytest.fixture
def cloudwatch(monkeypatch, settings, account):
    settings.OKAMI_AWS_THROTTLE_RETRIES = 0
    with stubbed_cloudwatch(monkeypatch, account_id=MANAGEMENT_ACCOUNT, region=REGION) as stubber:
        yield stubber


def test_an_anomaly_detection_alarm_is_tuned_in_m_of_n_only(api, cloudwatch, errors_alarm):
    alarm = errors_alarm
    alarm.period, alarm.threshold, alarm.statistic, alarm.metric_name, alarm.namespace = None, None, "", "", ""
    alarm.comparison_operator = "GreaterThanUpperThreshold"
    alarm.threshold_metric_id = "ad1"
    alarm.metrics = [
        {
            "Id": "m1",
            "MetricStat": {"Metric": {"Namespace": NAMESPACE, "MetricName": "Latency"}, "Period": 300, "Stat": "p99"},
            "ReturnData": True,
        },
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True},
    ]
    alarm.save()
    now = datetime.now(UTC)
    seconds = int((now - timedelta(days=10)).timestamp())
    start = datetime.fromtimestamp(seconds - seconds % 300, tz=UTC)
    at = [start + timedelta(minutes=5 * i) for i in range(2880)]
    values = [50.0] * 2880
    blips, incidents = (300, 700, 1100, 1500, 1900, 2300), (500, 1300, 2100)
    for i in blips:
        values[i] = 150.0
    for i in incidents:
        values[i : i + 4] = [200.0] * 4
    cloudwatch.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "m1", "Label": "Latency", "Timestamps": at, "Values": values, "StatusCode": "Complete"},
                {"Id": "ad1", "Label": "High", "Timestamps": at, "Values": [100.0] * 2880, "StatusCode": "Complete"},
                {"Id": "ad1", "Label": "Low", "Timestamps": at, "Values": [0.0] * 2880, "StatusCode": "Complete"},
            ]
        },
        None,
    )
    outcomes = [(i, 1, "transient") for i in blips] + [(i, 4, "actioned") for i in incidents]
    Alert.objects.bulk_create(
        Alert(
            alarm=alarm,
            opened_at=at[i] + timedelta(minutes=5),
            closed_at=at[i] + timedelta(minutes=5 * (n + 1)),
            outcome=outcome,
        )
        for i, n, outcome in outcomes
    )

    body = tuning(api, alarm, days=10).json()

    assert body["current"]["threshold"] is None
    assert body["suggested"] is not None, body["reason"]
    assert body["suggested"]["threshold"] is None  # no static threshold to move: only M of N
    assert body["suggested"]["datapoints_to_alarm"] > 1
    assert (body["replay"]["current_alerts"], body["replay"]["suggested_alerts"]) == (9, 3)


@pytest.mark.parametrize(("code", "reason"), [("AccessDenied", "AccessDenied"), ("Throttling", "throttled")])
def test_aws_refusing_is_a_reason_not_a_500(api, cloudwatch, errors_alarm, code, reason):
    cloudwatch.add_client_error("get_metric_data", service_error_code=code, service_message="no")

    response = tuning(api, errors_alarm, days=10)

    assert response.status_code == 200
    assert response.json()["suggested"] is None and reason in response.json()["reason"]


def test_aws_unreachable_is_a_reason_not_a_500(api, monkeypatch, errors_alarm):
    class Unreachable:
        def get_metric_data(self, **params):
            raise EndpointConnectionError(endpoint_url="https://monitoring.eu-west-1.amazonaws.com/")

    monkeypatch.setattr(history_module.aws, "client", lambda *args, **kwargs: Unreachable())

    response = tuning(api, errors_alarm, days=10)

    assert response.status_code == 200
    assert "Could not reach AWS" in response.json()["reason"]


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_draws_the_metric_with_both_thresholds_and_their_alerts(client, viewer, day_of_errors):
    day_of_errors.name = "orders-<script>alert(1)</script>"
    day_of_errors.save()
    client.force_login(viewer)

    response = client.get(reverse("alarm-tuning-page", args=[day_of_errors.pk]), {"days": 2})

    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "<polyline" in page
    assert 'class="threshold-current"' in page and 'class="threshold-suggested"' in page
    assert page.count('class="episode-current"') == 9 and page.count('class="episode-suggested"') == 3
    assert "<script>alert(1)" not in page


def test_the_page_needs_login_and_refuses_a_bad_window(client, viewer, errors_alarm):
    url = reverse("alarm-tuning-page", args=[errors_alarm.pk])
    assert client.get(url).status_code == 302

    client.force_login(viewer)
    response = client.get(url, {"days": "999"})

    assert response.status_code == 400
    assert "from 1 to 455" in response.content.decode()


def test_the_alarm_page_links_to_its_tuning(client, viewer, errors_alarm):
    client.force_login(viewer)
    page = client.get(reverse("alarm-detail", args=[errors_alarm.pk])).content.decode()
    assert reverse("alarm-tuning-page", args=[errors_alarm.pk]) in page


# --- the review's items -------------------------------------------------------------------------


def transient_item(alarm, *, lookback_days: int) -> ReviewItem:
    review = Review.objects.create(
        team=TeamFactory(), week="2026-W48", opened_at=datetime.now(UTC), lookback_days=lookback_days
    )
    estimate = {"action": "tune", "datapoints_to_alarm": 2, "evaluation_periods": 2, "text": "6 of its 9 alerts..."}
    return ReviewItem.objects.create(review=review, alarm=alarm, rule="transient", evidence={}, suggestion=estimate)


def test_an_opened_review_replays_its_transient_items_after_commit(
    monkeypatch, catalog, django_capture_on_commit_callbacks
):
    from alarms.review.services import workflow

    queued = []
    monkeypatch.setattr(workflow.review_items_replay_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        review, created = workflow.review_open(team=catalog["team"], week="2026-W48")

    assert created and queued == [review.pk]


def test_a_transient_item_gets_the_replayed_setting_and_figures(day_of_errors):
    item = transient_item(day_of_errors, lookback_days=2)

    assert review_items_replay(review_id=item.review_id) == 1

    item.refresh_from_db()
    replay = item.suggestion["replay"]
    assert replay["days"] == 2 and replay["resolution_seconds"] == 60
    assert replay["setting"] is not None and item.suggestion["setting"] == replay["setting"]
    assert (replay["current_alerts"], replay["suggested_alerts"], replay["real_alerts_kept"]) == (9, 3, 3)
    assert (
        item.suggestion["text"].startswith("6 of its 9 alerts...")
        and "Replayed over its metric" in item.suggestion["text"]
    )


def test_a_long_lookback_is_cut_to_what_cloudwatch_keeps_at_the_alarms_period(day_of_errors):
    item = transient_item(day_of_errors, lookback_days=90)

    review_items_replay(review_id=item.review_id)

    item.refresh_from_db()
    assert item.suggestion["replay"]["days"] == 15  # one-minute datapoints are kept 15 days
    assert item.suggestion["replay"]["resolution_seconds"] == 60


def test_aws_unreachable_keeps_the_items_estimate_and_says_why(monkeypatch, errors_alarm):
    class Unreachable:
        def get_metric_data(self, **params):
            raise EndpointConnectionError(endpoint_url="https://monitoring.eu-west-1.amazonaws.com/")

    monkeypatch.setattr(history_module.aws, "client", lambda *args, **kwargs: Unreachable())
    item = transient_item(errors_alarm, lookback_days=90)

    review_items_replay(review_id=item.review_id)

    item.refresh_from_db()
    assert item.suggestion["datapoints_to_alarm"] == 2 and "setting" not in item.suggestion
    assert item.suggestion["replay"]["setting"] is None
    assert "Could not reach AWS" in item.suggestion["replay"]["reason"]
