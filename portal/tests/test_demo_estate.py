"""The demo estate reaches the catalog through the real sync path: both member accounts (AssumeRole with
an external id), both regions, tags mapped, and a second sync writes nothing."""

import pytest
from django.contrib.auth import get_user_model

from alarms.choices import SyncStatus
from alarms.models import Alarm, Service, Team
from alarms.services.accounts import aws_account_register
from alarms.services.sync import sync_alarms, sync_targets
from portal.demo.estate import ACCOUNTS, REGIONS, build_demo_estate, demo_accounts
from portal.demo.people import create_demo_teams_and_services, create_demo_users

pytestmark = pytest.mark.django_db


def sync_all():
    return [sync_alarms(account=account, region=region, triggered_by="demo") for account, region in sync_targets()]


def test_small_demo_estate_syncs_into_the_catalog(local_aws):
    estate = build_demo_estate(scale=0.1)
    for account in demo_accounts():
        aws_account_register(**account)

    runs = sync_all()

    assert all(run.status == SyncStatus.SUCCEEDED for run in runs)
    assert sum(run.created for run in runs) == estate.alarms == Alarm.objects.count()
    assert set(Alarm.objects.values_list("account__account_id", "region").distinct()) == {
        (account, region) for account in ACCOUNTS for region in REGIONS
    }
    assert Alarm.objects.exclude(tags={}).count() > Alarm.objects.filter(tags={}).count()
    assert Alarm.objects.exclude(stack_name="").exists()
    assert Alarm.objects.filter(state="ALARM").exists()
    assert Alarm.objects.filter(actions_enabled=False).exists()

    again = sync_all()

    assert [(run.created, run.updated, run.deleted) for run in again] == [(0, 0, 0)] * len(again)


def test_demo_people_have_their_roles():
    logins = {login.username: login for login in create_demo_users()}
    create_demo_teams_and_services()
    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["admin"].is_superuser
    assert users["editor"].has_perm("alarms.change_alarm_governance")
    assert not users["viewer"].has_perm("alarms.change_alarm_governance")
    assert users["viewer"].check_password(logins["viewer"].password)
    assert Team.objects.count() >= 3
    assert Service.objects.count() >= 12
