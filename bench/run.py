"""Benchmarks of the catalog. Each figure is printed with its ratio to a reference measured in the same run.

    make bench                       # all
    make bench BENCH_ARGS="sync"     # one of: sync, lists

See bench/README.md for what is measured and the targets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("OKAMI_VAR_DIR", str(ROOT / "var" / "bench"))

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from alarms import aws  # noqa: E402
from alarms.models import Alarm, AuditEntry, AwsAccount, MappingRule, Resource, Service, SyncRun, Team  # noqa: E402
from alarms.services import rule_sql  # noqa: E402
from alarms.services.accounts import aws_account_register  # noqa: E402
from alarms.services.bulk import alarms_bulk_assign  # noqa: E402
from alarms.services.links import links_refresh  # noqa: E402
from alarms.services.mapping import rules_apply, rules_enabled  # noqa: E402
from alarms.services.sync import sync_alarms, sync_targets  # noqa: E402
from portal.localaws import local_aws_environ, role_arn, start_local_aws  # noqa: E402

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1")
REPEATS = 5


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def reset_catalog() -> None:
    SyncRun.objects.all().delete()
    Alarm.objects.all().delete()
    Resource.objects.all().delete()
    AwsAccount.objects.all().delete()


# --- Sync ---------------------------------------------------------------------------------------------


def plant_alarms(total: int) -> None:
    per_key = total // (len(ACCOUNTS) * len(REGIONS))
    for account_id in ACCOUNTS:
        access = aws.AccountAccess(account_id, role_arn(account_id), "bench")
        for region in REGIONS:
            cloudwatch = aws.client("cloudwatch", access=access, region=region)
            for i in range(per_key):
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


def interleaved(subject, reference, repeats: int = REPEATS, setup=None) -> tuple[float, float]:
    """Median times of subject and reference, run alternately so that machine noise hits both alike.
    ``setup`` runs untimed before each run of the subject."""
    subject_times, reference_times = [], []
    for _ in range(repeats):
        for run, times in ((reference, reference_times), (subject, subject_times)):
            if setup and run is subject:
                setup()
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
    return statistics.median(subject_times), statistics.median(reference_times)


def bench_sync(total: int) -> None:
    local = start_local_aws()
    try:
        with local_aws_environ(local):
            started = time.perf_counter()
            plant_alarms(total)
            print(f"planted {total} alarms in local AWS in {time.perf_counter() - started:.1f}s")
            reset_catalog()
            for account_id in ACCOUNTS:
                aws_account_register(
                    account_id=account_id,
                    name=f"bench-{account_id[:3]}",
                    regions=list(REGIONS),
                    role_arn=role_arn(account_id),
                    external_id="bench",
                )
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


# --- Lists ----------------------------------------------------------------------------------------------


def plant_catalog(total: int) -> None:
    reset_catalog()
    account = AwsAccount.objects.create(account_id="111111111111", name="bench", regions=list(REGIONS))
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(4)]
    services = [
        Service.objects.get_or_create(slug=f"svc-{i}", defaults={"name": f"Service {i}", "team": teams[i % 4]})[0]
        for i in range(12)
    ]
    Alarm.objects.bulk_create(
        (
            Alarm(
                arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:svc-{i % 12}-fn-{i}-Errors",
                account=account,
                region=REGIONS[i % 2],
                name=f"svc-{i % 12}-fn-{i}-Errors",
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": f"svc-{i % 12}-fn-{i}"},
                state=("OK", "ALARM", "INSUFFICIENT_DATA")[i % 3],
                service=services[i % 12] if i % 10 < 8 else None,
                owner_team=teams[i % 4] if i % 10 < 8 else None,
                tags={"service": f"svc-{i % 12}"},
            )
            for i in range(total)
        ),
        batch_size=1000,
    )


RAW_PAGE_SQL = """
    SELECT a.id, a.arn, a.name, a.state, a.region, a.tier, acc.account_id, s.slug, t.slug
    FROM alarms_alarm a
    JOIN alarms_awsaccount acc ON acc.id = a.account_id
    LEFT JOIN alarms_service s ON s.id = a.service_id
    LEFT JOIN alarms_team t ON t.id = a.owner_team_id
    WHERE a.deleted_at IS NULL
    ORDER BY a.name, a.id
    LIMIT %s
"""


def bench_lists(total: int, requests: int) -> None:
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Pages link their stylesheet; without a collectstatic run, plain storage names it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Keep one connection across requests, as a server with persistent connections does (and so that
    # the query log survives the request).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    plant_catalog(total)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    targets = [
        ("alarm list page /alarms/ (50 a page)", "/alarms/?state=ALARM&ordering=name", 50),
        ("alarm list page /alarms/ (no filter)", "/alarms/", 50),
        ("API /api/v1/alarms/?page_size=500", "/api/v1/alarms/?page_size=500", 500),
    ]

    def raw_page(limit):
        with connection.cursor() as cursor:
            cursor.execute(RAW_PAGE_SQL, [limit])
            return cursor.fetchall()

    for label, url, limit in targets:
        response = client.get(url)
        if response.status_code != 200:
            print(f"{label}: HTTP {response.status_code}, skipped")
            continue
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        query_count = len(queries)  # read now: the captured list is a view on the connection's log
        timings, reference = [], []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(url)
            timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            raw_page(limit)
            reference.append(time.perf_counter() - started)
        print(
            f"{label}: {query_count} queries (target <= 12), p95 {p95(timings) * 1000:.1f} ms; "
            f"raw SQL of the same rows p95 {p95(reference) * 1000:.1f} ms (ratio {p95(timings) / p95(reference):.1f})"
        )
    reset_queries()


# --- Ownership ------------------------------------------------------------------------------------


def plant_estate_for_rules(alarms: int, resources: int) -> None:
    """Alarms of 12 services: 60% tagged, 20% untagged on a tagged resource, 20% matched only by name."""
    reset_catalog()
    MappingRule.objects.all().delete()
    account = AwsAccount.objects.create(account_id="111111111111", name="bench", regions=list(REGIONS))
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(4)]
    for i in range(12):
        Service.objects.update_or_create(slug=f"svc-{i}", defaults={"name": f"Service {i}", "team": teams[i % 4]})
    Resource.objects.bulk_create(
        (
            Resource(
                arn=f"arn:aws:lambda:eu-west-1:111111111111:function:svc-{i % 12}-fn-{i}",
                account=account,
                region="eu-west-1",
                kind="lambda:function",
                name=f"svc-{i % 12}-fn-{i}",
                tags={"service": f"svc-{i % 12}", "team": f"team-{i % 4}"},
            )
            for i in range(resources)
        ),
        batch_size=2000,
    )
    Alarm.objects.bulk_create(
        (
            Alarm(
                arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:svc-{i % 12}-prod-fn-{i}-Errors",
                account=account,
                region="eu-west-1",
                name=f"svc-{i % 12}-prod-fn-{i}-Errors",
                dimensions={"FunctionName": f"svc-{i % 12}-fn-{i}"},
                tags={"service": f"svc-{i % 12}", "team": f"team-{i % 4}"} if i % 10 < 6 else {},
            )
            for i in range(alarms)
        ),
        batch_size=2000,
    )
    links_refresh(account=account, region="eu-west-1")
    rules = [
        {
            "position": 10,
            "name": "service tag",
            "match": "tag",
            "tag_key": "service",
            "pattern": "*",
            "service_from_value": True,
        },
        {
            "position": 20,
            "name": "team tag",
            "match": "tag",
            "tag_key": "team",
            "pattern": "*",
            "team_from_value": True,
        },
        {
            "position": 30,
            "name": "naming",
            "match": "name_regex",
            "pattern": r"^(?P<service>svc-\d+)-prod-",
            "service_from_value": True,
        },
    ]
    for rule in rules:
        MappingRule.objects.create(**rule)


def unassign_all() -> None:
    with transaction.atomic():
        Alarm.objects.update(service=None, owner_team=None, service_source="", owner_team_source="")
        Resource.objects.update(service=None, owner_team=None)


def bulk_sql_update() -> None:
    """The reference: the same assignment as bulk SQL UPDATEs (alarms, with the same rules, inheritance and
    owner fallback, then resources), with no plan, no audit and no dry run."""
    rules = rules_enabled()
    query = rule_sql.assignment_query(rules)
    resources = rule_sql.resource_assignment_update(rules)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE alarms_alarm SET service_id = q.new_service, owner_team_id = q.new_team "
            f"FROM ({query.sql}) AS q WHERE q.id = alarms_alarm.id",
            query.params,
        )
        cursor.execute(resources.sql, resources.params)


def tags_only_update() -> None:
    """For context: the cheapest UPDATE there is, from the alarm's own tags only (no inheritance, no names)."""
    tag = "json_extract(a.tags, '$.{}')" if connection.vendor == "sqlite" else "a.tags->>'{}'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE alarms_alarm AS a SET
                service_id = (SELECT s.id FROM alarms_service s WHERE s.slug = {tag.format("service")}),
                owner_team_id = (SELECT t.id FROM alarms_team t WHERE t.slug = {tag.format("team")})"""
        )


def bench_rules(alarms: int, resources: int) -> None:
    plant_estate_for_rules(alarms, resources)
    mine, reference, naive = [], [], []
    for _ in range(REPEATS):
        unassign_all()
        started = time.perf_counter()
        tags_only_update()
        naive.append(time.perf_counter() - started)
        unassign_all()
        started = time.perf_counter()
        bulk_sql_update()
        reference.append(time.perf_counter() - started)
        unassign_all()
        AuditEntry.objects.all().delete()
        started = time.perf_counter()
        changed = rules_apply()
        mine.append(time.perf_counter() - started)
    started = time.perf_counter()
    again = rules_apply()
    rerun = time.perf_counter() - started
    ours, ref = statistics.median(mine), statistics.median(reference)
    owned = Alarm.objects.filter(owner_team__isnull=False).count()
    print(
        f"mapping rules over {alarms} alarms and {resources} resources: {ours:.2f}s "
        f"({changed} reassigned, {owned} owned, audited)"
    )
    print(f"  bulk SQL UPDATE of the same assignment: {ref:.2f}s  ratio {ours / ref:.1f}  (targets <= 5 s, <= 3)")
    print(f"  re-run with nothing to change: {rerun:.2f}s, {again} reassigned")
    print(f"  (for context, an UPDATE from the alarms' own tags only: {statistics.median(naive):.2f}s)")

    user, _ = get_user_model().objects.get_or_create(username="bench-editor", defaults={"is_superuser": True})
    ids = list(Alarm.objects.order_by("id").values_list("id", flat=True)[:1000])
    team = Team.objects.order_by("slug").first()
    for size in (10, 1000):
        Alarm.objects.update(owner_team=None)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            alarms_bulk_assign(alarm_ids=ids[:size], actor=user, owner_team=team, tier="ticket")
            elapsed = time.perf_counter() - started
        print(f"bulk assignment of {size} alarms: {len(queries)} queries, {elapsed * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", help="benches to run: sync, lists, rules (default: all)")
    parser.add_argument("--alarms", type=int, default=5000, help="alarms planted in local AWS for the sync bench")
    parser.add_argument("--catalog", type=int, default=10000, help="alarms in the catalog for the list bench")
    parser.add_argument("--requests", type=int, default=40, help="requests per list for the p95")
    parser.add_argument("--resources", type=int, default=20000, help="resources in the inventory for the rules bench")
    args = parser.parse_args()
    which = args.which or ["sync", "lists", "rules"]
    unknown = set(which) - {"sync", "lists", "rules"}
    if unknown:
        parser.error(f"unknown bench: {', '.join(sorted(unknown))}")
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    if "sync" in which:
        bench_sync(args.alarms)
    if "lists" in which:
        bench_lists(args.catalog, args.requests)
    if "rules" in which:
        bench_rules(args.catalog, args.resources)


if __name__ == "__main__":
    main()
