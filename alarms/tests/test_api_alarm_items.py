"""Alarm items of the API are rendered from plain rows; they must be exactly what the ModelSerializer gives
for the same alarms, on data with every kind of value the catalog holds."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from alarms import selectors
from alarms.api.rows import RowSerializer
from alarms.api.serializers import AlarmSerializer
from alarms.choices import AlarmState, AlarmType
from alarms.models import Alarm
from alarms.tests.factories import AlarmFactory, AwsAccountFactory, ServiceFactory, TeamFactory
from alarms.tests.local_estate import client_for

pytestmark = pytest.mark.django_db

CHANGED = datetime(2026, 11, 30, 7, 59, 58, 123456, tzinfo=UTC)


@pytest.fixture
def every_kind_of_alarm():
    """Alarms holding every kind of value: owned and unowned, metric, percentile, metric math, composite,
    deleted, replaced and replacing, datetimes with and without microseconds, awkward floats and text."""
    team = TeamFactory(slug="payments", name="Payments")
    service = ServiceFactory(slug="checkout", name="Checkout", team=team)
    other_account = AwsAccountFactory(account_id="222222222222", name="staging")
    owned = {"service": service, "owner_team": team}
    purpose = {
        "purpose_detects": "Checkout requests fail",
        "purpose_customer_impact": "Customers cannot pay",
        "purpose_action": "Roll back; page payments",
        "runbook_url": "https://runbooks.example.com/checkout?step=1&lang=fr",
        "signal_kind": "symptom",
        "tier": "page",
    }
    old = AlarmFactory(
        name="checkout-api-5xx",
        description='Ünïcødé, <b>"quotes"</b> & emoji 🚨',
        threshold=0.1,
        state=AlarmState.ALARM,
        state_reason_data={
            "version": "1.0",
            "recentDatapoints": [0.1, 2.5e-7, 1e20, -3.0],
            "evaluatedDatapoints": [{"timestamp": "2026-11-30T07:59:00.000+0000", "value": 12.0}],
            "note": "Ä\u2028line",
        },
        state_updated_at=CHANGED,
        state_transitioned_at=CHANGED - timedelta(days=3, microseconds=123456),
        configuration_updated_at=CHANGED - timedelta(days=40),
        tags={"service": "checkout", "Ключ": "значение", "empty": ""},
        stack_name="checkout-monitoring",
        **owned,
        **purpose,
    )
    successor = AlarmFactory(name="checkout-api-5xx-v2", threshold=5.0, replacement_dismissed=False, **owned)
    old.replaced_by = successor
    old.save(update_fields=["replaced_by"])
    AlarmFactory(
        name="orders-p99-latency",
        statistic="",
        extended_statistic="p99",
        unit="Milliseconds",
        evaluate_low_sample_count_percentile="ignore",
        extra_settings={"EvaluationInterval": 60},
        threshold=-273.15,
        account=other_account,
        region="us-east-1",
        actions_enabled=False,
        ok_actions=["arn:aws:sns:us-east-1:222222222222:ops"],
        insufficient_data_actions=["arn:aws:sns:us-east-1:222222222222:ops"],
        state=AlarmState.INSUFFICIENT_DATA,
        state_updated_at=None,
        replacement_dismissed=True,
        service=service,
        owner_team=None,
        tier="ticket",
    )
    AlarmFactory(
        name="orders-anomaly",
        namespace="",
        metric_name="",
        dimensions={},
        statistic="",
        period=None,
        threshold=None,
        comparison_operator="GreaterThanUpperThreshold",
        threshold_metric_id="ad1",
        evaluation_state="PARTIAL_DATA",
        metrics=[
            {
                "Id": "m1",
                "ReturnData": False,
                "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 60},
            },
            {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True, "Label": None},
        ],
        owner_team=team,
    )
    AlarmFactory(
        name="checkout-composite",
        alarm_type=AlarmType.COMPOSITE,
        namespace="",
        metric_name="",
        dimensions={},
        statistic="",
        period=None,
        evaluation_periods=None,
        datapoints_to_alarm=None,
        threshold=None,
        comparison_operator="",
        treat_missing_data="",
        alarm_rule='ALARM("checkout-api-5xx") OR ALARM("checkout-api-5xx-v2")',
        actions_suppressor="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:maintenance",
        actions_suppressor_wait_period=60,
        actions_suppressor_extension_period=0,
        alarm_actions=[],
        state_reason="",
        state_updated_at=CHANGED.replace(microsecond=0),
        **owned,
    )
    AlarmFactory(name="gone-fn-Errors", deleted_at=CHANGED + timedelta(hours=1), threshold=3.0)
    return Alarm.objects.all()


def plain_items(queryset) -> list[dict]:
    """The same alarms through the ModelSerializer, from model instances."""
    alarms = list(queryset.select_related("replaced_by", "replaces").order_by("name", "id"))
    assert all(isinstance(alarm, Alarm) for alarm in alarms)
    return json.loads(json.dumps(AlarmSerializer(alarms, many=True).data))


def assert_same_items(got: list[dict], want: list[dict]) -> None:
    assert [item["name"] for item in got] == [item["name"] for item in want]
    for fast, plain in zip(got, want, strict=True):
        assert list(fast) == list(plain), plain["name"]
        for name, value in plain.items():
            # Type too: 1 == 1.0 in Python, not in a client's JSON.
            assert (type(fast[name]), fast[name]) == (type(value), value), (plain["name"], name)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_api_list_items_are_exactly_the_model_serializer_items(settings, viewer, every_kind_of_alarm, zone):
    settings.TIME_ZONE = zone

    got = client_for(viewer).get("/api/v1/alarms/?page_size=500&deleted=all").json()["results"]

    want = plain_items(selectors.alarm_list())
    assert len(got) == 6
    assert_same_items(got, want)


def test_datetimes_are_shown_in_the_active_time_zone(settings, viewer, every_kind_of_alarm):
    settings.TIME_ZONE = "Asia/Kolkata"

    got = client_for(viewer).get("/api/v1/alarms/?arn=" + Alarm.objects.get(name="checkout-api-5xx").arn).json()

    item = got["results"][0]
    assert item["state_updated_at"] == "2026-11-30T13:29:58.123456+05:30"
    assert item["state_transitioned_at"] == "2026-11-27T13:29:58+05:30"
    settings.TIME_ZONE = "UTC"
    item = client_for(viewer).get(f"/api/v1/alarms/{item['id']}/").json()
    assert item["state_updated_at"] == "2026-11-30T07:59:58.123456Z"


def test_items_carry_the_whole_definition_and_the_replacement_links(viewer, every_kind_of_alarm):
    items = {
        item["name"]: item
        for item in client_for(viewer).get("/api/v1/alarms/?page_size=500&deleted=all").json()["results"]
    }

    old, successor = items["checkout-api-5xx"], items["checkout-api-5xx-v2"]
    assert (old["replaced_by"], old["replaces"]) == (successor["arn"], None)
    assert (successor["replaced_by"], successor["replaces"]) == (None, old["arn"])
    percentile = items["orders-p99-latency"]
    assert (percentile["statistic"], percentile["extended_statistic"], percentile["unit"]) == (
        "",
        "p99",
        "Milliseconds",
    )
    assert percentile["evaluate_low_sample_count_percentile"] == "ignore"
    assert percentile["extra_settings"] == {"EvaluationInterval": 60}
    assert (percentile["owner_team"], percentile["account_id"], percentile["replacement_dismissed"]) == (
        None,
        "222222222222",
        True,
    )
    anomaly = items["orders-anomaly"]
    assert (anomaly["threshold_metric_id"], anomaly["evaluation_state"], anomaly["threshold"]) == (
        "ad1",
        "PARTIAL_DATA",
        None,
    )
    assert anomaly["metrics"][1]["Expression"] == "ANOMALY_DETECTION_BAND(m1, 2)"
    composite = items["checkout-composite"]
    assert composite["actions_suppressor"].endswith(":alarm:maintenance")
    assert (composite["actions_suppressor_wait_period"], composite["actions_suppressor_extension_period"]) == (60, 0)
    assert old["state_reason_data"]["recentDatapoints"] == [0.1, 2.5e-7, 1e20, -3.0]
    assert old["threshold"] == 0.1 and successor["threshold"] == 5.0


def test_detail_and_patch_answer_the_same_item_as_the_list(viewer, editor, every_kind_of_alarm, settings):
    settings.TIME_ZONE = "America/St_Johns"
    alarm = Alarm.objects.get(name="checkout-api-5xx-v2")

    detail = client_for(viewer).get(f"/api/v1/alarms/{alarm.pk}/").json()
    assert_same_items([detail], plain_items(Alarm.objects.filter(pk=alarm.pk)))

    patched = client_for(editor).patch(f"/api/v1/alarms/{alarm.pk}/", {"tier": "ticket"}, format="json").json()
    assert patched["tier"] == "ticket"
    assert_same_items([patched], plain_items(Alarm.objects.filter(pk=alarm.pk)))


def test_list_and_detail_queries_stay_constant_with_links_and_owners(
    viewer, every_kind_of_alarm, django_assert_num_queries
):
    api = client_for(viewer)
    replaced = Alarm.objects.get(name="checkout-api-5xx")

    # The token, the count, the page: related slugs and replacement links come with the page's rows.
    with django_assert_num_queries(3):
        assert len(api.get("/api/v1/alarms/?page_size=500&deleted=all").json()["results"]) == 6
    with django_assert_num_queries(2):
        assert api.get(f"/api/v1/alarms/{replaced.pk}/").json()["replaced_by"]


class _Unmappable(RowSerializer):
    class Meta:
        model = Alarm
        fields = ["id", "has_purpose"]


class _ThroughNullableRelation(RowSerializer):
    team_name = serializers.CharField(source="owner_team.name", read_only=True)

    class Meta:
        model = Alarm
        fields = ["id", "team_name"]


@pytest.mark.parametrize("serializer_class", [_Unmappable, _ThroughNullableRelation])
def test_a_declaration_rows_cannot_render_exactly_is_refused(serializer_class):
    with pytest.raises(ImproperlyConfigured):
        serializer_class.plan()
