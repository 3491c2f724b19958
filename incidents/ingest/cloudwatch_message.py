"""CloudWatch alarm state changes as SNS notifications and EventBridge events carry them, in one shape.

Real messages vary: ``AlarmDescription`` may be null, ``Region`` is a display name ("US East (N. Virginia)")
so the region comes from ``AlarmArn`` (older messages have none: then from the display name and
``AWSAccountId``), composite alarms have ``AlarmRule`` and ``TriggeringChildren`` (strings or objects) and no
``Trigger``. EventBridge events have camelCase keys, ``reasonData`` as a JSON string, the ARN in
``resources[0]``. Anything else is not an alarm state change (None), never an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from alarms.aws import region_code
from incidents.ingest.aws_time import aws_time

STATES = {"OK", "ALARM", "INSUFFICIENT_DATA"}
ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):(\d{12}):alarm:(.+)$")
STATE_CHANGE = "CloudWatch Alarm State Change"
CONFIGURATION_CHANGE = "CloudWatch Alarm Configuration Change"
MAX_TEXT = 10_000


@dataclass(frozen=True)
class AlarmStateReport:
    """One alarm entering a state, as a message reported it; enough to make a placeholder alarm."""

    arn: str
    name: str
    account_id: str
    region: str
    at: datetime
    new_state: str
    old_state: str = ""
    reason: str = ""
    reason_data: dict = field(default_factory=dict)
    description: str = ""
    composite: bool = False
    namespace: str = ""
    metric_name: str = ""
    dimensions: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmConfigurationReport:
    """An alarm created, updated or deleted (EventBridge): its catalog entry is refreshed from AWS."""

    arn: str
    name: str
    account_id: str
    region: str
    operation: str


def _text(value) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _arn_parts(arn) -> tuple[str, str, str] | None:
    found = ALARM_ARN.match(arn) if isinstance(arn, str) else None
    return (found.group(1), found.group(2), found.group(3)) if found else None


def _json_object(text) -> dict:
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {"text": _text(text)}
    return value if isinstance(value, dict) else {"value": value}


def alarm_report_from_sns(message_text: str) -> AlarmStateReport | None:
    """The state change an SNS Notification's ``Message`` describes, or None if it is not an alarm's."""
    body = _json_object(message_text)
    if body.get("NewStateValue") not in STATES or not isinstance(body.get("AlarmName"), str):
        return None
    parts = _arn_parts(body.get("AlarmArn"))
    if parts:
        region, account_id, _ = parts
        arn = body["AlarmArn"]
    else:  # older messages: no ARN
        region, account_id = region_code(_text(body.get("Region"))), _text(body.get("AWSAccountId"))
        if not region or not re.fullmatch(r"\d{12}", account_id):
            return None
        arn = f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{body['AlarmName']}"
    trigger = body.get("Trigger") if isinstance(body.get("Trigger"), dict) else {}
    try:
        at = aws_time(body.get("StateChangeTime"))
    except ValueError:
        return None
    return AlarmStateReport(
        arn=arn,
        name=body["AlarmName"][:255],
        account_id=account_id,
        region=region,
        at=at,
        new_state=body["NewStateValue"],
        old_state=body.get("OldStateValue") if body.get("OldStateValue") in STATES else "",
        reason=_text(body.get("NewStateReason")),
        reason_data={"trigger": trigger} if trigger else {},
        description=_text(body.get("AlarmDescription")),
        composite="AlarmRule" in body and not trigger,
        namespace=_text(trigger.get("Namespace"))[:255],
        metric_name=_text(trigger.get("MetricName"))[:255],
        dimensions={
            str(d.get("name")): str(d.get("value"))
            for d in trigger.get("Dimensions") or []
            if isinstance(d, dict) and d.get("name")
        },
    )


def alarm_report_from_event(event: dict) -> AlarmStateReport | AlarmConfigurationReport | None:
    """What an EventBridge event about an alarm says, or None for any other event."""
    if not isinstance(event, dict) or event.get("source") != "aws.cloudwatch":
        return None
    resources = event.get("resources") if isinstance(event.get("resources"), list) else []
    parts = _arn_parts(resources[0] if resources else None)
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    if not parts:
        return None
    region, account_id, name = parts
    if event.get("detail-type") == CONFIGURATION_CHANGE:
        return AlarmConfigurationReport(resources[0], name, account_id, region, _text(detail.get("operation")))
    state = detail.get("state") if isinstance(detail.get("state"), dict) else {}
    if event.get("detail-type") != STATE_CHANGE or state.get("value") not in STATES:
        return None
    previous = detail.get("previousState") if isinstance(detail.get("previousState"), dict) else {}
    configuration = detail.get("configuration") if isinstance(detail.get("configuration"), dict) else {}
    try:
        at = aws_time(state.get("timestamp") or event.get("time"))
    except ValueError:
        return None
    stat = _first_metric_stat(configuration.get("metrics"))
    return AlarmStateReport(
        arn=resources[0],
        name=name[:255],
        account_id=account_id,
        region=region,
        at=at,
        new_state=state["value"],
        old_state=previous.get("value") if previous.get("value") in STATES else "",
        reason=_text(state.get("reason")),
        reason_data=_json_object(state.get("reasonData")),
        description=_text(configuration.get("description")),
        composite="alarmRule" in configuration,
        namespace=_text(stat.get("namespace"))[:255],
        metric_name=_text(stat.get("name"))[:255],
        dimensions={str(k): str(v) for k, v in (stat.get("dimensions") or {}).items()},
    )


def _first_metric_stat(metrics) -> dict:
    for query in metrics if isinstance(metrics, list) else []:
        metric = ((query or {}).get("metricStat") or {}).get("metric") if isinstance(query, dict) else None
        if isinstance(metric, dict):
            return metric
    return {}
