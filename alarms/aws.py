"""The boto3 adapter: the only module that imports boto3.

Pages of AWS responses go in, plain dataclasses come out. Clients honour ``AWS_ENDPOINT_URL`` (boto3
reads it itself), use adaptive retries, and act inside an account through its IAM role when one is set.
Throttling that outlasts botocore's own retries is retried here once more per page, with backoff, so a
long sync of a busy account slows down instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property, partial

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

logger = logging.getLogger(__name__)

STACK_TAG = "aws:cloudformation:stack-name"
ALARM_PAGE_SIZE = 100  # DescribeAlarms' MaxRecords ceiling
TAG_PAGE_SIZE = 100  # GetResources' ResourcesPerPage ceiling
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)


class AwsError(Exception):
    """An AWS call failed for good; the message is safe to show and store."""


@dataclass(frozen=True)
class AccountAccess:
    """How to reach one account: directly with the process's credentials, or through a role."""

    account_id: str
    role_arn: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm as AWS describes it, with its tags, flattened to catalog field names."""

    arn: str
    name: str
    alarm_type: str
    description: str = ""
    namespace: str = ""
    metric_name: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    statistic: str = ""
    period: int | None = None
    evaluation_periods: int | None = None
    datapoints_to_alarm: int | None = None
    threshold: float | None = None
    comparison_operator: str = ""
    treat_missing_data: str = ""
    metrics: list = field(default_factory=list)
    alarm_rule: str = ""
    actions_enabled: bool = True
    alarm_actions: list[str] = field(default_factory=list)
    ok_actions: list[str] = field(default_factory=list)
    insufficient_data_actions: list[str] = field(default_factory=list)
    state: str = "INSUFFICIENT_DATA"
    state_reason: str = ""
    state_updated_at: datetime | None = None
    configuration_updated_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return self.tags.get(STACK_TAG, "")

    @cached_property
    def digest(self) -> str:
        """A stable digest of everything AWS says about the alarm; equal digests mean nothing changed."""
        values = [getattr(self, name) for name in self.__dataclass_fields__]
        payload = json.dumps(values, sort_keys=True, default=_json_default, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class CallCounter:
    """Counts AWS API requests made for one sync run (pages, not items)."""

    calls: int = 0

    def add(self, n: int = 1) -> None:
        self.calls += n


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- Sessions and clients ---------------------------------------------------------------------------

_ROLE_SESSIONS: dict[tuple[str, str], tuple[boto3.Session, datetime]] = {}
_ROLE_LOCK = threading.Lock()
_ROLE_REFRESH_MARGIN_SECONDS = 300


def client_config() -> Config:
    return Config(
        retries={"mode": "adaptive", "max_attempts": settings.OKAMI_AWS_MAX_ATTEMPTS},
        user_agent_extra="okami",
        connect_timeout=10,
        read_timeout=60,
    )


def session_for(access: AccountAccess) -> boto3.Session:
    """A session acting in the account: assumed-role credentials, cached until shortly before expiry."""
    if not access.role_arn:
        return boto3.Session()
    key = (access.role_arn, access.external_id)
    with _ROLE_LOCK:
        cached = _ROLE_SESSIONS.get(key)
        if cached and (cached[1] - datetime.now(UTC)).total_seconds() > _ROLE_REFRESH_MARGIN_SECONDS:
            return cached[0]
        params = {"RoleArn": access.role_arn, "RoleSessionName": "okami-sync", "DurationSeconds": 3600}
        if access.external_id:
            params["ExternalId"] = access.external_id
        try:
            credentials = boto3.client("sts", config=client_config()).assume_role(**params)["Credentials"]
        except ClientError as exc:
            raise AwsError(f"cannot assume {access.role_arn}: {_error_text(exc)}") from exc
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        _ROLE_SESSIONS[key] = (session, credentials["Expiration"])
        return session


def client(service: str, *, access: AccountAccess, region: str):
    """A boto3 client for one service in one (account, region)."""
    return session_for(access).client(service, region_name=region, config=client_config())


def forget_sessions() -> None:
    """Drop cached role sessions (tests, or after an account's role changes)."""
    with _ROLE_LOCK:
        _ROLE_SESSIONS.clear()


# --- Paging with throttling backoff ----------------------------------------------------------------


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()


def call_with_backoff(call: Callable[[], dict], *, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Run one AWS call, retrying throttling with exponential backoff; other errors become AwsError."""
    retries = settings.OKAMI_AWS_THROTTLE_RETRIES
    for attempt in range(retries + 1):
        try:
            return call()
        except ClientError as exc:
            if _error_code(exc) not in THROTTLING_CODES or attempt == retries:
                raise AwsError(_error_text(exc)) from exc
            delay = settings.OKAMI_AWS_THROTTLE_BACKOFF_SECONDS * (2**attempt)
            logger.warning("AWS throttled (%s); retrying in %.1fs", _error_code(exc), delay)
            sleep(delay)
    raise AssertionError("unreachable")


def _pages(call: Callable[..., dict], token_name: str, counter: CallCounter, **params) -> Iterator[dict]:
    """Follow a NextToken-style cursor. ``token_name`` is the request/response key of the cursor."""
    token = None
    while True:
        request = {**params, **({token_name: token} if token else {})}
        page = call_with_backoff(partial(call, **request))
        counter.add()
        yield page
        token = page.get(token_name)
        if not token:
            return


# --- CloudWatch alarms -----------------------------------------------------------------------------


def _metric_record(raw: dict, tags: dict[str, str]) -> AlarmRecord:
    return AlarmRecord(
        arn=raw["AlarmArn"],
        name=raw["AlarmName"],
        alarm_type="metric",
        description=raw.get("AlarmDescription") or "",
        namespace=raw.get("Namespace") or "",
        metric_name=raw.get("MetricName") or "",
        dimensions={d["Name"]: d["Value"] for d in raw.get("Dimensions") or []},
        statistic=raw.get("Statistic") or raw.get("ExtendedStatistic") or "",
        period=raw.get("Period"),
        evaluation_periods=raw.get("EvaluationPeriods"),
        datapoints_to_alarm=raw.get("DatapointsToAlarm"),
        threshold=raw.get("Threshold"),
        comparison_operator=raw.get("ComparisonOperator") or "",
        treat_missing_data=raw.get("TreatMissingData") or "",
        metrics=_plain(raw["Metrics"]) if raw.get("Metrics") else [],
        actions_enabled=bool(raw.get("ActionsEnabled", True)),
        alarm_actions=list(raw.get("AlarmActions") or []),
        ok_actions=list(raw.get("OKActions") or []),
        insufficient_data_actions=list(raw.get("InsufficientDataActions") or []),
        state=raw.get("StateValue") or "INSUFFICIENT_DATA",
        state_reason=raw.get("StateReason") or "",
        state_updated_at=raw.get("StateUpdatedTimestamp"),
        configuration_updated_at=raw.get("AlarmConfigurationUpdatedTimestamp"),
        tags=tags,
    )


def _composite_record(raw: dict, tags: dict[str, str]) -> AlarmRecord:
    return AlarmRecord(
        arn=raw["AlarmArn"],
        name=raw["AlarmName"],
        alarm_type="composite",
        description=raw.get("AlarmDescription") or "",
        alarm_rule=raw.get("AlarmRule") or "",
        actions_enabled=bool(raw.get("ActionsEnabled", True)),
        alarm_actions=list(raw.get("AlarmActions") or []),
        ok_actions=list(raw.get("OKActions") or []),
        insufficient_data_actions=list(raw.get("InsufficientDataActions") or []),
        state=raw.get("StateValue") or "INSUFFICIENT_DATA",
        state_reason=raw.get("StateReason") or "",
        state_updated_at=raw.get("StateUpdatedTimestamp"),
        configuration_updated_at=raw.get("AlarmConfigurationUpdatedTimestamp"),
        tags=tags,
    )


def _plain(value):
    """JSON-safe copy of a boto3 structure (datetimes become ISO strings)."""
    return json.loads(json.dumps(value, default=_json_default))


def describe_alarm_pages(
    cloudwatch, counter: CallCounter, tags_by_arn: dict[str, dict[str, str]]
) -> Iterator[list[AlarmRecord]]:
    """Every metric and composite alarm of the client's (account, region), a page (≤100) at a time,
    each with its tags from ``tags_by_arn`` (see alarm_tags)."""
    pages = _pages(
        cloudwatch.describe_alarms,
        "NextToken",
        counter,
        AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        MaxRecords=ALARM_PAGE_SIZE,
    )
    for page in pages:
        records = [_metric_record(raw, tags_by_arn.get(raw["AlarmArn"], {})) for raw in page.get("MetricAlarms", [])]
        records += [
            _composite_record(raw, tags_by_arn.get(raw["AlarmArn"], {})) for raw in page.get("CompositeAlarms", [])
        ]
        yield records


def alarm_tags(tagging, counter: CallCounter) -> dict[str, dict[str, str]]:
    """Tags of every tagged alarm in the client's (account, region), by ARN: one call per 100 alarms."""
    tags: dict[str, dict[str, str]] = {}
    for page in _pages(
        tagging.get_resources,
        "PaginationToken",
        counter,
        ResourceTypeFilters=["cloudwatch:alarm"],
        ResourcesPerPage=TAG_PAGE_SIZE,
    ):
        for mapping in page.get("ResourceTagMappingList", []):
            tags[mapping["ResourceARN"]] = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
    return tags


# --- Resource inventory ----------------------------------------------------------------------------

# Kinds whose tags the Resource Groups Tagging API returns in bulk. API Gateway and Kinesis tags come
# from their own list calls instead (inline for API Gateway, one call per stream for Kinesis).
TAGGING_API_KINDS = ("lambda:function", "dynamodb:table", "s3:bucket", "sqs:queue", "sns:topic")


@dataclass(frozen=True)
class ResourceRecord:
    """One resource as AWS lists it. ``name`` is what alarm dimensions call it (an HTTP API's id)."""

    arn: str
    kind: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)

    @cached_property
    def digest(self) -> str:
        payload = json.dumps([self.kind, self.name, self.tags, self.attributes], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


def _with_tags(records: list[ResourceRecord], tags_by_arn: dict[str, dict[str, str]]) -> list[ResourceRecord]:
    return [replace(r, tags=tags_by_arn.get(r.arn, r.tags)) for r in records]


def resource_tags(tagging, counter: CallCounter) -> dict[str, dict[str, str]]:
    """Tags of every tagged resource of the kinds in TAGGING_API_KINDS, by ARN, 100 resources per call."""
    tags: dict[str, dict[str, str]] = {}
    for page in _pages(
        tagging.get_resources,
        "PaginationToken",
        counter,
        ResourceTypeFilters=list(TAGGING_API_KINDS),
        ResourcesPerPage=TAG_PAGE_SIZE,
    ):
        for mapping in page.get("ResourceTagMappingList", []):
            tags[mapping["ResourceARN"]] = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
    return tags


def lambda_functions(client, counter: CallCounter) -> list[ResourceRecord]:
    return [
        ResourceRecord(
            f["FunctionArn"], "lambda:function", f["FunctionName"], attributes={"runtime": f.get("Runtime", "")}
        )
        for page in _pages_marker(client.list_functions, counter, MaxItems=50)
        for f in page.get("Functions", [])
    ]


def _pages_marker(call, counter: CallCounter, **params) -> Iterator[dict]:
    """Lambda answers with NextMarker but is asked with Marker."""
    marker = None
    while True:
        page = call_with_backoff(partial(call, **params, **({"Marker": marker} if marker else {})))
        counter.add()
        yield page
        marker = page.get("NextMarker")
        if not marker:
            return


def dynamodb_tables(client, counter: CallCounter, *, account_id: str, region: str) -> list[ResourceRecord]:
    names = []
    start = None
    while True:
        page = call_with_backoff(partial(client.list_tables, **({"ExclusiveStartTableName": start} if start else {})))
        counter.add()
        names += page.get("TableNames", [])
        start = page.get("LastEvaluatedTableName")
        if not start:
            break
    return [ResourceRecord(f"arn:aws:dynamodb:{region}:{account_id}:table/{n}", "dynamodb:table", n) for n in names]


def s3_buckets(client, counter: CallCounter, *, region: str) -> list[ResourceRecord]:
    """Buckets are global; ListBuckets narrowed to the region keeps each bucket in one (account, region)."""
    records = []
    for page in _pages(client.list_buckets, "ContinuationToken", counter, BucketRegion=region, MaxBuckets=1000):
        records += [
            ResourceRecord(f"arn:aws:s3:::{b['Name']}", "s3:bucket", b["Name"]) for b in page.get("Buckets", [])
        ]
    return records


def sqs_queues(client, counter: CallCounter, *, account_id: str, region: str) -> list[ResourceRecord]:
    urls = [
        url
        for page in _pages(client.list_queues, "NextToken", counter, MaxResults=1000)
        for url in page.get("QueueUrls", [])
    ]
    names = [url.rsplit("/", 1)[-1] for url in urls]
    return [ResourceRecord(f"arn:aws:sqs:{region}:{account_id}:{n}", "sqs:queue", n) for n in names]


def kinesis_streams(client, counter: CallCounter) -> list[ResourceRecord]:
    records = []
    for page in _pages(client.list_streams, "NextToken", counter, Limit=100):
        for summary in page.get("StreamSummaries", []):
            tag_page = call_with_backoff(partial(client.list_tags_for_stream, StreamARN=summary["StreamARN"]))
            counter.add()
            tags = {t["Key"]: t["Value"] for t in tag_page.get("Tags", [])}
            records.append(ResourceRecord(summary["StreamARN"], "kinesis:stream", summary["StreamName"], tags))
    return records


def sns_topics(client, counter: CallCounter) -> list[ResourceRecord]:
    """Topics with their subscription counts (an alarm notifying a topic nobody reads is silent). One paged
    ListSubscriptions covers every topic of the region, instead of one call per topic."""
    arns = [t["TopicArn"] for page in _pages(client.list_topics, "NextToken", counter) for t in page.get("Topics", [])]
    confirmed: dict[str, int] = dict.fromkeys(arns, 0)
    pending: dict[str, int] = dict.fromkeys(arns, 0)
    for page in _pages(client.list_subscriptions, "NextToken", counter):
        for subscription in page.get("Subscriptions", []):
            counts = pending if subscription.get("SubscriptionArn") == "PendingConfirmation" else confirmed
            if subscription.get("TopicArn") in counts:
                counts[subscription["TopicArn"]] += 1
    return [
        ResourceRecord(
            arn,
            "sns:topic",
            arn.rsplit(":", 1)[-1],
            attributes={"subscriptions": confirmed[arn], "pending_subscriptions": pending[arn]},
        )
        for arn in arns
    ]


def rest_apis(client, counter: CallCounter, *, region: str) -> list[ResourceRecord]:
    return [
        ResourceRecord(
            f"arn:aws:apigateway:{region}::/restapis/{api['id']}",
            "apigateway:restapi",
            api["name"],
            dict(api.get("tags") or {}),
            {"id": api["id"]},
        )
        for page in _pages(client.get_rest_apis, "position", counter, limit=500)
        for api in page.get("items", [])
    ]


def http_apis(client, counter: CallCounter, *, region: str) -> list[ResourceRecord]:
    return [
        ResourceRecord(
            f"arn:aws:apigateway:{region}::/apis/{api['ApiId']}",
            "apigateway:httpapi",
            api["ApiId"],
            dict(api.get("Tags") or {}),
            {"display_name": api.get("Name", "")},
        )
        for page in _pages(client.get_apis, "NextToken", counter, MaxResults="500")
        for api in page.get("Items", [])
    ]


def inventory(access: AccountAccess, region: str, counter: CallCounter) -> list[ResourceRecord]:
    """Every watched resource of one (account, region), with tags."""

    def make(service: str):
        return client(service, access=access, region=region)

    records = [
        *lambda_functions(make("lambda"), counter),
        *dynamodb_tables(make("dynamodb"), counter, account_id=access.account_id, region=region),
        *s3_buckets(make("s3"), counter, region=region),
        *sqs_queues(make("sqs"), counter, account_id=access.account_id, region=region),
        *sns_topics(make("sns"), counter),
    ]
    records = _with_tags(records, resource_tags(make("resourcegroupstaggingapi"), counter))
    records += kinesis_streams(make("kinesis"), counter)
    records += rest_apis(make("apigateway"), counter, region=region)
    records += http_apis(make("apigatewayv2"), counter, region=region)
    return records
