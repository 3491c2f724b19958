"""List bench: the alarm list page and the API list over a large catalog, against raw SQL of the same rows."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.models import Alarm, AwsAccount, Service, Team
from bench.common import REGIONS, p95, reset_catalog

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
