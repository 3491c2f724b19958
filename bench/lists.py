"""List bench: the alarm list page and the API list over a large catalog, against raw SQL of the same rows."""

from __future__ import annotations

import gc
import statistics
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.models import Alarm, AwsAccount, Service, Team
from bench.common import REGIONS, p95, reset_catalog

# --- The catalog ----------------------------------------------------------------------------------------

SYNCED_AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def bench_alarm(i: int, account: AwsAccount, services: list[Service], teams: list[Team]) -> Alarm:
    """Alarm ``i`` of the catalog, with every kind of definition the sync stores: plain metric alarms with
    AWS's state reason document, percentiles, metric math, composites; owned or not, with or without purpose."""
    region = REGIONS[i % 2]
    name = f"svc-{i % 12}-fn-{i}-Errors"
    function = f"svc-{i % 12}-fn-{i}"
    changed = SYNCED_AT - timedelta(minutes=i, microseconds=i * 7)
    kind = i % 10
    alarm = Alarm(
        arn=f"arn:aws:cloudwatch:{region}:111111111111:alarm:{name}",
        account=account,
        region=region,
        name=name,
        description=f"Errors of {function} — page the owner when customers see failures." if i % 3 else "",
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={"FunctionName": function},
        statistic="Sum",
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=1.0 + (i % 7) / 4,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="notBreaching",
        actions_enabled=i % 17 != 0,
        alarm_actions=[f"arn:aws:sns:{region}:111111111111:ops-alerts"],
        ok_actions=[f"arn:aws:sns:{region}:111111111111:ops-alerts"] if i % 4 == 0 else [],
        state=("OK", "ALARM", "INSUFFICIENT_DATA")[i % 3],
        state_reason="Threshold Crossed: 3 datapoints [0.0, 0.0, 0.0] were not greater than or equal to the "
        "threshold (1.0).",
        state_reason_data={
            "version": "1.0",
            "queryDate": (changed + timedelta(seconds=30)).isoformat(),
            "startDate": (changed - timedelta(minutes=3)).isoformat(),
            "statistic": "Sum",
            "period": 60,
            "recentDatapoints": [0.0, 0.0, float(i % 3)],
            "threshold": 1.0,
            "evaluatedDatapoints": [{"timestamp": changed.isoformat(), "sampleCount": 12.0, "value": 0.0}],
        },
        state_updated_at=changed,
        state_transitioned_at=changed - timedelta(hours=i % 48),
        configuration_updated_at=changed - timedelta(days=30),
        tags={"service": f"svc-{i % 12}", "stage": "prod"},
        stack_name=f"svc-{i % 12}-monitoring" if i % 5 else "",
        service=services[i % 12] if kind < 8 else None,
        owner_team=teams[i % 4] if kind < 8 else None,
        purpose_detects="Customers' requests fail" if kind < 5 else "",
        purpose_customer_impact="Checkout fails" if kind < 5 else "",
        purpose_action="Roll back the last release" if kind < 5 else "",
        runbook_url=f"https://runbooks.example.com/svc-{i % 12}" if kind < 3 else "",
        signal_kind="symptom" if kind < 4 else "",
        tier=("page", "ticket", "info")[i % 3] if kind < 6 else "",
    )
    if kind == 8:  # a latency percentile
        alarm.statistic, alarm.extended_statistic, alarm.unit = "", "p99", "Milliseconds"
        alarm.evaluate_low_sample_count_percentile = "ignore"
        alarm.extra_settings = {"EvaluationInterval": 60}
    elif kind == 9 and i % 20 == 9:  # a composite
        alarm.alarm_type, alarm.namespace, alarm.metric_name, alarm.dimensions = "composite", "", "", {}
        alarm.statistic, alarm.period, alarm.evaluation_periods, alarm.datapoints_to_alarm = "", None, None, None
        alarm.threshold, alarm.comparison_operator, alarm.treat_missing_data = None, "", ""
        alarm.alarm_rule = f'ALARM("svc-{i % 12}-fn-{i - 1}-Errors") AND ALARM("svc-{i % 12}-fn-{i - 2}-Errors")'
        alarm.actions_suppressor = f"arn:aws:cloudwatch:{region}:111111111111:alarm:maintenance"
        alarm.actions_suppressor_wait_period, alarm.actions_suppressor_extension_period = 60, 120
    elif kind == 9:  # metric math, with an anomaly band
        alarm.namespace, alarm.metric_name, alarm.dimensions, alarm.statistic, alarm.period = "", "", {}, "", None
        alarm.threshold_metric_id, alarm.comparison_operator = "ad1", "GreaterThanUpperThreshold"
        alarm.metrics = [
            {
                "Id": "m1",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": [function]},
                    "Period": 60,
                    "Stat": "Sum",
                },
            },
            {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)", "ReturnData": True},
        ]
        alarm.evaluation_state = "PARTIAL_DATA" if i % 3 == 0 else ""
    return alarm


def plant_catalog(total: int) -> None:
    reset_catalog()
    account = AwsAccount.objects.create(account_id="111111111111", name="bench", regions=list(REGIONS))
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(4)]
    services = [
        Service.objects.get_or_create(slug=f"svc-{i}", defaults={"name": f"Service {i}", "team": teams[i % 4]})[0]
        for i in range(12)
    ]
    alarms = Alarm.objects.bulk_create(
        (bench_alarm(i, account, services, teams) for i in range(total)),
        batch_size=1000,
    )
    # One alarm in twenty was replaced by a renamed successor of the same service (both still live).
    replaced = alarms[: max(total - 12, 0) : 20]
    for i, alarm in zip(range(0, total, 20), replaced, strict=False):
        alarm.replaced_by = alarms[i + 12]
    Alarm.objects.bulk_update(replaced, ["replaced_by"], batch_size=500)
    # A live database has planner statistics and autovacuum: without them PostgreSQL sorts the whole catalog
    # for a page and counts through the dead rows of every earlier run's reset.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- References -----------------------------------------------------------------------------------------

# What the list page shows of each alarm.
PAGE_SQL = """
    SELECT a.id, a.arn, a.name, a.state, a.region, a.tier, acc.account_id, s.slug, t.slug
    FROM alarms_alarm a
    JOIN alarms_awsaccount acc ON acc.id = a.account_id
    LEFT JOIN alarms_service s ON s.id = a.service_id
    LEFT JOIN alarms_team t ON t.id = a.owner_team_id
    WHERE a.deleted_at IS NULL
    ORDER BY a.name, a.id
    LIMIT %s
"""

# Every column an API item carries, in the item's order, with the same joins and the same rows.
API_SQL = """
    SELECT a.id, a.arn, a.name, acc.account_id, a.region, a.alarm_type, a.description, a.state,
        a.state_reason, a.state_reason_data, a.state_updated_at, a.state_transitioned_at, a.evaluation_state,
        a.deleted_at, s.slug, t.slug, a.purpose_detects, a.purpose_customer_impact, a.purpose_action,
        a.runbook_url, a.signal_kind, a.tier, a.namespace, a.metric_name, a.dimensions, a.statistic,
        a.extended_statistic, a.unit, a.period, a.evaluation_periods, a.datapoints_to_alarm, a.threshold,
        a.comparison_operator, a.treat_missing_data, a.evaluate_low_sample_count_percentile,
        a.threshold_metric_id, a.metrics, a.alarm_rule, a.actions_suppressor, a.actions_suppressor_wait_period,
        a.actions_suppressor_extension_period, a.extra_settings, a.actions_enabled, a.alarm_actions, a.ok_actions,
        a.insufficient_data_actions, a.tags, a.stack_name, a.configuration_updated_at, a.first_seen_at,
        successor.arn, predecessor.arn, a.replacement_dismissed,
        CASE WHEN a.suggested_by <> '' THEN json_build_object('detects', a.suggested_detects,
            'customer_impact', a.suggested_customer_impact, 'action', a.suggested_action) END,
        a.suggested_signal_kind, a.suggested_tier
    FROM alarms_alarm a
    JOIN alarms_awsaccount acc ON acc.id = a.account_id
    LEFT JOIN alarms_service s ON s.id = a.service_id
    LEFT JOIN alarms_team t ON t.id = a.owner_team_id
    LEFT JOIN alarms_alarm successor ON successor.id = a.replaced_by_id
    LEFT JOIN alarms_alarm predecessor ON predecessor.replaced_by_id = a.id
    WHERE a.deleted_at IS NULL
    ORDER BY a.name, a.id
    LIMIT %s
"""


def raw_rows(sql: str, limit: int) -> tuple[list[tuple], int]:
    """The rows and the number of columns."""
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return cursor.fetchall(), len(cursor.description)


# --- The bench ------------------------------------------------------------------------------------------


def timed(run) -> float:
    """Seconds ``run`` takes, from a collected heap (as ``timeit`` keeps the collector out of its figures).

    A DRF request leaves its page in reference cycles (view, paginator, serializer, response), which only
    the cyclic collector frees; its full passes walk the whole process (~100,000 objects, 60-150 ms here).
    Left to chance, they land on whichever side allocates next, often the reference, and decide both p95s.
    """
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bench_client(username: str = "bench"):
    """A logged-in test client on one persistent connection, as a server with persistent connections keeps
    (so that the query log survives the request)."""
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Pages link their stylesheet; without a collectstatic run, plain storage names it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return client, user


def pages_p95(client, targets, requests: int, *, max_queries: int = 12) -> None:
    """For each (label, url, reference, reference label): the page's query count and p95 against the
    reference's, interleaved. An API page's items must match the reference's rows and columns."""
    for label, url, reference, reference_label in targets:
        response = client.get(url)
        if response.status_code != 200:
            print(f"{label}: HTTP {response.status_code}, skipped")
            continue
        if response["Content-Type"].startswith("application/json"):
            items = response.json()["results"]
            rows, columns = reference()
            # The reference must fetch what the API renders, not less.
            assert (len(rows), columns) == (len(items), len(items[0])), (len(rows), columns, len(items[0]))
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        query_count = len(queries)  # read now: the captured list is a view on the connection's log
        timings, reference_timings = [], []
        for _ in range(requests):
            timings.append(timed(lambda url=url: client.get(url)))
            reference_timings.append(timed(reference))
        subject_p95, subject_median = p95(timings), statistics.median(timings)
        reference_p95, reference_median = p95(reference_timings), statistics.median(reference_timings)
        print(
            f"{label}: {query_count} queries (target <= {max_queries}); p95 {subject_p95 * 1000:.1f} ms (median "
            f"{subject_median * 1000:.1f}), {reference_label} p95 {reference_p95 * 1000:.1f} ms "
            f"(median {reference_median * 1000:.1f}); ratio {subject_p95 / reference_p95:.1f} "
            f"(of medians {subject_median / reference_median:.1f})"
        )
    reset_queries()


def bench_lists(total: int, requests: int) -> None:
    client, _ = bench_client()
    plant_catalog(total)
    shown, same = "raw SQL of the same rows and the columns shown", "raw SQL of the same rows and columns"
    page, api = (lambda: raw_rows(PAGE_SQL, 50)), (lambda: raw_rows(API_SQL, 500))
    pages_p95(
        client,
        [
            ("alarm list page /alarms/ (50 a page)", "/alarms/?state=ALARM&ordering=name", page, shown),
            ("alarm list page /alarms/ (no filter)", "/alarms/", page, shown),
            ("API /api/v1/alarms/?page_size=500", "/api/v1/alarms/?page_size=500", api, same),
        ],
        requests,
    )
