"""Outcome inference bench: ``outcomes_infer`` over 100,000 alerts of a few thousand alarms (most short, many in
incidents with twins of other alarms, some labelled or acknowledged by people, two teams with their own
limits), against hand-written SQL UPDATEs making the same labels, interleaved in one run. The labels of both
are compared."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from alarms.models import Alarm, AwsAccount, Service, Team
from bench.common import REGIONS, REPEATS, reset_catalog
from incidents.models import Alert, Incident, TeamAlertPolicy
from incidents.services.inference import outcomes_infer
from portal.db import insert_rows

START = datetime(2026, 1, 5, tzinfo=UTC)
SERVICES = 12
TARGET_SECONDS = 10.0


# --- The alerts -----------------------------------------------------------------------------------------


def _clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Alert._meta.db_table}")  # no per-row collector over 100,000 alerts
    Incident.objects.all().delete()
    TeamAlertPolicy.objects.all().delete()
    reset_catalog()


def _duration(rng: random.Random) -> timedelta:
    """Most alerts are over within minutes; some last an hour, a few an afternoon."""
    roll = rng.random()
    if roll < 0.6:
        return timedelta(seconds=rng.randint(20, 290))
    if roll < 0.85:
        return timedelta(seconds=rng.randint(310, 3600))
    return timedelta(seconds=rng.randint(3600, 6 * 3600))


def plant_alerts(total: int, alarm_count: int = 3000) -> datetime:
    """``total`` closed alerts over ``alarm_count`` alarms; returns a time past every grace period."""
    _clear()
    rng = random.Random(7)
    account = AwsAccount.objects.create(account_id="111111111111", name="bench", regions=list(REGIONS))
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(4)]
    services = [
        Service.objects.get_or_create(slug=f"svc-{i}", defaults={"name": f"Service {i}", "team": teams[i % 4]})[0]
        for i in range(SERVICES)
    ]
    TeamAlertPolicy.objects.create(team=teams[1], transient_max_seconds=600)
    TeamAlertPolicy.objects.create(team=teams[2], duplicate_window_seconds=300, transient_max_seconds=120)
    # One alarm in eight has no service (its alerts join no incident), one in six no owner team.
    alarms = Alarm.objects.bulk_create(
        (
            Alarm(
                arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:svc-{i % SERVICES}-fn-{i}-Errors",
                account=account,
                region="eu-west-1",
                name=f"svc-{i % SERVICES}-fn-{i}-Errors",
                state="OK",
                service=None if i % 8 == 7 else services[i % SERVICES],
                owner_team=None if i % 6 == 5 else teams[i % 4],
            )
            for i in range(alarm_count)
        ),
        batch_size=1000,
    )
    by_service = {s.pk: [a for a in alarms if a.service_id == s.pk] for s in services}
    unowned = [a for a in alarms if a.service_id is None]
    person, _ = get_user_model().objects.get_or_create(username="bench-responder")

    # Failures of a service, one every 7 minutes across the services: an incident of 1 to 6 alerts of distinct
    # alarms, the later ones within 0-4 minutes of the first; between them, alerts of alarms of no service.
    groups, solo, at = [], [], START
    while sum(len(g[1]) for g in groups) + len(solo) < total:
        at += timedelta(minutes=7)
        service = services[len(groups) % SERVICES]
        members = rng.sample(by_service[service.pk], rng.choice((1, 1, 2, 2, 3, 4, 6)))
        offsets = [timedelta(0), *sorted(timedelta(seconds=rng.randint(0, 240)) for _ in members[1:])]
        groups.append((service, [(a, at + o, _duration(rng)) for a, o in zip(members, offsets, strict=True)]))
        if rng.random() < 0.5:
            solo.append((rng.choice(unowned), at + timedelta(seconds=rng.randint(0, 400)), _duration(rng)))
    incidents = Incident.objects.bulk_create(
        (
            Incident(
                service=service,
                title=f"{service.name}: {members[0][0].name}",
                opened_at=members[0][1],
                last_alert_at=max(m[1] for m in members),
                closed_at=max(m[1] + m[2] for m in members),
            )
            for service, members in groups
        ),
        batch_size=2000,
    )
    rows = []
    for incident, (_, members) in zip(incidents, groups, strict=True):
        rows.extend(_row(rng, alarm, opened, lasted, person, incident.pk) for alarm, opened, lasted in members)
    rows.extend(_row(rng, alarm, opened, lasted, person, None) for alarm, opened, lasted in solo)
    insert_rows(Alert, rows[:total])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return at + timedelta(days=1)


def _row(rng: random.Random, alarm: Alarm, opened: datetime, lasted: timedelta, person, incident_id) -> dict:
    row = {"alarm_id": alarm.pk, "opened_at": opened, "closed_at": opened + lasted, "incident_id": incident_id}
    roll = rng.random()
    if roll < 0.08:  # labelled by a person
        responded = opened + timedelta(minutes=3)
        row |= {"outcome": "actioned", "outcome_by_id": person.pk, "outcome_at": responded}
        row |= {"first_response_at": responded}
    elif roll < 0.12:  # acknowledged, never labelled
        row |= {"acknowledged_by_id": person.pk, "acknowledged_at": opened + timedelta(minutes=1)}
        row |= {"first_response_at": opened + timedelta(minutes=1)}
    return row


# --- Reference ------------------------------------------------------------------------------------------

# The same labels by hand: per-alarm limits from a join on the team policies, the earliest earlier twin by
# DISTINCT ON. No grouping by limit, no ORM.
DUPLICATE_SQL = """
    UPDATE incidents_alert AS x
    SET outcome = 'duplicate', outcome_inferred = true, outcome_at = %(now)s, duplicate_of_id = d.twin
    FROM (
        SELECT DISTINCT ON (x.id) x.id, y.id AS twin
        FROM incidents_alert x
        JOIN alarms_alarm a ON a.id = x.alarm_id
        LEFT JOIN incidents_teamalertpolicy p ON p.team_id = a.owner_team_id
        JOIN incidents_alert y ON y.incident_id = x.incident_id AND y.alarm_id <> x.alarm_id
            AND y.opened_at <= x.opened_at
            AND x.opened_at <= y.opened_at + make_interval(secs => COALESCE(p.duplicate_window_seconds, %(window)s))
            AND (y.opened_at, y.id) < (x.opened_at, x.id)
        WHERE x.outcome = '' AND x.acknowledged_at IS NULL AND x.outcome_by_id IS NULL
            AND x.incident_id IS NOT NULL AND x.opened_at <= %(cutoff)s
        ORDER BY x.id, y.opened_at, y.id
    ) AS d
    WHERE x.id = d.id
"""

TRANSIENT_SQL = """
    UPDATE incidents_alert AS x
    SET outcome = 'transient', outcome_inferred = true, outcome_at = %(now)s
    FROM alarms_alarm a LEFT JOIN incidents_teamalertpolicy p ON p.team_id = a.owner_team_id
    WHERE a.id = x.alarm_id
        AND x.outcome = '' AND x.acknowledged_at IS NULL AND x.outcome_by_id IS NULL
        AND x.closed_at <= %(cutoff)s
        AND x.closed_at <= x.opened_at + make_interval(secs => COALESCE(p.transient_max_seconds, %(limit)s))
"""


def raw_sql_updates(now: datetime) -> None:
    params = {
        "now": now,
        "cutoff": now - timedelta(seconds=settings.OKAMI_INFERENCE_GRACE_SECONDS),
        "window": settings.OKAMI_DUPLICATE_WINDOW_SECONDS,
        "limit": settings.OKAMI_TRANSIENT_MAX_SECONDS,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(DUPLICATE_SQL, params)
        cursor.execute(TRANSIENT_SQL, params)


def unlabel() -> None:
    """Back to no inferred label; the people's labels stay. Vacuumed, so that no run pays for the last one's
    dead rows (autovacuum may be off, and is slower than the bench anyway)."""
    Alert.objects.filter(outcome_inferred=True).update(
        outcome="", outcome_inferred=False, duplicate_of=None, outcome_at=None
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Alert._meta.db_table}")


def inferred_labels() -> set[tuple]:
    return set(Alert.objects.filter(outcome_inferred=True).values_list("pk", "outcome", "duplicate_of_id"))


def bench_inference(total: int) -> None:
    if connection.vendor != "postgresql":
        print("inference bench needs PostgreSQL (the reference is PostgreSQL SQL); skipped")
        return
    now = plant_alerts(total)
    alerts = Alert.objects.count()
    timings = {"subject": [], "reference": []}
    labels = {}
    for _ in range(REPEATS):
        for name, run in (("reference", lambda: raw_sql_updates(now)), ("subject", lambda: outcomes_infer(now=now))):
            unlabel()
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
            labels[name] = inferred_labels()
    unlabel()
    with CaptureQueriesContext(connection) as queries:
        result = outcomes_infer(now=now)
    started = time.perf_counter()
    again = outcomes_infer(now=now)
    rerun = time.perf_counter() - started
    subject, reference = statistics.median(timings["subject"]), statistics.median(timings["reference"])
    same = labels["subject"] == labels["reference"]
    print(
        f"outcome inference over {alerts} alerts ({Incident.objects.count()} incidents, "
        f"{Alarm.objects.count()} alarms): {subject:.2f}s, {alerts / subject:,.0f} alerts/s "
        f"({result.duplicate} duplicate, {result.transient} transient; {len(queries)} queries)  "
        f"target <= {TARGET_SECONDS:.0f} s: {'met' if subject <= TARGET_SECONDS else 'NOT MET'}"
    )
    print(f"  hand-written SQL UPDATEs of the same labels: {reference:.2f}s  ratio {subject / reference:.2f}")
    print(f"  same labels as the reference: {'yes' if same else 'NO'}")
    print(f"  re-run with nothing to label: {rerun:.2f}s, {again.duplicate + again.transient} labelled")
    if not same:
        raise SystemExit("inference and reference disagree")
