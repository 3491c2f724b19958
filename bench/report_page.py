"""Noise report bench: the report page and its JSON API over a year of alerts of a realistic estate (20 teams,
100 services, 2,000 alarms, 100,000 alerts, half the teams reviewed), for 12 weeks and for a whole year, each
against one raw SQL statement computing the same weekly counts by team and service."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.models import Alarm, AwsAccount, Service, Team
from alarms.review.models import Review
from bench.common import p95, reset_catalog
from bench.lists import bench_client, timed
from incidents.models import Alert, Incident, TeamAlertPolicy
from portal.db import insert_rows

TEAMS, SERVICES = 20, 100
OUTCOMES = ("transient", "transient", "transient", "no_action", "actioned", "duplicate", "customer_impact", "")

# The weekly counts by team and service the report starts from, as one statement (PostgreSQL).
WEEKLY_SQL = """
    SELECT date_trunc('week', a.opened_at AT TIME ZONE %(tz)s) AS week, m.owner_team_id, m.service_id, count(*),
        count(*) FILTER (WHERE m.tier = 'page' AND m.actions_enabled)
    FROM incidents_alert a JOIN alarms_alarm m ON m.id = a.alarm_id
    WHERE a.opened_at >= %(since)s AND a.opened_at < %(until)s
    GROUP BY 1, 2, 3
"""


def plant_estate(alarms: int, alerts: int, now: datetime, seed: int = 7) -> None:
    """Teams, services, alarms (a third page tier) and a year of alerts, a burst now and then."""
    rng = random.Random(seed)
    Review.objects.all().delete()
    Incident.objects.all().delete()
    Alert.objects.all().delete()
    reset_catalog()
    account = AwsAccount.objects.create(account_id="111111111111", name="bench", regions=["eu-west-1"])
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(TEAMS)]
    TeamAlertPolicy.objects.filter(team__in=teams).delete()
    TeamAlertPolicy.objects.bulk_create(
        TeamAlertPolicy(team=t, weekly_page_budget=10 + i) for i, t in enumerate(teams[:5])
    )
    services = [
        Service.objects.get_or_create(slug=f"svc-{i}", defaults={"name": f"Service {i}", "team": teams[i % TEAMS]})[0]
        for i in range(SERVICES)
    ]
    created = Alarm.objects.bulk_create(
        (
            Alarm(
                arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:svc-{i % SERVICES}-alarm-{i}",
                account=account,
                region="eu-west-1",
                name=f"svc-{i % SERVICES}-alarm-{i}",
                service=services[i % SERVICES],
                owner_team=services[i % SERVICES].team,
                tier=("page", "ticket", "info")[i % 3],
                actions_enabled=i % 11 != 0,
            )
            for i in range(alarms)
        ),
        batch_size=1000,
    )
    ids = [alarm.pk for alarm in created]
    noisy = ids[: len(ids) // 20]  # one alarm in twenty fires most of the time
    span = timedelta(days=365).total_seconds()
    rows = []
    for i in range(alerts):
        alarm_id = rng.choice(noisy) if rng.random() < 0.5 else rng.choice(ids)
        opened = now - timedelta(seconds=span * rng.random())
        outcome = rng.choice(OUTCOMES)
        rows.append(
            {
                "alarm_id": alarm_id,
                "opened_at": opened + timedelta(microseconds=i),  # one opening per alarm and instant
                "closed_at": opened + timedelta(seconds=rng.randint(60, 7200)) if i % 500 else None,
                "outcome": outcome,
                "outcome_inferred": outcome in ("transient", "duplicate"),
                "first_response_at": opened + timedelta(seconds=rng.randint(30, 1800))
                if outcome in ("actioned", "customer_impact", "no_action")
                else None,
            }
        )
    # An alarm has one open alert at most: keep the first of each alarm's open ones.
    seen = set()
    for row in rows:
        if row["closed_at"] is None:
            if row["alarm_id"] in seen:
                row["closed_at"] = row["opened_at"] + timedelta(minutes=5)
            seen.add(row["alarm_id"])
    insert_rows(Alert, rows)
    for i, team in enumerate(teams[: TEAMS // 2]):
        for week in range(10, 30, 4):
            opened = now - timedelta(weeks=week + i % 4)
            year, number, _ = opened.isocalendar()
            Review.objects.get_or_create(
                team=team, week=f"{year}-W{number:02d}", defaults={"opened_at": opened, "lookback_days": 90}
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def weekly_reference(since: datetime, until: datetime):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(WEEKLY_SQL, {"tz": str(timezone.get_current_timezone()), "since": since, "until": until})
            return cursor.fetchall()

    return run


def bench_report_page(alarms: int, alerts: int, requests: int) -> None:
    if connection.vendor != "postgresql":
        print("report-page: the reference is PostgreSQL SQL; skipped on", connection.vendor)
        return
    client, _ = bench_client()
    now = timezone.now()
    plant_estate(alarms, alerts, now)
    print(f"report over {Alert.objects.count():,} alerts of {alarms:,} alarms, {TEAMS} teams, {SERVICES} services")
    tz = timezone.get_current_timezone()
    for weeks in (12, 52):
        local = now.astimezone(tz)
        monday = datetime(local.year, local.month, local.day, tzinfo=tz) - timedelta(days=local.weekday())
        since = (monday - timedelta(weeks=weeks - 1)).astimezone(UTC)
        reference = weekly_reference(since, now)
        for label, url in (
            (f"report page /reports/?weeks={weeks}", f"/reports/?weeks={weeks}"),
            (f"API /api/v1/reports/?weeks={weeks}", f"/api/v1/reports/?weeks={weeks}"),
        ):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            count = len(queries)
            timings, reference_timings = [], []
            for _ in range(requests):
                timings.append(timed(lambda url=url: client.get(url)))
                reference_timings.append(timed(reference))
            subject_p95, reference_p95 = p95(timings), p95(reference_timings)
            print(
                f"{label}: {count} queries (target <= 15); p95 {subject_p95 * 1000:.1f} ms (median "
                f"{statistics.median(timings) * 1000:.1f}), one SQL statement of the weekly counts p95 "
                f"{reference_p95 * 1000:.1f} ms (median {statistics.median(reference_timings) * 1000:.1f}); "
                f"ratio {subject_p95 / reference_p95:.1f}"
            )
