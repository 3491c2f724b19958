"""CloudWatch alarms as AWS describes them, with their tags, flattened to catalog field names."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alarms.aws.paging import CallCounter, pages

STACK_TAG = "aws:cloudformation:stack-name"
ALARM_PAGE_SIZE = 100  # DescribeAlarms' MaxRecords ceiling
TAG_PAGE_SIZE = 100  # GetResources' ResourcesPerPage ceiling
# Settings of the definition that AWS added after the catalog's columns: kept as AWS returns them, in
# ``extra_settings``, and written back unchanged (PutMetricAlarm / PutCompositeAlarm take the same names).
METRIC_EXTRA_SETTINGS = (
    "EvaluationWindow",
    "WarmUpConfiguration",
    "EvaluationCriteria",  # PromQL alarms: the query instead of a metric
    "EvaluationInterval",
    "ActionConfiguration",
)
COMPOSITE_EXTRA_SETTINGS = ("ActionConfiguration",)


@dataclass(slots=True)  # not frozen: a sync builds thousands, and a frozen one costs four times as much to build
class AlarmRecord:
    """One alarm as AWS describes it, with its tags, flattened to catalog field names. Treat as read-only."""

    arn: str
    name: str
    alarm_type: str
    description: str = ""
    namespace: str = ""
    metric_name: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    statistic: str = ""
    extended_statistic: str = ""
    unit: str = ""
    period: int | None = None
    evaluation_periods: int | None = None
    datapoints_to_alarm: int | None = None
    threshold: float | None = None
    comparison_operator: str = ""
    treat_missing_data: str = ""
    evaluate_low_sample_count_percentile: str = ""
    threshold_metric_id: str = ""
    metrics: list = field(default_factory=list)
    alarm_rule: str = ""
    actions_suppressor: str = ""
    actions_suppressor_wait_period: int | None = None
    actions_suppressor_extension_period: int | None = None
    extra_settings: dict = field(default_factory=dict)
    actions_enabled: bool = True
    alarm_actions: list[str] = field(default_factory=list)
    ok_actions: list[str] = field(default_factory=list)
    insufficient_data_actions: list[str] = field(default_factory=list)
    state: str = "INSUFFICIENT_DATA"
    state_reason: str = ""
    state_reason_data: dict = field(default_factory=dict)
    state_updated_at: datetime | None = None
    state_transitioned_at: datetime | None = None
    evaluation_state: str = ""
    configuration_updated_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return self.tags.get(STACK_TAG, "")


def _json_default(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_DIGEST_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_json_default)


@dataclass(frozen=True)
class ListedAlarm:
    """An alarm as DescribeAlarms lists it: its ARN and a digest of everything AWS says about it and its
    tags. A resync compares the digest with the catalog's and builds the record (``record()``) only for
    new and changed alarms: most alarms of a resync are unchanged."""

    arn: str
    digest: str
    raw: dict = field(repr=False)
    tags: dict[str, str] = field(repr=False)
    composite: bool = False

    @classmethod
    def of(cls, raw: dict, tags: dict[str, str], *, composite: bool) -> ListedAlarm:
        payload = _DIGEST_ENCODER.encode([composite, raw, tags])
        return cls(raw["AlarmArn"], hashlib.sha256(payload.encode()).hexdigest(), raw, tags, composite)

    def record(self) -> AlarmRecord:
        return (_composite_record if self.composite else _metric_record)(self.raw, self.tags)


def _common(raw: dict, tags: dict[str, str]) -> dict:
    """What metric and composite alarms share: identity, actions and state."""
    return {
        "arn": raw["AlarmArn"],
        "name": raw["AlarmName"],
        "description": raw.get("AlarmDescription") or "",
        "actions_enabled": bool(raw.get("ActionsEnabled", True)),
        "alarm_actions": list(raw.get("AlarmActions") or []),
        "ok_actions": list(raw.get("OKActions") or []),
        "insufficient_data_actions": list(raw.get("InsufficientDataActions") or []),
        "state": raw.get("StateValue") or "INSUFFICIENT_DATA",
        "state_reason": raw.get("StateReason") or "",
        "state_reason_data": _reason_data(raw.get("StateReasonData")),
        "state_updated_at": raw.get("StateUpdatedTimestamp"),
        "state_transitioned_at": raw.get("StateTransitionedTimestamp"),
        "configuration_updated_at": raw.get("AlarmConfigurationUpdatedTimestamp"),
        "tags": tags,
    }


def _metric_record(raw: dict, tags: dict[str, str]) -> AlarmRecord:
    return AlarmRecord(
        **_common(raw, tags),
        alarm_type="metric",
        namespace=raw.get("Namespace") or "",
        metric_name=raw.get("MetricName") or "",
        dimensions={d["Name"]: d["Value"] for d in raw.get("Dimensions") or []},
        statistic=raw.get("Statistic") or "",
        extended_statistic=raw.get("ExtendedStatistic") or "",
        unit=raw.get("Unit") or "",
        period=raw.get("Period"),
        evaluation_periods=raw.get("EvaluationPeriods"),
        datapoints_to_alarm=raw.get("DatapointsToAlarm"),
        threshold=raw.get("Threshold"),
        comparison_operator=raw.get("ComparisonOperator") or "",
        treat_missing_data=raw.get("TreatMissingData") or "",
        evaluate_low_sample_count_percentile=raw.get("EvaluateLowSampleCountPercentile") or "",
        threshold_metric_id=raw.get("ThresholdMetricId") or "",
        metrics=_plain(raw["Metrics"]) if raw.get("Metrics") else [],
        evaluation_state=raw.get("EvaluationState") or "",
        extra_settings=_extra_settings(raw, METRIC_EXTRA_SETTINGS),
    )


def _composite_record(raw: dict, tags: dict[str, str]) -> AlarmRecord:
    return AlarmRecord(
        **_common(raw, tags),
        alarm_type="composite",
        alarm_rule=raw.get("AlarmRule") or "",
        actions_suppressor=raw.get("ActionsSuppressor") or "",
        actions_suppressor_wait_period=raw.get("ActionsSuppressorWaitPeriod"),
        actions_suppressor_extension_period=raw.get("ActionsSuppressorExtensionPeriod"),
        extra_settings=_extra_settings(raw, COMPOSITE_EXTRA_SETTINGS),
    )


def _extra_settings(raw: dict, names: tuple[str, ...]) -> dict:
    present = {name: raw[name] for name in names if raw.get(name) is not None}
    return _plain(present) if present else present


def _reason_data(text: str | None) -> dict:
    """StateReasonData is a JSON document in a string; kept as data, or as text if AWS ever sends other."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def _plain(value):
    """JSON-safe copy of a boto3 structure (datetimes become ISO strings)."""
    return json.loads(json.dumps(value, default=_json_default))


def describe_alarm_pages(
    cloudwatch,
    counter: CallCounter,
    tags_by_arn: dict[str, dict[str, str]],
    *,
    on_last: Callable[[], None] | None = None,
) -> Iterator[list[ListedAlarm]]:
    """Every metric and composite alarm of the client's (account, region), a page (≤100) at a time,
    each with its tags from ``tags_by_arn`` (see alarm_tags); ``on_last`` as for ``pages``."""
    alarm_pages = pages(
        cloudwatch.describe_alarms,
        "NextToken",
        counter,
        prefetch=True,  # the next page travels while the sync writes this one
        on_last=on_last,
        AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        MaxRecords=ALARM_PAGE_SIZE,
    )
    for page in alarm_pages:
        yield [
            ListedAlarm.of(raw, tags_by_arn.get(raw["AlarmArn"], {}), composite=composite)
            for key, composite in (("MetricAlarms", False), ("CompositeAlarms", True))
            for raw in page.get(key, [])
        ]


def alarm_tags(tagging, counter: CallCounter) -> dict[str, dict[str, str]]:
    """Tags of every tagged alarm in the client's (account, region), by ARN: one call per 100 alarms."""
    tags: dict[str, dict[str, str]] = {}
    for page in pages(
        tagging.get_resources,
        "PaginationToken",
        counter,
        ResourceTypeFilters=["cloudwatch:alarm"],
        ResourcesPerPage=TAG_PAGE_SIZE,
    ):
        for mapping in page.get("ResourceTagMappingList", []):
            tags[mapping["ResourceARN"]] = {t["Key"]: t["Value"] for t in mapping.get("Tags", [])}
    return tags
