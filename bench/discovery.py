"""Discovery and suggestions bench: the first refresh of 10,000 tagged alarms discovering their services and
teams, against the same refresh where a person made those services and teams beforehand (same rules, same
assignments; interleaved in one run), and accepting the suggestions of every alarm at once against
one bare SQL UPDATE writing the same columns."""

from __future__ import annotations

import importlib
import statistics
import time

from django.apps import apps
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from alarms import aws
from alarms.models import Alarm, AuditEntry, MappingRule, Service, ServiceAlias, Team, TeamAlias
from alarms.services.suggested_purpose import ACCEPTED_FROM, alarms_accept_suggestions
from bench.common import ACCOUNTS, REGIONS, register_accounts, reset_catalog
from bench.refresh import empty_catalog, plant_resources, refresh_everything, start_local_aws_process
from bench.sync import plant_alarms
from portal.localaws import local_aws_environ

REPEATS = 3


def default_rules() -> None:
    """The rules a fresh install has (migration 0009)."""
    MappingRule.objects.all().delete()
    importlib.import_module("alarms.migrations.0009_default_tag_rules").create(apps, None)


def fresh_catalog() -> None:
    empty_catalog()
    for model in (ServiceAlias, TeamAlias, Service, Team):
        model.objects.all().delete()


def bench_discovery(total: int) -> None:
    local = start_local_aws_process()
    try:
        with local_aws_environ(local):
            aws.forget_sessions()
            plant_alarms(total)
            for account_id in ACCOUNTS:
                for region in REGIONS:
                    plant_resources(account_id, region)
            reset_catalog()
            register_accounts()
            default_rules()
            fresh_catalog()
            refresh_everything()  # warm up (sessions, connections), and what discovery finds
            teams = list(Team.objects.values_list("slug", "name"))
            services = list(Service.objects.values_list("slug", "name", "team__slug"))

            def made_by_hand() -> None:
                """The same services and teams, created by a person before the first sync."""
                fresh_catalog()
                Team.objects.bulk_create([Team(slug=slug, name=name) for slug, name in teams])
                by_slug = {team.slug: team for team in Team.objects.all()}
                Service.objects.bulk_create(
                    [Service(slug=slug, name=name, team=by_slug.get(team)) for slug, name, team in services]
                )

            on, off = [], []
            for _ in range(REPEATS):
                for setup, runs, discovery in ((made_by_hand, off, False), (fresh_catalog, on, True)):
                    setup()
                    with override_settings(OKAMI_DISCOVERY=discovery):
                        started = time.perf_counter()
                        refresh_everything()
                        runs.append(time.perf_counter() - started)
            on, off = statistics.median(on), statistics.median(off)
            owned = Alarm.objects.filter(service__isnull=False, owner_team__isnull=False).count()
            print(
                f"first refresh of {Alarm.objects.count()} alarms, {owned} owned by the tag rules, median of {REPEATS}:"
            )
            print(f"  discovering {len(services)} services and {len(teams)} teams {on:.2f}s")
            print(f"  vs the same services and teams made by hand before {off:.2f}s", end="")
            print(f"  ratio {on / off:.2f}  (target <= 1.10)")
    finally:
        local.stop()
    bench_accept()


def bench_accept() -> None:
    ids = list(Alarm.objects.exclude(suggested_by="").values_list("id", flat=True))
    blank = {name: "" for name in ACCEPTED_FROM}

    def accept() -> None:
        alarms_accept_suggestions(alarm_ids=ids, actor=None)

    def bare_update() -> None:
        sets = ", ".join(
            f"{name} = CASE WHEN {name} = '' THEN {source} ELSE {name} END" for name, source in ACCEPTED_FROM.items()
        )
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE alarms_alarm SET {sets} WHERE id = ANY(%s)", [ids])

    def reset() -> None:
        Alarm.objects.update(**blank)
        AuditEntry.objects.filter(action="alarm.suggestion_accepted").delete()

    if connection.vendor != "postgresql":
        print("bulk accept needs PostgreSQL (the reference is one UPDATE with an array of ids); skipped")
        return
    timings = {"subject": [], "reference": []}
    for _ in range(REPEATS):
        for name, run in (("reference", bare_update), ("subject", accept)):
            reset()
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    reset()
    with CaptureQueriesContext(connection) as queries:
        accept()
    subject, reference = sorted(timings["subject"])[REPEATS // 2], sorted(timings["reference"])[REPEATS // 2]
    print(f"accepting the suggestions of {len(ids)} alarms at once: {subject:.2f}s (target <= 3 s)")
    print(f"  {len(queries)} queries (the same for any number of alarms)")
    print(f"  vs one bare UPDATE of the same columns {reference:.2f}s  ratio {subject / reference:.2f}")
