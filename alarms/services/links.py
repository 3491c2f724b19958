"""Alarm ↔ resource and composite ↔ child links, inferred from alarm definitions after each sync.

A metric alarm names what it watches in its dimensions (FunctionName, TableName, …), also inside metric
math queries; a composite alarm names its children in its rule. An alarm whose watched resource is not
(or no longer) in the inventory is *orphaned*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from alarms.choices import ResourceKind
from alarms.models import Alarm, AwsAccount, Resource
from portal.db import update_in_batches

DIMENSION_KINDS = {
    "FunctionName": ResourceKind.LAMBDA_FUNCTION,
    "TableName": ResourceKind.DYNAMODB_TABLE,
    "QueueName": ResourceKind.SQS_QUEUE,
    "StreamName": ResourceKind.KINESIS_STREAM,
    "BucketName": ResourceKind.S3_BUCKET,
    "TopicName": ResourceKind.SNS_TOPIC,
    "ApiName": ResourceKind.REST_API,
    "ApiId": ResourceKind.HTTP_API,
}
# ALARM("name"), OK(arn), INSUFFICIENT_DATA('name') … in a composite alarm's rule.
CHILD_REFERENCE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*[\"']?([^\"')]+?)[\"']?\s*\)")


@dataclass(frozen=True)
class LinkSummary:
    resource_links: int
    child_links: int
    orphaned: int


def watched_resources(dimensions: dict, metrics: list) -> set[tuple[str, str]]:
    """(kind, name) of every resource the alarm's dimensions or metric-math queries name."""
    refs = {(DIMENSION_KINDS[k], str(v)) for k, v in (dimensions or {}).items() if k in DIMENSION_KINDS}
    for query in metrics or []:
        metric = ((query or {}).get("MetricStat") or {}).get("Metric") or {}
        for dimension in metric.get("Dimensions") or []:
            if dimension.get("Name") in DIMENSION_KINDS:
                refs.add((DIMENSION_KINDS[dimension["Name"]], str(dimension.get("Value", ""))))
    return refs


def child_references(rule: str) -> set[str]:
    """Names or ARNs of the alarms a composite rule refers to."""
    return {match.strip() for match in CHILD_REFERENCE.findall(rule or "")}


def _replace_links(through, left: str, right: str, scope: dict, wanted: set[tuple[int, int]]) -> int:
    """Make the link table hold exactly ``wanted`` within ``scope``: delete the rest, add the new."""
    rows = through.objects.filter(**scope).values_list("id", left, right)
    existing = {(a, b): pk for pk, a, b in rows}
    stale = [pk for pair, pk in existing.items() if pair not in wanted]
    for start in range(0, len(stale), 500):
        through.objects.filter(id__in=stale[start : start + 500]).delete()
    through.objects.bulk_create(
        [through(**{left: a, right: b}) for a, b in wanted - existing.keys()], ignore_conflicts=True, batch_size=1000
    )
    return len(wanted)


@transaction.atomic
def links_refresh(*, account: AwsAccount, region: str) -> LinkSummary:
    """Recompute the links and orphan flags of the live alarms of one (account, region)."""
    alarms = list(
        Alarm.objects.filter(account=account, region=region, deleted_at__isnull=True).values_list(
            "id", "arn", "name", "dimensions", "metrics", "alarm_rule", "orphaned"
        )
    )
    resources = {
        (kind, name): (pk, deleted_at is None)
        for pk, kind, name, deleted_at in Resource.objects.filter(account=account, region=region).values_list(
            "id", "kind", "name", "deleted_at"
        )
    }
    by_name = {name: pk for pk, arn, name, *_ in alarms} | {arn: pk for pk, arn, *_ in alarms}

    resource_links: set[tuple[int, int]] = set()
    child_links: set[tuple[int, int]] = set()
    orphaned: set[int] = set()
    for pk, _arn, _name, dimensions, metrics, rule, _ in alarms:
        for ref in watched_resources(dimensions, metrics):
            found = resources.get(ref)
            if found:
                resource_links.add((pk, found[0]))
            if not found or not found[1]:
                orphaned.add(pk)
        for child in child_references(rule):
            if child in by_name:
                child_links.add((pk, by_name[child]))

    live = {"account": account, "region": region, "deleted_at__isnull": True}
    _replace_links(
        Alarm.resources.through, "alarm_id", "resource_id", {f"alarm__{k}": v for k, v in live.items()}, resource_links
    )
    _replace_links(
        Alarm.children.through,
        "from_alarm_id",
        "to_alarm_id",
        {f"from_alarm__{k}": v for k, v in live.items()},
        child_links,
    )
    was_orphaned = {pk for pk, *_, flag in alarms if flag}
    update_in_batches(Alarm, sorted(orphaned - was_orphaned), orphaned=True)
    update_in_batches(Alarm, sorted(was_orphaned - orphaned), orphaned=False)
    return LinkSummary(len(resource_links), len(child_links), len(orphaned))
