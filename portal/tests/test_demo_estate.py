"""The demo estate reaches the catalog through the real sync path: both member accounts (AssumeRole with
an external id), both regions. Nothing exists before the first sync: the tags name the services and teams,
the default rules and the demo's naming convention own most alarms, every alarm on a common AWS metric comes
with a suggested purpose, and the administrator's first hour leaves a realistic coverage page."""

import importlib
import io

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from alarms.choices import SignalKind, SyncStatus, Tier
from alarms.models import HAS_PURPOSE, SUGGESTION_PENDING, Alarm, AuditEntry, MappingRule, Service, Team
from alarms.selectors.coverage import coverage_estate
from alarms.services.accounts import aws_account_register
from alarms.services.refresh import catalog_refresh
from alarms.services.sync import sync_targets
from portal.demo.estate import ACCOUNTS, REGIONS, SERVICES, TEAMS, build_demo_estate, demo_accounts
from portal.demo.people import (
    COVERED_SERVICES,
    PAGES_ON_EVERYTHING,
    create_demo_rules,
    create_demo_users,
    demo_first_hour,
)

pytestmark = pytest.mark.django_db

default_rules_migration = importlib.import_module("alarms.migrations.0009_default_tag_rules")


@pytest.fixture(autouse=True)
def fresh_install(db):
    """The rules migrate creates and nothing else (a transactional test elsewhere may have flushed them)."""
    MappingRule.objects.all().delete()
    default_rules_migration.create(django_apps, None)


def refresh_all():
    return [catalog_refresh(account=account, region=region, triggered_by="demo") for account, region in sync_targets()]


def test_small_demo_estate_is_discovered_owned_and_covered(local_aws):
    create_demo_rules()
    create_demo_users()
    estate = build_demo_estate(scale=0.1)
    for account in demo_accounts():
        aws_account_register(**account)
    assert not Service.objects.exists() and not Team.objects.exists()

    results = refresh_all()

    assert all(r.alarms.status == SyncStatus.SUCCEEDED and r.resources.status == SyncStatus.SUCCEEDED for r in results)
    assert sum(r.alarms.created for r in results) == estate.alarms == Alarm.objects.count()
    assert set(Alarm.objects.values_list("account__account_id", "region").distinct()) == {
        (account, region) for account in ACCOUNTS for region in REGIONS
    }
    # Discovered, not made: every spec's service (and the old spelling some alarms carry), every team.
    assert set(Service.objects.values_list("slug", flat=True)) == {s.slug for s in SERVICES} | {"notification-service"}
    assert set(Team.objects.values_list("slug", flat=True)) == {slug for slug, _, _ in TEAMS}
    assert all(obj.discovered for obj in [*Service.objects.all(), *Team.objects.all()])
    assert {s.slug: s.team.slug for s in Service.objects.filter(slug__in=[s.slug for s in SERVICES])} == {
        s.slug: s.team for s in SERVICES
    }
    assert Alarm.objects.exclude(stack_name="").exists()
    assert Alarm.objects.filter(tags__service="checkout", service__slug="checkout").exists()
    assert Alarm.objects.filter(tags={}).exists()  # placed by their resource's tags or by the naming convention
    assert Alarm.objects.filter(state="ALARM").exists()
    assert Alarm.objects.filter(actions_enabled=False, actions_disabled_since__isnull=False).exists()
    assert Alarm.objects.filter(orphaned=True).exists()
    owned = Alarm.objects.filter(owner_team__isnull=False).count() / Alarm.objects.count()
    assert owned >= 0.9
    assert not Alarm.objects.filter(HAS_PURPOSE).exists()  # nobody has accepted anything yet

    done = demo_first_hour(get_user_model().objects.get(username="admin"))

    assert (done.teams_named, done.services_named, done.memberships) == (len(TEAMS), len(SERVICES), 2)
    assert done.merged == ["notification-service → notifications"]
    payments = Team.objects.get(slug="payments")
    assert (payments.name, payments.chat_channel) == ("Payments", "#payments-alerts")
    assert Service.objects.get(slug="payments-api").name == "Payments API"
    assert Service.objects.get(slug="checkout").description == "Turns a cart into a paid order."
    assert not Alarm.objects.filter(service__slug="notification-service").exists()
    assert set(get_user_model().objects.get(username="editor").teams.values_list("slug", flat=True)) == {
        "payments",
        "storefront",
    }
    assert AuditEntry.objects.filter(actor_name="admin", action="team.update").count() == len(TEAMS)
    assert AuditEntry.objects.filter(actor_name="admin", action="alarm.suggestion_accepted").count() == done.accepted

    coverage = coverage_estate()
    uncovered = {service.slug for service in coverage.uncovered_services}
    assert uncovered == {s.slug for s in Service.objects.all()} - set(COVERED_SERVICES)
    assert coverage.silent_topics > 0  # the platform team's topic has no subscriber
    # The careful teams accepted every suggestion; the others' suggestions wait for them.
    covered = Alarm.objects.filter(service__slug__in=COVERED_SERVICES)
    assert done.accepted > 0 and not covered.filter(SUGGESTION_PENDING).exists()
    assert Alarm.objects.filter(SUGGESTION_PENDING).count() == done.pending > 0
    internal = covered.filter(name__contains="-internal-api-", metric_name="5XXError")
    assert internal.exists() and not internal.filter(tier=Tier.PAGE).exists()
    # The team that pages on everything: every notifying alarm of its service pages (the report's over-budget weeks).
    paging = Alarm.objects.filter(service__slug=PAGES_ON_EVERYTHING, actions_enabled=True)
    assert done.paging_everything == paging.count() > 0 and not paging.exclude(tier=Tier.PAGE).exists()
    public = covered.filter(name__contains="-api-5XXError").exclude(name__contains="-internal-api-")
    assert set(public.values_list("signal_kind", "tier").distinct()) == {(SignalKind.SYMPTOM, Tier.PAGE)}

    again = refresh_all()
    assert [(r.alarms.created, r.alarms.updated, r.alarms.deleted, r.reassigned) for r in again] == [(0, 0, 0, 0)] * 4
    assert Service.objects.count() == len(SERVICES)  # the merged spelling is not discovered again
    assert demo_first_hour(get_user_model().objects.get(username="admin")).accepted == 0


def test_every_alarm_on_a_common_aws_metric_comes_with_a_suggestion(local_aws):
    """What the demo measures in AWS namespaces is in the metric library: a fresh install's first sync
    suggests a purpose for each such alarm, the strays made by hand in the console included."""
    build_demo_estate(scale=0.1)
    for account in demo_accounts():
        aws_account_register(**account)

    call_command("sync_aws", stdout=io.StringIO())

    aws_alarms = Alarm.objects.filter(namespace__startswith="AWS/")
    assert aws_alarms.count() > 100
    unsuggested = sorted(aws_alarms.filter(suggested_by="").values_list("namespace", "metric_name").distinct())
    assert unsuggested == []
    assert set(aws_alarms.values_list("namespace", flat=True)) == {
        "AWS/Lambda",
        "AWS/DynamoDB",
        "AWS/SQS",
        "AWS/Kinesis",
        "AWS/ApiGateway",
    }


def test_demo_people_have_their_roles_and_the_editor_joins_its_teams_once_they_exist():
    logins = {login.username: login for login in create_demo_users()}
    for slug, _, _ in TEAMS:
        Team.objects.create(slug=slug, name=slug, discovered_from="tag value in the demo")

    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["admin"].is_superuser
    assert users["editor"].has_perm("alarms.change_alarm_governance")
    assert not users["viewer"].has_perm("alarms.change_alarm_governance")
    assert users["viewer"].check_password(logins["viewer"].password)
    assert not users["editor"].teams.exists()

    demo_first_hour(users["admin"])

    assert set(users["editor"].teams.values_list("slug", flat=True)) == {"payments", "storefront"}
    assert Team.objects.get(slug="storefront").name == "Storefront"


def test_demo_rules_are_the_defaults_and_the_naming_convention_and_replace_those_of_older_demos():
    create_demo_rules()
    defaults = [rule["name"] for rule in default_rules_migration.default_rules()]
    assert list(MappingRule.objects.values_list("name", flat=True)) == [*defaults[:4], "naming convention", defaults[4]]

    # A demo database from before the default rules: migrate kept the old demo's tag rules and made none.
    MappingRule.objects.all().delete()
    for position, (name, key) in enumerate((("service tag", "service"), ("team tag", "team")), start=1):
        MappingRule.objects.create(position=position, name=name, match="tag", tag_key=key, pattern="*")
    create_demo_rules()
    assert sorted(MappingRule.objects.values_list("name", flat=True)) == sorted([*defaults, "naming convention"])
