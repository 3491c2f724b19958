"""Alert list bench: the alert list, the inbox, the alerts API and the incident list over 100,000 alerts,
each against raw SQL of the same rows (and the count the page shows)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from django.db import connection

from alarms.models import Alarm, Team
from bench.lists import bench_client, pages_p95, plant_catalog
from incidents.models import Alert, Incident
from portal.db import insert_rows

END = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
OUTCOMES = ("transient", "transient", "transient", "no_action", "actioned", "duplicate", "customer_impact")


def plant_alerts(total: int, seed: int = 11) -> None:
    """``total`` alerts over ninety days on the catalog's alarms, in incidents of their service, four in five
    with an outcome (most of them inferred), the rest waiting in the inboxes."""
    Incident.objects.all().delete()
    Alert.objects.all().delete()
    rng = random.Random(seed)
    alarms = list(Alarm.objects.filter(service__isnull=False).values_list("pk", "service_id", "service__name"))
    span = timedelta(days=90).total_seconds()
    rows, incidents = [], []
    for i in range(total):
        alarm_id, service_id, _ = alarms[rng.randrange(len(alarms))]
        opened = END - timedelta(seconds=span * i / total + rng.random())
        labelled = rng.random() < 0.8
        outcome = rng.choice(OUTCOMES) if labelled else ""
        rows.append(
            {
                "alarm_id": alarm_id,
                "opened_at": opened,
                "closed_at": None if i == 0 else opened + timedelta(seconds=rng.randint(60, 3600)),
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [3.0] was greater than the threshold.",
                "outcome": outcome,
                "outcome_inferred": outcome in ("transient", "duplicate"),
                "outcome_at": opened + timedelta(minutes=5) if labelled else None,
                "first_response_at": opened + timedelta(minutes=4) if outcome in ("actioned", "no_action") else None,
            }
        )
        if i % 3 == 0:
            incidents.append(
                {
                    "service_id": service_id,
                    "title": f"incident {i}",
                    "opened_at": opened,
                    "last_alert_at": opened,
                    "closed_at": opened + timedelta(hours=1),
                    "customer_impact": "unknown",
                    "announcement": "none",
                    "created_at": opened,
                }
            )
    insert_rows(Alert, rows)
    insert_rows(Incident, incidents)
    # Every alert in an incident of its service opened near it: the incidents' ids in time order.
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE incidents_alert a SET incident_id = i.id FROM incidents_incident i
               WHERE i.opened_at = a.opened_at"""
        )
        cursor.execute("ANALYZE")


ALERT_PAGE_SQL = """
    SELECT a.id, a.opened_at, a.closed_at, a.reason, a.outcome, a.outcome_inferred, al.id, al.name,
        s.name, t.name
    FROM incidents_alert a
    JOIN alarms_alarm al ON al.id = a.alarm_id
    LEFT JOIN alarms_service s ON s.id = al.service_id
    LEFT JOIN alarms_team t ON t.id = al.owner_team_id
    ORDER BY a.opened_at DESC, a.id DESC
    LIMIT 50
"""

INBOX_SQL = """
    SELECT a.id, a.opened_at, a.closed_at, al.id, al.name, s.name, al.purpose_detects, al.purpose_action,
        al.suggested_detects, al.suggested_action
    FROM incidents_alert a
    JOIN alarms_alarm al ON al.id = a.alarm_id
    LEFT JOIN alarms_service s ON s.id = al.service_id
    WHERE a.outcome = '' AND al.owner_team_id IN (SELECT team_id FROM alarms_team_members WHERE user_id = %s)
    ORDER BY a.opened_at DESC, a.id DESC
    LIMIT 50
"""

API_SQL = """
    SELECT a.id, al.arn, al.name, s.slug, t.slug, a.opened_at, a.closed_at, a.reason, a.incident_id,
        a.outcome, a.outcome_inferred, a.outcome_note, a.duplicate_of_id, a.outcome_at, a.acknowledged_at,
        a.first_response_at
    FROM incidents_alert a
    JOIN alarms_alarm al ON al.id = a.alarm_id
    LEFT JOIN alarms_service s ON s.id = al.service_id
    LEFT JOIN alarms_team t ON t.id = al.owner_team_id
    ORDER BY a.opened_at DESC, a.id DESC
    LIMIT 500
"""

INCIDENT_PAGE_SQL = """
    SELECT i.id, i.title, i.opened_at, i.closed_at, i.customer_impact, i.announcement, s.name,
        (SELECT count(*) FROM incidents_alert a WHERE a.incident_id = i.id),
        (SELECT min(a.first_response_at) FROM incidents_alert a WHERE a.incident_id = i.id)
    FROM incidents_incident i
    LEFT JOIN alarms_service s ON s.id = i.service_id
    ORDER BY i.opened_at DESC, i.id DESC
    LIMIT 50
"""


def rows_and_count(sql: str, count_sql: str, params=()):
    """What a paginated page reads: its rows and the total it shows."""

    def run():
        with connection.cursor() as cursor:
            cursor.execute(count_sql, params)
            cursor.fetchone()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            return rows, len(cursor.description)

    return run


def rows_only(sql: str, params=()):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall(), len(cursor.description)

    return run


def bench_alert_lists(catalog: int, alerts: int, requests: int) -> None:
    client, user = bench_client()
    plant_catalog(catalog)
    for team in Team.objects.filter(slug__in=["team-0", "team-1"]):
        team.members.add(user)
    plant_alerts(alerts)
    waiting = Alert.objects.filter(outcome="", alarm__owner_team__members=user).count()
    print(f"{Alert.objects.count():,} alerts, {Incident.objects.count():,} incidents; {waiting:,} in the inbox")
    shown = "raw SQL of the same rows, the columns shown and the count"
    inbox_count = (
        "SELECT count(*) FROM incidents_alert a JOIN alarms_alarm al ON al.id = a.alarm_id WHERE a.outcome = '' "
        "AND al.owner_team_id IN (SELECT team_id FROM alarms_team_members WHERE user_id = %s)"
    )
    pages_p95(
        client,
        [
            (
                "alert list page /alerts/",
                "/alerts/",
                rows_and_count(ALERT_PAGE_SQL, "SELECT count(*) FROM incidents_alert"),
                shown,
            ),
            (
                "inbox /alerts/inbox/",
                "/alerts/inbox/",
                rows_and_count(INBOX_SQL, inbox_count, [user.pk]),
                shown,
            ),
            (
                "API /api/v1/alerts/?page_size=500",
                "/api/v1/alerts/?page_size=500",
                rows_only(API_SQL),
                "raw SQL of the same rows and columns",
            ),
            (
                "incident list page /incidents/",
                "/incidents/",
                rows_and_count(INCIDENT_PAGE_SQL, "SELECT count(*) FROM incidents_incident"),
                shown,
            ),
        ],
        requests,
    )
