"""The demo estate reaches the catalog through the real sync path: both member accounts (AssumeRole with
an external id), both regions, tags mapped; the rules own most of it and coverage names the gaps."""

import pytest
from django.contrib.auth import get_user_model

from alarms.choices import SyncStatus
from alarms.models import Alarm, Service, Team
from alarms.selectors.coverage import coverage_estate
from alarms.services.accounts import aws_account_register
from alarms.services.refresh import catalog_refresh
from alarms.services.sync import sync_targets
from portal.demo.estate import ACCOUNTS, REGIONS, build_demo_estate, demo_accounts
from portal.demo.people import (
    COVERED_SERVICES,
    apply_demo_governance,
    create_demo_rules,
    create_demo_teams_and_services,
    create_demo_users,
)

pytestmark = pytest.mark.django_db


def refresh_all():
    return [catalog_refresh(account=account, region=region, triggered_by="demo") for account, region in sync_targets()]


def test_small_demo_estate_is_synced_owned_and_covered(local_aws):
    create_demo_teams_and_services()
    create_demo_rules()
    create_demo_users()
    estate = build_demo_estate(scale=0.1)
    for account in demo_accounts():
        aws_account_register(**account)

    results = refresh_all()

    assert all(r.alarms.status == SyncStatus.SUCCEEDED and r.resources.status == SyncStatus.SUCCEEDED for r in results)
    assert sum(r.alarms.created for r in results) == estate.alarms == Alarm.objects.count()
    assert set(Alarm.objects.values_list("account__account_id", "region").distinct()) == {
        (account, region) for account in ACCOUNTS for region in REGIONS
    }
    assert Alarm.objects.exclude(stack_name="").exists()
    assert Alarm.objects.filter(tags__service="checkout", service__slug="checkout").exists()
    assert Alarm.objects.filter(tags={}).exists()  # the untagged ones the rules must place by name
    assert Alarm.objects.filter(state="ALARM").exists()
    assert Alarm.objects.filter(actions_enabled=False, actions_disabled_since__isnull=False).exists()
    assert Alarm.objects.filter(orphaned=True).exists()
    owned = Alarm.objects.filter(owner_team__isnull=False).count() / Alarm.objects.count()
    assert owned >= 0.9

    apply_demo_governance(get_user_model().objects.get(username="admin"))
    coverage = coverage_estate()
    uncovered = {service.slug for service in coverage.uncovered_services}
    assert uncovered == {s.slug for s in Service.objects.all()} - set(COVERED_SERVICES)
    assert coverage.silent_topics > 0  # the platform team's topic has no subscriber

    again = refresh_all()
    assert [(r.alarms.created, r.alarms.updated, r.alarms.deleted, r.reassigned) for r in again] == [(0, 0, 0, 0)] * 4


def test_demo_people_have_their_roles():
    create_demo_teams_and_services()
    logins = {login.username: login for login in create_demo_users()}

    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["admin"].is_superuser
    assert users["editor"].has_perm("alarms.change_alarm_governance")
    assert set(users["editor"].teams.values_list("slug", flat=True)) == {"payments", "storefront"}
    assert not users["viewer"].has_perm("alarms.change_alarm_governance")
    assert users["viewer"].check_password(logins["viewer"].password)
    assert Team.objects.count() >= 3
    assert Service.objects.count() >= 12
