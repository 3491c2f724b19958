"""Refresh bench: what `sync_aws` runs for every key (inventory, alarms, links, rules) against bare boto3
making the same AWS calls; and the same refresh of 50 accounts fanned out to two Celery workers."""

from __future__ import annotations

import io
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from functools import partial

import boto3
from botocore.endpoint import Endpoint
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms import aws
from alarms.aws.inventory import TAGGING_API_KINDS
from alarms.choices import RuleMatch, SyncKind, SyncStatus
from alarms.models import Alarm, AuditEntry, MappingRule, Resource, Service, SyncRun, Team
from bench.common import ACCOUNTS, REGIONS, REPEATS, interleaved, register_accounts, reset_catalog
from bench.sync import plant_alarms, put_bench_alarms
from portal.localaws import LocalAws, free_port, local_aws_environ, role_arn

EXTERNAL_ID = "bench"
JOBS = (1, 4)  # keys at a time: sync_aws --jobs 1, and its default


class _ServerProcess:
    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_local_aws_process() -> LocalAws:
    """The local AWS (moto server) in a process of its own. AWS does its work on other machines; an
    in-process moto would make every request compete with the portal for one interpreter lock and charge
    the portal for AWS's time."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.localaws", "-H", "127.0.0.1", "-p", str(port)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return LocalAws(server=_ServerProcess(process), endpoint_url=f"http://127.0.0.1:{port}")
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the local AWS did not start")


# --- The estate -----------------------------------------------------------------------------------------


def plant_resources(account_id: str, region: str) -> None:
    """A few resources of every kind the inventory lists, so that each of its calls returns something."""
    access = aws.AccountAccess(account_id, role_arn(account_id), EXTERNAL_ID)

    def make(service):
        return aws.client(service, access=access, region=region)

    with suppress(Exception):  # IAM is global to the account: the other region made it
        make("iam").create_role(RoleName="exec", AssumeRolePolicyDocument="{}")
    for i in range(10):
        make("lambda").create_function(
            FunctionName=f"svc-{i}-fn-{i}",
            Runtime="python3.12",
            Role=f"arn:aws:iam::{account_id}:role/exec",
            Handler="h.h",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Tags={"service": f"svc-{i}"},
        )
        make("sqs").create_queue(QueueName=f"svc-{i}-queue", tags={"service": f"svc-{i}"})
        make("dynamodb").create_table(
            TableName=f"svc-{i}-table",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    for i in range(3):
        make("sns").create_topic(Name=f"alerts-{i}")
    make("kinesis").create_stream(StreamName="events", ShardCount=1)
    bucket = f"bench-{account_id}-{region}"
    make("s3").create_bucket(
        Bucket=bucket,
        **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}),
    )
    make("apigateway").create_rest_api(name="orders-api")
    make("apigatewayv2").create_api(Name="orders-http", ProtocolType="HTTP")


def ownership() -> None:
    """Teams, services and the two rules most estates start with: the service and team tags."""
    MappingRule.objects.all().delete()
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(4)]
    for i in range(12):
        Service.objects.update_or_create(slug=f"svc-{i}", defaults={"name": f"Service {i}", "team": teams[i % 4]})
    MappingRule.objects.create(
        position=10, name="service tag", match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True
    )
    MappingRule.objects.create(
        position=20, name="team tag", match=RuleMatch.TAG, tag_key="team", pattern="*", team_from_value=True
    )


def empty_catalog() -> None:
    """Back to a catalog that has never synced (accounts, teams and rules stay)."""
    tables = [
        AuditEntry._meta.db_table,
        Alarm.resources.through._meta.db_table,
        Alarm.children.through._meta.db_table,
        Alarm._meta.db_table,
        Resource._meta.db_table,
        SyncRun._meta.db_table,
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        if connection.vendor == "postgresql":
            # A catalog that never synced has no dead rows. Without this (autovacuum may be off, and is slower
            # than the bench anyway) each full refresh writes into tables and indexes bloated by the runs before.
            for table in tables:
                cursor.execute(f"VACUUM {connection.ops.quote_name(table)}")
    cache.clear()


# --- Subject and reference ------------------------------------------------------------------------------


def refresh_everything(jobs: int = 1) -> None:
    """What a user gets from `manage.py sync_aws`: every key refreshed, ``jobs`` keys at a time."""
    call_command("sync_aws", jobs=jobs, stdout=io.StringIO(), stderr=io.StringIO())


class BareBoto3:
    """The reference: one boto3 session per account (its role assumed once), one client per service and
    region, and the same list calls as a refresh, results thrown away."""

    def __init__(self, accounts) -> None:
        sts = boto3.client("sts")
        self.clients = {}
        for account_id in accounts:
            credentials = sts.assume_role(
                RoleArn=role_arn(account_id), RoleSessionName="bench", ExternalId=EXTERNAL_ID
            )["Credentials"]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            for region in REGIONS:
                self.clients[account_id, region] = {
                    name: session.client(name, region_name=region)
                    for name in (
                        "cloudwatch",
                        "resourcegroupstaggingapi",
                        "lambda",
                        "dynamodb",
                        "s3",
                        "sqs",
                        "sns",
                        "kinesis",
                        "apigateway",
                        "apigatewayv2",
                    )
                }

    def __call__(self, jobs: int = 1) -> int:
        """Every key's calls, ``jobs`` keys at a time as the subject does."""
        keys = [(c, region) for (_, region), c in self.clients.items()]
        if jobs <= 1:
            return sum(self.key(c, region) for c, region in keys)
        with ThreadPoolExecutor(jobs) as pool:
            return sum(pool.map(lambda key: self.key(*key), keys))

    def key(self, c: dict, region: str) -> int:
        items = self.inventory(c, region)
        tagging = c["resourcegroupstaggingapi"].get_paginator("get_resources")
        for page in tagging.paginate(ResourceTypeFilters=["cloudwatch:alarm"], ResourcesPerPage=100):
            items += len(page["ResourceTagMappingList"])
        describe = c["cloudwatch"].get_paginator("describe_alarms")
        for page in describe.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=100):
            items += len(page["MetricAlarms"]) + len(page["CompositeAlarms"])
        return items

    @staticmethod
    def inventory(c: dict, region: str) -> int:
        items = sum(len(p["Functions"]) for p in c["lambda"].get_paginator("list_functions").paginate())
        items += sum(len(p["TableNames"]) for p in c["dynamodb"].get_paginator("list_tables").paginate())
        items += len(c["s3"].list_buckets(BucketRegion=region, MaxBuckets=1000).get("Buckets", []))
        items += len(c["sqs"].list_queues(MaxResults=1000).get("QueueUrls", []))
        items += sum(len(p["Topics"]) for p in c["sns"].get_paginator("list_topics").paginate())
        items += sum(len(p["Subscriptions"]) for p in c["sns"].get_paginator("list_subscriptions").paginate())
        for page in (
            c["resourcegroupstaggingapi"]
            .get_paginator("get_resources")
            .paginate(ResourceTypeFilters=list(TAGGING_API_KINDS), ResourcesPerPage=100)
        ):
            items += len(page["ResourceTagMappingList"])
        for page in c["kinesis"].get_paginator("list_streams").paginate():
            for stream in page.get("StreamSummaries", []):
                items += len(c["kinesis"].list_tags_for_stream(StreamARN=stream["StreamARN"])["Tags"])
        items += sum(len(p["items"]) for p in c["apigateway"].get_paginator("get_rest_apis").paginate(limit=500))
        items += len(c["apigatewayv2"].get_apis(MaxResults="500").get("Items", []))
        return items


def write_statements(queries) -> list[str]:
    """Statements that wrote a catalog row; the SyncRun rows (the report and the lock) are expected."""
    writes = []
    for query in queries:
        sql = query["sql"].lstrip()
        if sql.upper().startswith(("INSERT", "UPDATE", "DELETE")) and SyncRun._meta.db_table not in sql:
            writes.append(sql[:120])
    return writes


@contextmanager
def network_latency(seconds: float):
    """Every AWS request of this process, the subject's and the reference's alike, answered ``seconds`` later,
    as a remote AWS answers: the local AWS answers in a millisecond and spends CPU of this machine instead. The
    wait holds no lock, as waiting for the network does not."""
    send = Endpoint._send

    def delayed(endpoint, request):
        time.sleep(seconds)
        return send(endpoint, request)

    Endpoint._send = delayed
    try:
        yield
    finally:
        Endpoint._send = send


def bench_refresh(total: int, latency_ms: float = 0) -> None:
    """With ``latency_ms``, the same refresh and reference with every AWS request answered that much later
    (planting is not delayed): what overlapping keys and calls buys against a remote AWS."""
    local = start_local_aws_process()
    try:
        with local_aws_environ(local):
            aws.forget_sessions()
            started = time.perf_counter()
            plant_alarms(total)
            for account_id in ACCOUNTS:
                for region in REGIONS:
                    plant_resources(account_id, region)
            print(f"planted {total} alarms and their resources in local AWS in {time.perf_counter() - started:.1f}s")
            reset_catalog()
            register_accounts()
            ownership()
            with network_latency(latency_ms / 1000) if latency_ms else nullcontext():
                if latency_ms:
                    print(f"every AWS request answered {latency_ms:g} ms later (network latency); no targets")
                reference = BareBoto3(ACCOUNTS)
                reference()  # warm up: connections
                refresh_everything()
                keys = len(ACCOUNTS) * len(REGIONS)
                print(f"reference: bare boto3 making the same AWS calls for {keys} keys, median of {REPEATS}")
                for jobs in JOBS:
                    bench_refresh_jobs(reference, jobs, keys, targets=not latency_ms)
    finally:
        local.stop()


def bench_refresh_jobs(reference: BareBoto3, jobs: int, keys: int, *, targets: bool = True) -> None:
    subject, bare = partial(refresh_everything, jobs), partial(reference, jobs)
    full, full_reference = interleaved(subject, bare, setup=empty_catalog)
    assigned = Alarm.objects.filter(service__isnull=False).count()
    with CaptureQueriesContext(connection) as queries:
        noop, noop_reference = interleaved(subject, bare)
    writes = write_statements(queries)
    counted = sum(run.created + run.updated + run.deleted for run in SyncRun.objects.order_by("-id")[: 2 * keys])
    full_target, noop_target = ("  (target <= 1.3)", "  (target <= 1.1)") if targets else ("", "")
    print(f"{jobs} key(s) at a time (sync_aws --jobs {jobs}; the reference likewise):")
    print(
        f"  full refresh into an empty catalog ({Alarm.objects.count()} alarms, {assigned} assigned by rules): "
        f"{full:.2f}s vs {full_reference:.2f}s  ratio {full / full_reference:.2f}{full_target}"
    )
    print(f"  no-op refresh: {noop:.2f}s vs {noop_reference:.2f}s  ratio {noop / noop_reference:.2f}{noop_target}")
    print(
        f"  rows written by the no-op refreshes: {len(writes)} statements besides SyncRun rows, "
        f"{counted} rows counted by the runs (target 0)"
    )
    for sql in writes[:5]:
        print(f"    {sql}")


# --- At scale: two Celery workers -----------------------------------------------------------------------


def scale_accounts(count: int) -> list[str]:
    return [f"{500000000000 + i:012d}" for i in range(count)]


def plant_scale(accounts: list[str], per_key: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: put_bench_alarms(*key, per_key), [(a, r) for a in accounts for r in REGIONS]))


def start_workers(count: int, environ: dict) -> list[subprocess.Popen]:
    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    return [
        subprocess.Popen(
            [
                celery,
                "-A",
                "portal",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "-n",
                f"bench{i}@%h",
                "-l",
                "WARNING",
            ],
            env=environ,
            stdout=subprocess.DEVNULL,
        )
        for i in range(count)
    ]


def wait_for_runs(keys: int, since_id: int, timeout: float = 1800) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = SyncRun.objects.filter(id__gt=since_id).exclude(status=SyncStatus.RUNNING).count()
        if done >= 2 * keys:
            return True
        time.sleep(0.2)
    return False


def fan_out(keys: int) -> tuple[float, list[SyncRun]]:
    from alarms.tasks import sync_all_accounts

    since = SyncRun.objects.order_by("-id").values_list("id", flat=True).first() or 0
    started = time.perf_counter()
    sync_all_accounts.delay("bench")
    if not wait_for_runs(keys, since):
        raise RuntimeError("the workers did not finish every key in time")
    return time.perf_counter() - started, list(SyncRun.objects.filter(id__gt=since))


def calls_per_second(runs: list[SyncRun]) -> float:
    """Median over keys of (AWS calls of the key's two runs) / (their duration)."""
    by_key: dict[tuple, list[SyncRun]] = {}
    for run in runs:
        by_key.setdefault((run.account_id, run.region), []).append(run)
    rates = [
        sum(r.api_calls for r in pair) / max(sum(r.duration_ms or 0 for r in pair) / 1000, 0.001)
        for pair in by_key.values()
    ]
    return statistics.median(rates)


def bench_refresh_scale(account_count: int, total: int) -> None:
    from portal.celery import app as celery_app

    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        print("refresh-scale needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); skipped")
        return
    accounts = scale_accounts(account_count)
    keys = account_count * len(REGIONS)
    local = start_local_aws_process()
    workers = []
    try:
        with local_aws_environ(local):
            aws.forget_sessions()
            started = time.perf_counter()
            plant_scale(accounts, total // keys)
            print(f"planted {total} alarms in {keys} keys in {time.perf_counter() - started:.1f}s")
            reset_catalog()
            register_accounts(accounts)
            ownership()
            cache.clear()
            celery_app.control.purge()
            workers = start_workers(2, {**os.environ, **local.environ})
            full_wall, full_runs = fan_out(keys)
            noop_wall, noop_runs = fan_out(keys)
        failed = [r for r in full_runs + noop_runs if r.status != SyncStatus.SUCCEEDED]
        alarms = sum(r.created for r in full_runs if r.kind == SyncKind.ALARMS)
        print(f"{account_count} accounts x {len(REGIONS)} regions, {alarms} alarms, 2 Celery workers (Redis broker)")
        print(f"  full refresh: {full_wall:.1f}s wall, {calls_per_second(full_runs):.1f} AWS calls/s per key (median)")
        print(f"  no-op refresh: {noop_wall:.1f}s wall, {calls_per_second(noop_runs):.1f} AWS calls/s per key (median)")
        if failed:
            print(f"  {len(failed)} runs failed, e.g. {failed[0].error[:200]}")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        local.stop()
