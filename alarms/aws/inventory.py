"""The resource inventory: the AWS resources alarms watch, listed per (account, region) with their tags."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import cached_property, partial

from alarms.aws.alarms import TAG_PAGE_SIZE
from alarms.aws.paging import CallCounter, call_with_backoff, pages, pages_marker
from alarms.aws.session import AccountAccess, client

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
    for page in pages(
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
        for page in pages_marker(client.list_functions, counter, MaxItems=50)
        for f in page.get("Functions", [])
    ]


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
    for page in pages(client.list_buckets, "ContinuationToken", counter, BucketRegion=region, MaxBuckets=1000):
        records += [
            ResourceRecord(f"arn:aws:s3:::{b['Name']}", "s3:bucket", b["Name"]) for b in page.get("Buckets", [])
        ]
    return records


def sqs_queues(client, counter: CallCounter, *, account_id: str, region: str) -> list[ResourceRecord]:
    urls = [
        url
        for page in pages(client.list_queues, "NextToken", counter, MaxResults=1000)
        for url in page.get("QueueUrls", [])
    ]
    names = [url.rsplit("/", 1)[-1] for url in urls]
    return [ResourceRecord(f"arn:aws:sqs:{region}:{account_id}:{n}", "sqs:queue", n) for n in names]


def kinesis_streams(client, counter: CallCounter) -> list[ResourceRecord]:
    records = []
    for page in pages(client.list_streams, "NextToken", counter, Limit=100):
        for summary in page.get("StreamSummaries", []):
            tag_page = call_with_backoff(partial(client.list_tags_for_stream, StreamARN=summary["StreamARN"]))
            counter.add()
            tags = {t["Key"]: t["Value"] for t in tag_page.get("Tags", [])}
            records.append(ResourceRecord(summary["StreamARN"], "kinesis:stream", summary["StreamName"], tags))
    return records


def sns_topics(client, counter: CallCounter) -> list[ResourceRecord]:
    """Topics with their subscription counts (an alarm notifying a topic nobody reads is silent). One paged
    ListSubscriptions covers every topic of the region, instead of one call per topic."""
    arns = [t["TopicArn"] for page in pages(client.list_topics, "NextToken", counter) for t in page.get("Topics", [])]
    confirmed: dict[str, int] = dict.fromkeys(arns, 0)
    pending: dict[str, int] = dict.fromkeys(arns, 0)
    for page in pages(client.list_subscriptions, "NextToken", counter):
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
        for page in pages(client.get_rest_apis, "position", counter, limit=500)
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
        for page in pages(client.get_apis, "NextToken", counter, MaxResults="500")
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
