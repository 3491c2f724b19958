"""A sync that cannot harm the catalog: credentials of the wrong account, alarms vanishing all at once,
errors shown without secrets, and a run that ends even when the database drops its connection.

Against the local AWS over HTTP: its default account (123456789012) is the portal's own identity, the
member accounts are reached through AssumeRole."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from alarms import aws
from alarms.choices import SyncKind, SyncStatus
from alarms.models import Alarm, AwsAccount, Resource, SyncRun
from alarms.services import sync as sync_service
from alarms.services.inventory import sync_resources
from alarms.services.sync import sync_alarms
from alarms.tests.local_estate import (
    ACCOUNTS,
    EXTERNAL_ID,
    REGIONS,
    delete_alarm,
    member,
    put_alarm,
    register_accounts,
)
from portal.localaws import MANAGEMENT_ACCOUNT, role_arn

OTHER_ACCOUNT = "444444444444"


@pytest.fixture
def unreachable_account(local_aws, make_alarms):
    """An account registered without a role: the process's own credentials (the management account, which
    has alarms and a queue of its own) would answer for it. Its catalog already holds two live alarms."""
    own = aws.AccountAccess(MANAGEMENT_ACCOUNT)
    aws.client("cloudwatch", access=own, region=REGIONS[0]).put_metric_alarm(
        AlarmName="management-billing",
        Namespace="AWS/Billing",
        MetricName="EstimatedCharges",
        Statistic="Maximum",
        Period=21600,
        EvaluationPeriods=1,
        Threshold=1000.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    aws.client("sqs", access=own, region=REGIONS[0]).create_queue(QueueName="management-queue")
    account = AwsAccount.objects.create(account_id=OTHER_ACCOUNT, name="no role", regions=[REGIONS[0]])
    make_alarms(account, 2, region=REGIONS[0])
    return account


@pytest.mark.django_db
def test_credentials_of_another_account_fail_the_sync_and_touch_nothing(unreachable_account):
    run = sync_alarms(account=unreachable_account, region=REGIONS[0])

    assert run.status == SyncStatus.FAILED
    assert run.error_summary == "credentials belong to another account"
    assert MANAGEMENT_ACCOUNT in run.error
    assert not Alarm.objects.filter(name="management-billing").exists()
    assert Alarm.objects.filter(account=unreachable_account, deleted_at__isnull=True).count() == 2
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)


@pytest.mark.django_db
def test_credentials_of_another_account_fail_the_inventory(unreachable_account):
    Resource.objects.create(
        arn=f"arn:aws:sqs:{REGIONS[0]}:{OTHER_ACCOUNT}:orders", account=unreachable_account, region=REGIONS[0],
        kind="sqs:queue", name="orders",
    )  # fmt: skip

    run = sync_resources(account=unreachable_account, region=REGIONS[0])

    assert (run.kind, run.status) == (SyncKind.RESOURCES, SyncStatus.FAILED)
    assert run.error_summary == "credentials belong to another account"
    assert list(Resource.objects.values_list("name", "deleted_at")) == [("orders", None)]


@pytest.mark.django_db
def test_a_role_of_another_account_fails_the_sync(local_aws):
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-createOrder-Errors")
    # Registered as the second account, but its role lives in the first one.
    account = AwsAccount.objects.create(
        account_id=ACCOUNTS[1], name="mixed up", regions=[REGIONS[0]], role_arn=role_arn(ACCOUNTS[0]),
        external_id=EXTERNAL_ID,
    )  # fmt: skip

    run = sync_alarms(account=account, region=REGIONS[0])

    assert run.status == SyncStatus.FAILED
    assert run.error_summary == "credentials belong to another account"
    assert Alarm.objects.count() == 0


@pytest.mark.django_db
def test_a_role_that_cannot_be_assumed_is_summarised_without_the_role(local_aws):
    account = AwsAccount.objects.create(
        account_id=ACCOUNTS[0], name="bad role", regions=[REGIONS[0]], role_arn="arn:aws:iam::1:r",
        external_id="s3cret-external-id",
    )  # fmt: skip

    run = sync_alarms(account=account, region=REGIONS[0])

    assert run.status == SyncStatus.FAILED
    assert run.error_summary == "could not assume the account's role"
    assert "arn:aws:iam::1:r" in run.error
    assert "s3cret" not in run.error + run.error_summary


# --- Held deletions ------------------------------------------------------------------------------------


@pytest.fixture
def six_alarms(local_aws, settings):
    settings.OKAMI_SYNC_HOLD_MIN_ALARMS = 4
    settings.OKAMI_SYNC_MAX_DELETE_SHARE = 0.5
    names = [f"svc{i}-handler-Errors" for i in range(6)]
    for name in names:
        put_alarm(ACCOUNTS[0], REGIONS[0], name)
    register_accounts()
    account = AwsAccount.objects.get(account_id=ACCOUNTS[0])
    assert sync_alarms(account=account, region=REGIONS[0]).created == 6
    return account, names


def live_names(account) -> set[str]:
    return set(Alarm.objects.filter(account=account, deleted_at__isnull=True).values_list("name", flat=True))


@pytest.mark.django_db
def test_most_alarms_vanishing_at_once_are_held_then_deleted_by_the_next_run(six_alarms):
    account, names = six_alarms
    for name in names[:4]:
        delete_alarm(ACCOUNTS[0], REGIONS[0], name)

    first = sync_alarms(account=account, region=REGIONS[0])

    assert first.status == SyncStatus.SUCCEEDED
    assert (first.deleted, first.held_deletions) == (0, 4)
    assert "4 of 6 alarms vanished" in first.error_summary
    assert live_names(account) == set(names)

    second = sync_alarms(account=account, region=REGIONS[0])

    assert (second.deleted, second.held_deletions, second.error_summary) == (4, 0, "")
    assert live_names(account) == set(names[4:])


@pytest.mark.django_db
def test_a_held_alarm_that_comes_back_is_not_deleted(six_alarms):
    account, names = six_alarms
    for name in names[:4]:
        delete_alarm(ACCOUNTS[0], REGIONS[0], name)
    assert sync_alarms(account=account, region=REGIONS[0]).held_deletions == 4
    put_alarm(ACCOUNTS[0], REGIONS[0], names[0])  # the listing was wrong, or the alarm was recreated

    second = sync_alarms(account=account, region=REGIONS[0])

    assert second.deleted == 3
    assert live_names(account) == {names[0], *names[4:]}
    assert sync_alarms(account=account, region=REGIONS[0]).updated == 0  # and it is an ordinary alarm again


@pytest.mark.django_db
def test_a_few_deletions_are_not_held(six_alarms):
    account, names = six_alarms
    for name in names[:3]:  # half, not more
        delete_alarm(ACCOUNTS[0], REGIONS[0], name)

    run = sync_alarms(account=account, region=REGIONS[0])

    assert (run.deleted, run.held_deletions) == (3, 0)


@pytest.mark.django_db
def test_by_default_even_a_small_key_waits_for_a_confirming_run(local_aws):
    for name in ("orders-a-Errors", "orders-b-Errors"):
        put_alarm(ACCOUNTS[0], REGIONS[0], name)
    register_accounts()
    account = AwsAccount.objects.get(account_id=ACCOUNTS[0])
    sync_alarms(account=account, region=REGIONS[0])
    delete_alarm(ACCOUNTS[0], REGIONS[0], "orders-a-Errors")
    delete_alarm(ACCOUNTS[0], REGIONS[0], "orders-b-Errors")

    assert sync_alarms(account=account, region=REGIONS[0]).held_deletions == 2
    assert live_names(account) == {"orders-a-Errors", "orders-b-Errors"}
    assert sync_alarms(account=account, region=REGIONS[0]).deleted == 2


@pytest.mark.django_db
def test_the_sync_command_says_deletions_are_held(six_alarms, capsys):
    _, names = six_alarms
    for name in names[:5]:
        delete_alarm(ACCOUNTS[0], REGIONS[0], name)

    call_command("sync_aws", account=ACCOUNTS[0], region=REGIONS[0])

    assert "held: 5 of 6 alarms vanished from AWS at once" in capsys.readouterr().out


# --- A run always ends ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_run_ends_when_saving_its_end_fails_once(six_alarms):
    account, _ = six_alarms
    save = SyncRun.save
    failures = []

    def save_failing_once(run, *args, **kwargs):
        if "finished_at" in (kwargs.get("update_fields") or []) and not failures:
            failures.append(run.pk)
            raise OperationalError("server closed the connection unexpectedly")
        return save(run, *args, **kwargs)

    with mock.patch.object(SyncRun, "save", save_failing_once):
        run = sync_alarms(account=account, region=REGIONS[0])

    assert failures == [run.pk]
    assert SyncRun.objects.get(pk=run.pk).status == SyncStatus.SUCCEEDED
    assert not SyncRun.objects.filter(status=SyncStatus.RUNNING).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_database_connection_drops_mid_sync_ends_failed(six_alarms):
    account, _ = six_alarms
    alarm_tags = aws.alarm_tags

    def tags_while_the_database_goes_away(*args, **kwargs):
        connection.connection.close()  # under Django's feet, as a restarted server or a proxy would
        return alarm_tags(*args, **kwargs)

    with mock.patch.object(sync_service.aws, "alarm_tags", tags_while_the_database_goes_away):
        run = sync_alarms(account=account, region=REGIONS[0])

    stored = SyncRun.objects.get(pk=run.pk)
    assert (stored.status, stored.error_summary) == (SyncStatus.FAILED, "internal error")
    assert stored.finished_at is not None
    assert Alarm.objects.filter(deleted_at__isnull=True).count() == 6


# --- Sessions and clients -------------------------------------------------------------------------------


def test_clients_are_made_once_per_credentials_region_and_endpoint(local_aws, monkeypatch):
    member = aws.AccountAccess(ACCOUNTS[0], role_arn(ACCOUNTS[0]), EXTERNAL_ID)
    own = aws.AccountAccess(MANAGEMENT_ACCOUNT)
    first = aws.client("cloudwatch", access=member, region=REGIONS[0])

    assert aws.client("cloudwatch", access=member, region=REGIONS[0]) is first
    assert aws.client("cloudwatch", access=member, region=REGIONS[1]) is not first
    assert aws.client("cloudwatch", access=own, region=REGIONS[0]) is not first
    assert aws.caller_account(member, REGIONS[0]) == ACCOUNTS[0]
    own_client = aws.client("cloudwatch", access=own, region=REGIONS[0])
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # another (local) AWS
    assert aws.client("cloudwatch", access=own, region=REGIONS[0]).meta.endpoint_url == "http://127.0.0.1:9"
    assert own_client.meta.endpoint_url == local_aws.endpoint_url


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_end_cannot_be_saved_is_reclaimed_by_the_next_one(six_alarms, settings):
    account, _ = six_alarms
    save = SyncRun.save

    def save_never_finishing(run, *args, **kwargs):
        if "finished_at" in (kwargs.get("update_fields") or []):
            raise OperationalError("the database is gone")
        return save(run, *args, **kwargs)

    with mock.patch.object(SyncRun, "save", save_never_finishing):
        lost = sync_alarms(account=account, region=REGIONS[0])  # the caller is not the one to fail
    assert SyncRun.objects.get(pk=lost.pk).status == SyncStatus.RUNNING
    assert sync_alarms(account=account, region=REGIONS[0]) is None  # the key is still locked
    settings.OKAMI_SYNC_STALE_AFTER_SECONDS = 0

    run = sync_alarms(account=account, region=REGIONS[0])

    assert run.status == SyncStatus.SUCCEEDED
    assert (SyncRun.objects.get(pk=lost.pk).status, SyncRun.objects.get(pk=lost.pk).error_summary) == (
        SyncStatus.FAILED,
        "interrupted",
    )


@pytest.mark.django_db
def test_resources_vanishing_at_once_are_held_like_alarms(local_aws):
    sqs = aws.client("sqs", access=member(ACCOUNTS[0]), region=REGIONS[0])
    urls = [sqs.create_queue(QueueName=f"orders-{i}")["QueueUrl"] for i in range(4)]
    register_accounts()
    account = AwsAccount.objects.get(account_id=ACCOUNTS[0])
    assert sync_resources(account=account, region=REGIONS[0]).created == 4
    for url in urls[:3]:
        sqs.delete_queue(QueueUrl=url)

    first = sync_resources(account=account, region=REGIONS[0])

    assert (first.deleted, first.held_deletions) == (0, 3)
    assert "3 of 4 resources vanished" in first.error_summary
    assert Resource.objects.filter(deleted_at__isnull=True).count() == 4
    assert sync_resources(account=account, region=REGIONS[0]).deleted == 3
