"""Real CloudWatch alarm messages (through SNS, and EventBridge's official examples) parse into state changes;
anything else is not an alarm's and is recognised as such."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.ingest.cloudwatch_message import (
    AlarmConfigurationReport,
    AlarmStateReport,
    alarm_report_from_event,
    alarm_report_from_sns,
)

FIXTURES = Path(__file__).parent / "fixtures"


def sns_message(name: str) -> str:
    return json.loads((FIXTURES / "cloudwatch-sns" / "cloudforet" / name).read_text())["Message"]


def test_a_single_metric_alarm_with_a_null_unit_and_a_display_region():
    report = alarm_report_from_sns(sns_message("test_cloudwatch_event_api-02-EC2-CPU-ALARM.json"))

    assert (report.arn, report.region, report.account_id) == (
        "arn:aws:cloudwatch:ap-northeast-2:257706363616:alarm:EC2-CPU",
        "ap-northeast-2",
        "257706363616",
    )
    assert (report.old_state, report.new_state) == ("INSUFFICIENT_DATA", "ALARM")
    assert report.at == datetime(2021, 6, 23, 8, 41, 6, 622000, tzinfo=UTC)
    assert (report.namespace, report.metric_name, report.dimensions) == (
        "AWS/EC2",
        "CPUUtilization",
        {"InstanceId": "i-0f672ea50a80cda4b"},
    )
    assert report.description == ""  # null in the message


def test_an_anomaly_band_alarm_recovering():
    report = alarm_report_from_sns(
        sns_message("test_cloudwatch_event_api-01-ContainerInsight-pod_cpu_utilization-OK.json")
    )

    assert (report.name, report.new_state, report.old_state) == ("ContainerInsight-pod_cpu_utilization", "OK", "ALARM")


def test_a_metric_math_alarm_inside_the_lambda_wrapper():
    records = json.loads(
        (
            FIXTURES / "cloudwatch-sns" / "aws-lambda-go" / "cloudwatch-alarm-sns-payload-multiple-metrics.json"
        ).read_text()
    )
    message = json.loads(records["Records"][0]["Sns"]["Message"])
    message["AWSAccountId"], message["Region"] = "123456789012", "Europe (Ireland)"  # the example's placeholders
    del message["AlarmArn"]  # as older messages, which have none

    report = alarm_report_from_sns(json.dumps(message))

    assert report.arn == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:EXAMPLE"  # no AlarmArn: built
    assert report.new_state == "ALARM" and report.metric_name == ""  # the trigger is metric math


@pytest.mark.parametrize(
    "name",
    [
        "test_phd_event_api-05-aws.health-AWS_Health_Event.json",
        "test_different_events_api-04-aws.health-AWS_Health_Abuse_Event.json",
    ],
)
def test_aws_health_events_through_sns_are_not_alarm_changes(name):
    assert alarm_report_from_sns(sns_message(name)) is None


@pytest.mark.parametrize("text", ["Hello world", "", "null", "[]", '{"NewStateValue": "ALARM"}', '{"AlarmName": 3}'])
def test_other_messages_are_not_alarm_changes(text):
    assert alarm_report_from_sns(text) is None


EVENTS = sorted((FIXTURES / "eventbridge").glob("*.json"))


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_the_official_eventbridge_examples_parse(path):
    event = json.loads(path.read_text())

    report = alarm_report_from_event(event)

    if event["detail-type"] == "CloudWatch Alarm State Change":
        assert isinstance(report, AlarmStateReport)
        assert report.arn == event["resources"][0] and report.new_state == event["detail"]["state"]["value"]
        assert report.region == event["region"] and report.account_id == event["account"]
        assert isinstance(report.reason_data, dict)  # a JSON string in the event
        assert report.composite == ("alarmRule" in event["detail"]["configuration"])
    else:
        assert isinstance(report, AlarmConfigurationReport)
        assert report.operation == event["detail"]["operation"]


def test_events_of_other_sources_are_ignored():
    assert (
        alarm_report_from_event({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}) is None
    )
