"""Write-back: PutMetricAlarm and PutCompositeAlarm replace a whole definition, so an alarm synced through the
real sync path must rebuild into exactly the parameters that created it, for every kind of alarm.

The local AWS keeps metric alarms faithfully; composite alarms, and the state fields it does not return
(StateTransitionedTimestamp, EvaluationState, real reason data), go through botocore's Stubber with
DescribeAlarms items built from the creation parameters the way AWS builds them.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from django.utils import timezone
from django.utils.timezone import localtime

from alarms import aws
from alarms.aws.writeback import put_alarm_call, put_composite_alarm_params, put_metric_alarm_params
from alarms.choices import SyncStatus
from alarms.models import Alarm, AwsAccount
from alarms.services.sync import sync_alarms
from alarms.tests.factories import AlarmFactory
from alarms.tests.local_estate import ACCOUNTS, REGIONS, member, register_accounts

pytestmark = pytest.mark.django_db

ACCOUNT, REGION = ACCOUNTS[0], REGIONS[0]
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}"
FIXTURES = Path(__file__).parent / "fixtures" / "eventbridge"


def eventbridge(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["detail"]


def metric_query(query: dict) -> dict:
    """An EventBridge (camelCase, dimensions as a map) metric query in PutMetricAlarm's shape."""
    result = {"Id": query["id"], "ReturnData": query["returnData"]}
    if "expression" in query:
        result["Expression"] = query["expression"]
    if "label" in query:
        result["Label"] = query["label"]
    if "metricStat" in query:
        stat, metric = query["metricStat"], query["metricStat"]["metric"]
        dimensions = [{"Name": k, "Value": v} for k, v in metric.get("dimensions", {}).items()]
        result["MetricStat"] = {
            "Metric": {"Namespace": metric["namespace"], "MetricName": metric["name"], "Dimensions": dimensions},
            "Period": stat["period"],
            "Stat": stat["stat"],
        }
    return result


ANOMALY_EVENT = eventbridge("03-state-change-for-an-anomaly-detection-alarm.json")
COMPOSITE_EVENT = eventbridge("06-creation-of-a-composite-alarm-with-a-suppressor-alarm.json")

EVERY_FIELD = {
    "AlarmName": "orders-api-p99-latency",
    "AlarmDescription": "Orders API is slow for customers",
    "ActionsEnabled": False,
    "OKActions": [f"{TOPIC}:ops-ok"],
    "AlarmActions": [f"{TOPIC}:ops-page", f"{TOPIC}:ops-log"],
    "InsufficientDataActions": [f"{TOPIC}:ops-gaps"],
    "MetricName": "Latency",
    "Namespace": "AWS/ApiGateway",
    "ExtendedStatistic": "p99",
    "Dimensions": [{"Name": "ApiName", "Value": "orders-api"}, {"Name": "Stage", "Value": "prod"}],
    "Period": 300,
    "Unit": "Milliseconds",
    "EvaluationPeriods": 5,
    "DatapointsToAlarm": 3,
    "Threshold": 2500.5,
    "ComparisonOperator": "GreaterThanThreshold",
    "TreatMissingData": "breaching",
    "EvaluateLowSampleCountPercentile": "ignore",
    "Tags": [{"Key": "service", "Value": "orders"}, {"Key": "team", "Value": "payments"}],
}
# Nothing optional: what AWS did not return must not be sent back empty.
MINIMAL = {
    "AlarmName": "search-query-Errors",
    "ActionsEnabled": True,
    "MetricName": "Errors",
    "Namespace": "AWS/Lambda",
    "Statistic": "Sum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 0.0,
    "ComparisonOperator": "GreaterThanThreshold",
}
METRIC_MATH = {
    "AlarmName": "checkout-error-rate",
    "ActionsEnabled": True,
    "AlarmActions": [f"{TOPIC}:payments-alerts"],
    "Metrics": [
        {"Id": "e1", "Expression": "100 * errors / invocations", "Label": "Error rate (%)", "ReturnData": True},
        *(
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "FunctionName", "Value": "checkout-createOrder"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }
            for query_id, metric in (("errors", "Errors"), ("invocations", "Invocations"))
        ),
    ],
    "EvaluationPeriods": 5,
    "DatapointsToAlarm": 2,
    "Threshold": 5.0,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "notBreaching",
}
ANOMALY_BAND = {
    "AlarmName": ANOMALY_EVENT["alarmName"],
    "AlarmDescription": ANOMALY_EVENT["configuration"]["description"],
    "ActionsEnabled": True,
    "AlarmActions": [f"{TOPIC}:ops-page"],
    "Metrics": [metric_query(query) for query in ANOMALY_EVENT["configuration"]["metrics"]],
    "ThresholdMetricId": "ad1",
    "EvaluationPeriods": 1,
    "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
    "TreatMissingData": "ignore",
}
# Settings AWS added later (warm-up, wall-clock window, evaluation interval, tags in notifications).
NEWER_SETTINGS = {
    **MINIMAL,
    "AlarmName": "billing-daily-Errors",
    "Period": 3600,
    "WarmUpConfiguration": {"WarmUpPeriodDurationInMinutes": 30, "OnlyStartEvaluatingAfterWarmUpPeriodEnds": True},
    "EvaluationWindow": {"WallClockWindow": {"Timezone": "Europe/Paris"}},
    "EvaluationInterval": 300,
    "ActionConfiguration": {"AlarmTagsPropagation": {"Enabled": True, "IncludedTagKeys": ["team", "service"]}},
}
# A PromQL alarm: a query instead of a metric, no threshold or comparison of its own.
PROMQL = {
    "AlarmName": "checkout-latency-promql",
    "ActionsEnabled": True,
    "AlarmActions": [f"{TOPIC}:ops-page"],
    "EvaluationCriteria": {
        "PromQLCriteria": {
            "Query": 'histogram_quantile(0.99, rate(http_request_duration_seconds_bucket{job="checkout"}[5m])) > 2',
            "PendingPeriod": 300,
            "RecoveryPeriod": 600,
        }
    },
    "EvaluationInterval": 60,
}
COMPOSITE = {
    "AlarmName": COMPOSITE_EVENT["alarmName"],
    "AlarmDescription": "The service is down for customers",
    "ActionsEnabled": COMPOSITE_EVENT["configuration"]["actionsEnabled"],
    "AlarmActions": [f"{TOPIC}:ops-page"],
    "OKActions": [f"{TOPIC}:ops-ok"],
    "InsufficientDataActions": [f"{TOPIC}:ops-gaps"],
    "AlarmRule": COMPOSITE_EVENT["configuration"]["alarmRule"],
    "ActionsSuppressor": COMPOSITE_EVENT["configuration"]["actionsSuppressor"],
    "ActionsSuppressorWaitPeriod": COMPOSITE_EVENT["configuration"]["actionsSuppressorWaitPeriod"],
    "ActionsSuppressorExtensionPeriod": COMPOSITE_EVENT["configuration"]["actionsSuppressorExtensionPeriod"],
    "Tags": [{"Key": "team", "Value": "platform"}],
    "ActionConfiguration": {"AlarmTagsPropagation": {"Enabled": True, "ExcludedTagKeys": ["cost-centre"]}},
}


def valid_input(operation: str, params: dict) -> None:
    """Raise unless botocore's model of the operation accepts the parameters."""
    model = aws.client("cloudwatch", access=aws.AccountAccess(ACCOUNT), region=REGION).meta.service_model
    validate_parameters(params, model.operation_model(operation).input_shape)


# Through the local AWS, with the real sync path.


@pytest.mark.parametrize(
    "params", [EVERY_FIELD, MINIMAL, METRIC_MATH, ANOMALY_BAND], ids=["every-field", "minimal", "math", "band"]
)
def test_metric_alarm_writes_back_exactly_as_it_was_created(local_aws, params):
    register_accounts()
    aws.client("cloudwatch", access=member(ACCOUNT), region=REGION).put_metric_alarm(**params)

    run = sync_alarms(account=AwsAccount.objects.get(account_id=ACCOUNT), region=REGION)

    assert run.status == SyncStatus.SUCCEEDED, run.error
    alarm = Alarm.objects.get(name=params["AlarmName"])
    assert put_metric_alarm_params(alarm) == params
    assert put_alarm_call(alarm) == ("PutMetricAlarm", params)
    valid_input("PutMetricAlarm", params)


# Through botocore's Stubber, with DescribeAlarms items shaped like AWS's.

UPDATED = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
TRANSITIONED = datetime(2026, 11, 18, 22, 40, tzinfo=UTC)
STACK_TAGS = [
    {"Key": "aws:cloudformation:stack-name", "Value": "service-monitoring"},
    {"Key": "aws:cloudformation:logical-id", "Value": "AggregatedAlarm"},
]


def described(params: dict) -> dict:
    """The DescribeAlarms item AWS returns for an alarm created with ``params``: every action list, the
    state (in ALARM since TRANSITIONED, its reason re-evaluated at UPDATED), no tags."""
    item = {key: value for key, value in params.items() if key != "Tags"}
    item.update(
        AlarmArn=f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{params['AlarmName']}",
        AlarmConfigurationUpdatedTimestamp=TRANSITIONED,
        StateValue="ALARM",
        StateReason=ANOMALY_EVENT["state"]["reason"],
        StateReasonData=ANOMALY_EVENT["state"]["reasonData"],
        StateUpdatedTimestamp=UPDATED,
        StateTransitionedTimestamp=TRANSITIONED,
    )
    for actions in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        item.setdefault(actions, [])
    if "AlarmRule" in params:
        item["ActionsSuppressedBy"] = "None"
    else:
        item["EvaluationState"] = "PARTIAL_DATA"
        item.setdefault("Dimensions", [])
    return item


@pytest.fixture
def stubbed(monkeypatch):
    """The cached boto3 clients of the account, each with a Stubber; whose credentials these are (STS) is
    answered for the account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "stub")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.forget_sessions()
    access = aws.AccountAccess(ACCOUNT)
    clients = {
        name: aws.client(name, access=access, region=REGION)
        for name in ("cloudwatch", "resourcegroupstaggingapi", "sts")
    }
    monkeypatch.setattr(aws, "client", lambda service, **kwargs: clients[service])
    identity = {
        "UserId": "AROAEXAMPLEID:okami",
        "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/okami/okami",
    }
    with Stubber(clients["cloudwatch"]) as cloudwatch, Stubber(clients["resourcegroupstaggingapi"]) as tagging:
        with Stubber(clients["sts"]) as sts:
            sts.add_response("get_caller_identity", identity, {})
            yield cloudwatch, tagging
        cloudwatch.assert_no_pending_responses()
    aws.forget_sessions()


STUBBED = {
    "every-field": EVERY_FIELD,
    "math": METRIC_MATH,
    "band": ANOMALY_BAND,
    "newer-settings": NEWER_SETTINGS,
    "promql": PROMQL,
    "composite": COMPOSITE,
}


@pytest.mark.parametrize("params", STUBBED.values(), ids=STUBBED.keys())
def test_every_field_aws_returns_is_kept_and_written_back(stubbed, params):
    account = AwsAccount.objects.create(account_id=ACCOUNT, name="stubbed", regions=[REGION])
    cloudwatch, tagging = stubbed
    item = described(params)
    tags = [*params.get("Tags", []), *STACK_TAGS]
    tagging.add_response(
        "get_resources", {"ResourceTagMappingList": [{"ResourceARN": item["AlarmArn"], "Tags": tags}]}, None
    )
    kind = "CompositeAlarms" if "AlarmRule" in params else "MetricAlarms"
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": [], "CompositeAlarms": [], kind: [item]}, None)

    run = sync_alarms(account=account, region=REGION)

    assert run.status == SyncStatus.SUCCEEDED, run.error
    alarm = Alarm.objects.get(name=params["AlarmName"])
    # In ALARM since the transition, whatever re-evaluation moved StateUpdatedTimestamp since.
    assert (alarm.state, alarm.state_transitioned_at, alarm.state_updated_at) == ("ALARM", TRANSITIONED, UPDATED)
    assert alarm.state_reason_data["recentUpperThresholds"] == [0.3006915352732461]
    assert alarm.stack_name == "service-monitoring"
    assert alarm.evaluation_state == ("" if kind == "CompositeAlarms" else "PARTIAL_DATA")
    # AWS's own aws: tags stay in the catalog but are never sent: AWS refuses them.
    assert alarm.tags["aws:cloudformation:logical-id"] == "AggregatedAlarm"
    operation = "PutCompositeAlarm" if kind == "CompositeAlarms" else "PutMetricAlarm"
    assert put_alarm_call(alarm) == (operation, params)
    valid_input(operation, params)


@pytest.mark.parametrize("operation", ["PutMetricAlarm", "PutCompositeAlarm"])
def test_every_parameter_aws_takes_is_written_back_by_some_round_trip(operation):
    """When AWS adds a setting to the definition, this fails until the catalog keeps it and writes it back."""
    model = aws.client("cloudwatch", access=aws.AccountAccess(ACCOUNT), region=REGION).meta.service_model
    metric_kinds = [MINIMAL, *(params for params in STUBBED.values() if "AlarmRule" not in params)]
    kinds = [COMPOSITE] if operation == "PutCompositeAlarm" else metric_kinds
    covered = {name for params in kinds for name in params}

    assert set(model.operation_model(operation).input_shape.members) == covered


def test_composite_without_suppressor_sends_no_suppressor_periods():
    alarm = Alarm(
        name="checkout-down",
        alarm_type="composite",
        alarm_rule='ALARM("checkout-5xx") AND ALARM("checkout-latency")',
        actions_suppressor_wait_period=60,  # left over from an earlier definition: meaningless alone
        alarm_actions=[f"{TOPIC}:ops-page"],
    )

    assert put_composite_alarm_params(alarm) == {
        "AlarmName": "checkout-down",
        "ActionsEnabled": True,
        "AlarmActions": [f"{TOPIC}:ops-page"],
        "AlarmRule": 'ALARM("checkout-5xx") AND ALARM("checkout-latency")',
    }


# "In this state since" is the transition, not the last re-evaluation of the reason.


def test_pages_show_and_sort_by_when_the_alarm_entered_its_state(client, viewer):
    now = timezone.now()
    firing = AlarmFactory(
        name="orders-fn-Errors",
        state="ALARM",
        state_transitioned_at=now - timedelta(days=3),
        state_updated_at=now - timedelta(minutes=5),  # the reason was re-evaluated; the state did not change
    )
    AlarmFactory(name="cart-fn-Errors", state_transitioned_at=None, state_updated_at=now - timedelta(days=1))
    client.force_login(viewer)

    detail = client.get(f"/alarms/{firing.pk}/").content.decode()
    listed = client.get("/alarms/?ordering=state_since")

    assert (
        'since <span title="{}">3\xa0days ago'.format(
            localtime(firing.state_transitioned_at).strftime("%Y-%m-%d %H:%M:%S")
        )
        in detail
    )
    assert [alarm.name for alarm in listed.context["page"]] == ["orders-fn-Errors", "cart-fn-Errors"]
    assert "1\xa0day ago" in listed.content.decode()  # no transition time: the last update stands in


def test_alarm_page_shows_the_suppressor_the_band_and_the_newer_settings(client, viewer):
    composite = AlarmFactory(
        alarm_type="composite",
        alarm_rule=COMPOSITE["AlarmRule"],
        actions_suppressor="ServiceMaintenanceAlarm",
        actions_suppressor_wait_period=120,
        actions_suppressor_extension_period=180,
    )
    band = AlarmFactory(
        threshold=None,
        threshold_metric_id="ad1",
        evaluation_state="PARTIAL_DATA",
        extra_settings={"WarmUpConfiguration": NEWER_SETTINGS["WarmUpConfiguration"]},
    )
    client.force_login(viewer)

    composite_page = client.get(f"/alarms/{composite.pk}/").content.decode()
    band_page = client.get(f"/alarms/{band.pk}/").content.decode()

    assert '<span class="mono">ServiceMaintenanceAlarm</span> is in ALARM (waits 120 s' in composite_page
    assert 'the band <span class="mono">ad1</span>' in band_page
    assert "PARTIAL_DATA" in band_page
    assert "&quot;WarmUpPeriodDurationInMinutes&quot;: 30" in band_page
