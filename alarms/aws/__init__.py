"""The boto3 adapter: the only package that imports boto3.

Pages of AWS responses go in, plain dataclasses come out. Clients honour ``AWS_ENDPOINT_URL`` (boto3
reads it itself), use adaptive retries, and act inside an account through its IAM role when one is set.
Throttling that outlasts botocore's own retries is retried here once more per page, with backoff, so a
long sync of a busy account slows down instead of failing.

- ``session``: how to reach an (account, region): cached sessions and clients, and whose account
  the credentials really act in (STS GetCallerIdentity);
- ``paging``: cursors, call counting, throttling backoff, the errors (each with a summary safe to show);
- ``alarms``: DescribeAlarms and alarm tags as ``ListedAlarm`` (ARN and digest) and ``AlarmRecord``;
- ``inventory``: the resources alarms watch as ``ResourceRecord``;
- ``history``: DescribeAlarmHistory state updates, ascending, paced to its quota;
- ``regions``: region codes by the display names some messages carry.
"""

from alarms.aws.alarms import STACK_TAG, AlarmRecord, ListedAlarm, alarm_tags, describe_alarm_pages
from alarms.aws.history import alarm_history_pages
from alarms.aws.inventory import ResourceRecord, inventory
from alarms.aws.paging import (
    AwsError,
    AwsThrottled,
    CallCounter,
    ForeignArn,
    RoleAssumeFailed,
    WrongAccount,
    call_with_backoff,
    error_summary,
    verify_arns,
)
from alarms.aws.regions import region_code
from alarms.aws.session import (
    AccountAccess,
    caller_account,
    client,
    client_config,
    forget_sessions,
    session_for,
    utc_timestamp,
    verify_account,
)

__all__ = [
    "STACK_TAG",
    "AccountAccess",
    "AlarmRecord",
    "AwsError",
    "AwsThrottled",
    "CallCounter",
    "ForeignArn",
    "ListedAlarm",
    "ResourceRecord",
    "RoleAssumeFailed",
    "WrongAccount",
    "alarm_history_pages",
    "alarm_tags",
    "call_with_backoff",
    "caller_account",
    "client",
    "client_config",
    "describe_alarm_pages",
    "error_summary",
    "forget_sessions",
    "inventory",
    "region_code",
    "session_for",
    "utc_timestamp",
    "verify_account",
    "verify_arns",
]
