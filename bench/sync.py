"""Sync bench: a full sync and a no-op resync of alarms planted in the local AWS, against bare boto3 paging."""

from __future__ import annotations

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms import aws
from alarms.models import Alarm, SyncRun
from alarms.services.sync import sync_alarms, sync_targets
from bench.common import ACCOUNTS, REGIONS, REPEATS, interleaved, register_accounts, reset_catalog
from portal.localaws import local_aws_environ, role_arn, start_local_aws

# --- Sync ---------------------------------------------------------------------------------------------


def plant_alarms(total: int) -> None:
    per_key = total // (len(ACCOUNTS) * len(REGIONS))
    for account_id in ACCOUNTS:
        for region in REGIONS:
            put_bench_alarms(account_id, region, per_key)


def put_bench_alarms(account_id: str, region: str, count: int) -> None:
    """``count`` Lambda error alarms in one key, reached through its role; 70% tagged with service and team."""
    access = aws.AccountAccess(account_id, role_arn(account_id), "bench")
    cloudwatch = aws.client("cloudwatch", access=access, region=region)
    for i in range(count):
        tags = [{"Key": "service", "Value": f"svc-{i % 12}"}, {"Key": "team", "Value": f"team-{i % 4}"}]
        cloudwatch.put_metric_alarm(
            AlarmName=f"svc-{i % 12}-fn-{i}-Errors",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": f"svc-{i % 12}-fn-{i}"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            AlarmActions=[f"arn:aws:sns:{region}:{account_id}:alerts"],
            Tags=tags if i % 10 < 7 else [],
        )


def bare_boto3_paging() -> int:
    """The reference: the same DescribeAlarms and GetResources pages, no processing at all."""
    seen = 0
    for account_id in ACCOUNTS:
        access = aws.AccountAccess(account_id, role_arn(account_id), "bench")
        for region in REGIONS:
            tagging = aws.client("resourcegroupstaggingapi", access=access, region=region)
            for page in tagging.get_paginator("get_resources").paginate(
                ResourceTypeFilters=["cloudwatch:alarm"], ResourcesPerPage=100
            ):
                seen += len(page["ResourceTagMappingList"])
            cloudwatch = aws.client("cloudwatch", access=access, region=region)
            for page in cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=100
            ):
                seen += len(page["MetricAlarms"]) + len(page["CompositeAlarms"])
    return seen


def full_sync() -> list[SyncRun]:
    return [sync_alarms(account=account, region=region, triggered_by="bench") for account, region in sync_targets()]


def empty_catalog() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alarms_alarm")


def bench_sync(total: int) -> None:
    local = start_local_aws()
    try:
        with local_aws_environ(local):
            started = time.perf_counter()
            plant_alarms(total)
            print(f"planted {total} alarms in local AWS in {time.perf_counter() - started:.1f}s")
            reset_catalog()
            register_accounts()
            bare_boto3_paging()  # warm up: role sessions, connections
            full, full_reference = interleaved(full_sync, bare_boto3_paging, setup=empty_catalog)
            created = Alarm.objects.count()
            with CaptureQueriesContext(connection) as queries:
                noop, noop_reference = interleaved(full_sync, bare_boto3_paging)
            writes = [q for q in queries if '"alarms_alarm"' in q["sql"] and not q["sql"].lstrip().startswith("SELECT")]
            statements = len(queries)
            last = list(SyncRun.objects.order_by("-id")[: len(ACCOUNTS) * len(REGIONS)])

        print(f"reference: bare boto3 paging of {total} alarms + their tags, median of {REPEATS}")
        print(
            f"full sync into an empty catalog ({created} alarms): {full:.2f}s vs {full_reference:.2f}s  "
            f"ratio {full / full_reference:.2f}  (target <= 1.5)"
        )
        rows = sum(run.created + run.updated + run.deleted for run in last)
        print(f"no-op resync: {noop:.2f}s vs {noop_reference:.2f}s  ratio {noop / noop_reference:.2f}  (target <= 1.2)")
        print(
            f"  rows written by the no-op resyncs: {rows} counted; {len(writes)} alarm write statements "
            f"among {statements} statements (target 0)"
        )
    finally:
        local.stop()
