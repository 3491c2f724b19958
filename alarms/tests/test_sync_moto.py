"""Alarm sync against the local AWS over HTTP: two member accounts reached through AssumeRole, two
regions, tags from the Resource Groups Tagging API."""

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms import aws
from alarms.choices import SyncStatus
from alarms.models import Alarm, SyncRun, Team
from alarms.services.governance import alarm_update_governance
from alarms.services.sync import sync_alarms, sync_targets
from alarms.tests.local_estate import ACCOUNTS, REGIONS, delete_alarm, member, put_alarm, register_accounts

pytestmark = pytest.mark.django_db


def sync_everything() -> list[SyncRun]:
    return [sync_alarms(account=account, region=region) for account, region in sync_targets()]


@pytest.fixture
def estate(local_aws):
    """Three alarms per (account, region), one of them tagged and managed by a stack."""
    for account_id in ACCOUNTS:
        for region in REGIONS:
            put_alarm(
                account_id, region, "checkout-createOrder-Errors", tags={"service": "checkout", "team": "payments"}
            )
            put_alarm(
                account_id,
                region,
                "cart-addItem-Errors",
                tags={"service": "cart", "aws:cloudformation:stack-name": "cart-prod"},
            )
            put_alarm(account_id, region, "search-query-Errors")
    register_accounts()


def test_first_sync_brings_every_alarm_of_every_account_and_region(estate):
    runs = sync_everything()

    assert [run.status for run in runs] == [SyncStatus.SUCCEEDED] * 4
    assert sum(run.created for run in runs) == 12
    assert all(run.api_calls >= 2 for run in runs)  # at least one tags page and one alarms page
    pairs = set(Alarm.objects.values_list("account__account_id", "region").distinct())
    assert pairs == {(a, r) for a in ACCOUNTS for r in REGIONS}
    alarm = Alarm.objects.get(arn="arn:aws:cloudwatch:us-east-1:222222222222:alarm:checkout-createOrder-Errors")
    assert alarm.tags == {"service": "checkout", "team": "payments"}
    assert alarm.dimensions == {"FunctionName": "checkout-createOrder"}
    assert (alarm.evaluation_periods, alarm.datapoints_to_alarm, alarm.threshold) == (3, 2, 1.0)
    assert alarm.alarm_actions == ["arn:aws:sns:us-east-1:222222222222:payments-alerts"]
    stacked = Alarm.objects.get(arn="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:cart-addItem-Errors")
    assert stacked.stack_name == "cart-prod"
    assert Alarm.objects.get(arn__endswith="111111111111:alarm:search-query-Errors", region="eu-west-1").tags == {}


def test_noop_resync_writes_no_alarm_row(estate):
    sync_everything()

    with CaptureQueriesContext(connection) as queries:
        runs = sync_everything()

    assert [(run.created, run.updated, run.deleted, run.unchanged) for run in runs] == [(0, 0, 0, 3)] * 4
    writes = [q["sql"] for q in queries if '"alarms_alarm"' in q["sql"] and not q["sql"].startswith("SELECT")]
    assert writes == []


def test_alarm_deleted_in_aws_is_marked_deleted_and_comes_back(estate):
    sync_everything()
    delete_alarm("111111111111", "eu-west-1", "search-query-Errors")

    runs = sync_everything()

    assert sum(run.deleted for run in runs) == 1
    gone = Alarm.objects.get(arn="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:search-query-Errors")
    assert gone.deleted_at is not None
    assert Alarm.objects.filter(deleted_at__isnull=True).count() == 11

    put_alarm("111111111111", "eu-west-1", "search-query-Errors")
    sync_everything()

    gone.refresh_from_db()
    assert gone.deleted_at is None


def test_changed_definition_is_updated_and_governance_survives(estate, django_user_model):
    sync_everything()
    alarm = Alarm.objects.get(arn="arn:aws:cloudwatch:eu-west-1:222222222222:alarm:search-query-Errors")
    team = Team.objects.create(slug="discovery", name="Discovery")
    editor = django_user_model.objects.create_user("erin")
    alarm_update_governance(alarm=alarm, actor=editor, owner_team=team, purpose_detects="search failing")

    put_alarm("222222222222", "eu-west-1", "search-query-Errors", threshold=5.0)
    runs = sync_everything()

    assert sum(run.updated for run in runs) == 1
    alarm.refresh_from_db()
    assert alarm.threshold == 5.0
    assert alarm.owner_team == team
    assert alarm.purpose_detects == "search failing"


def test_a_failing_region_is_recorded_and_does_not_stop_the_others(estate, settings):
    settings.OKAMI_AWS_MAX_ATTEMPTS = 1
    account = sync_targets()[0][0]
    account.regions = [*account.regions, "xx-nowhere-1"]
    account.save(update_fields=["regions"])

    runs = sync_everything()

    failed = [run for run in runs if run.status == SyncStatus.FAILED]
    assert [(run.account.account_id, run.region) for run in failed] == [(account.account_id, "xx-nowhere-1")]
    assert failed[0].error
    assert Alarm.objects.count() == 12


def test_a_second_run_of_the_same_key_is_skipped_while_one_runs(estate):
    account, region = sync_targets()[0]
    SyncRun.objects.create(account=account, region=region, started_at=timezone.now())

    assert sync_alarms(account=account, region=region) is None
    assert Alarm.objects.count() == 0


def test_a_run_abandoned_by_a_lost_worker_stops_blocking_its_key(estate, settings):
    account, region = sync_targets()[0]
    lost_at = timezone.now() - timedelta(seconds=settings.OKAMI_SYNC_STALE_AFTER_SECONDS + 1)
    lost = SyncRun.objects.create(account=account, region=region, started_at=lost_at)

    run = sync_alarms(account=account, region=region)

    assert run.status == SyncStatus.SUCCEEDED
    lost.refresh_from_db()
    assert lost.status == SyncStatus.FAILED
    assert "abandoned" in lost.error


def test_muted_alarm_keeps_the_time_its_actions_were_first_seen_disabled(estate):
    sync_everything()
    cloudwatch = aws.client("cloudwatch", access=member(ACCOUNTS[0]), region=REGIONS[0])
    cloudwatch.disable_alarm_actions(AlarmNames=["cart-addItem-Errors"])
    arn = f"arn:aws:cloudwatch:{REGIONS[0]}:{ACCOUNTS[0]}:alarm:cart-addItem-Errors"

    sync_everything()
    muted = Alarm.objects.get(arn=arn)
    assert not muted.actions_enabled
    first_seen = muted.actions_disabled_since
    assert first_seen is not None

    sync_everything()
    assert Alarm.objects.get(arn=arn).actions_disabled_since == first_seen

    cloudwatch.enable_alarm_actions(AlarmNames=["cart-addItem-Errors"])
    sync_everything()
    assert Alarm.objects.get(arn=arn).actions_disabled_since is None


def test_timestamps_arrive_in_utc_as_the_same_instants_boto3_gives(estate):
    """The portal's clients parse AWS timestamps to UTC (cheaper to compare and store than the local zone
    botocore gives by default); the instant is the one AWS sent."""
    access = member(ACCOUNTS[0])
    ours = aws.client("cloudwatch", access=access, region=REGIONS[0]).describe_alarms()["MetricAlarms"][0]
    credentials = aws.session_for(access).get_credentials()
    default = boto3.client(  # botocore's default timestamp parser
        "cloudwatch",
        region_name=REGIONS[0],
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    )
    theirs = default.describe_alarms(AlarmNames=[ours["AlarmName"]])["MetricAlarms"][0]

    assert ours["StateUpdatedTimestamp"].tzinfo is UTC
    assert theirs["StateUpdatedTimestamp"].tzinfo is not UTC
    assert ours["StateUpdatedTimestamp"] == theirs["StateUpdatedTimestamp"]
    # The digest a sync compares is the same either way: a catalog synced before UTC parsing is not rewritten.
    digest = {aws.ListedAlarm.of(raw, {}, composite=False).digest for raw in (ours, theirs)}
    assert len(digest) == 1


@pytest.mark.parametrize(
    ("answered", "instant"),
    [
        (1765015200, datetime(2025, 12, 6, 10, 0, tzinfo=UTC)),  # JSON protocols: seconds since the epoch
        (1765015200.5, datetime(2025, 12, 6, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2025-12-06T12:00:00+02:00", datetime(2025, 12, 6, 10, 0, tzinfo=UTC)),  # query protocols: ISO 8601
        ("Sat, 06 Dec 2025 10:00:00 GMT", datetime(2025, 12, 6, 10, 0, tzinfo=UTC)),  # REST headers: RFC 822
    ],
)
def test_every_timestamp_form_aws_answers_with_parses_to_utc(answered, instant):
    parsed = aws.utc_timestamp(answered)

    assert parsed == instant
    assert parsed.utcoffset() == timedelta(0)


def test_the_sync_follows_describe_alarms_pages_through_the_local_aws(local_aws):
    """The local AWS pages DescribeAlarms as AWS does (at most 100): 150 alarms arrive in two pages."""
    for i in range(150):
        put_alarm(ACCOUNTS[0], REGIONS[0], f"orders-fn{i}-Errors")
    register_accounts()
    cloudwatch = aws.client("cloudwatch", access=member(ACCOUNTS[0]), region=REGIONS[0])
    first = cloudwatch.describe_alarms(MaxRecords=100)
    assert (len(first["MetricAlarms"]), first["NextToken"]) == (100, "100")

    account = sync_targets(account_id=ACCOUNTS[0], region=REGIONS[0])[0][0]
    run = sync_alarms(account=account, region=REGIONS[0])

    assert (run.status, run.created) == (SyncStatus.SUCCEEDED, 150)
    assert Alarm.objects.filter(account=account, region=REGIONS[0]).count() == 150


def test_an_alarm_that_arrived_in_the_catalog_during_the_sync_is_updated_not_duplicated(estate, monkeypatch):
    """New alarms go in by a plain insert; one the catalog gained since the sync read it is upserted instead."""
    sync_everything()
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-query-Errors", threshold=5.0)
    monkeypatch.setattr("alarms.services.sync._existing_alarms", lambda account, region: {})

    account = sync_targets(account_id=ACCOUNTS[0], region=REGIONS[0])[0][0]
    run = sync_alarms(account=account, region=REGIONS[0])

    assert (run.status, run.created) == (SyncStatus.SUCCEEDED, 3), run.error
    alarms = Alarm.objects.filter(account=account, region=REGIONS[0])
    assert alarms.count() == 3
    assert alarms.get(name="search-query-Errors").threshold == 5.0
