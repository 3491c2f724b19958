"""Alarm history items (DescribeAlarmHistory, or the AWS CLI's JSON of them) as state changes."""

from __future__ import annotations

import json

from incidents.ingest.aws_time import aws_time
from incidents.ingest.cloudwatch_message import STATES, AlarmStateReport

MAX_TEXT = 10_000


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def report_from_history_item(item: dict, *, account_id: str, region: str) -> AlarmStateReport | None:
    """The state change a StateUpdate history item records, or None for any other item."""
    if not isinstance(item, dict) or item.get("HistoryItemType") != "StateUpdate":
        return None
    name = item.get("AlarmName")
    try:
        data = json.loads(item.get("HistoryData") or "{}")
        at = aws_time(item.get("Timestamp"))
    except ValueError:
        return None
    new = data.get("newState") if isinstance(data, dict) else None
    old = data.get("oldState") if isinstance(data, dict) else None
    if not isinstance(name, str) or not isinstance(new, dict) or new.get("stateValue") not in STATES:
        return None
    old = old if isinstance(old, dict) else {}
    reason_data = new.get("stateReasonData")
    return AlarmStateReport(
        arn=f"arn:{partition_of(region)}:cloudwatch:{region}:{account_id}:alarm:{name}",
        name=name[:255],
        account_id=account_id,
        region=region,
        at=at,
        new_state=new["stateValue"],
        old_state=old.get("stateValue") if old.get("stateValue") in STATES else "",
        reason=str(new.get("stateReason") or "")[:MAX_TEXT],
        reason_data=reason_data if isinstance(reason_data, dict) else {},
        composite=item.get("AlarmType") == "CompositeAlarm",
    )
