"""History backfill with botocore's Stubber (the local AWS has no alarm history): pages followed, the
watermark respected, history overlapping webhook data adds nothing; and the import of saved history."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import ANY, Stubber

from alarms import aws
from alarms.models import AwsAccount, SyncRun
from incidents.models import Alert, HistoryWatermark, StateChange
from incidents.services.history import history_backfill, history_import

pytestmark = pytest.mark.django_db

ACCOUNT, REGION = "333333333333", "eu-central-1"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def item(name: str, at: datetime, new: str, old: str) -> dict:
    data = {"version": "1.0", "oldState": {"stateValue": old, "stateReason": "was"},
            "newState": {"stateValue": new, "stateReason": f"Threshold Crossed: now {new}"}}  # fmt: skip
    return {
        "AlarmName": name,
        "AlarmType": "MetricAlarm",
        "Timestamp": at,
        "HistoryItemType": "StateUpdate",
        "HistorySummary": f"Alarm updated from {old} to {new}",
        "HistoryData": json.dumps(data),
    }


@pytest.fixture
def account():
    return AwsAccount.objects.create(account_id=ACCOUNT, name="stubbed", regions=[REGION])


@pytest.fixture
def cloudwatch(monkeypatch, settings):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "stub")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr("alarms.aws.history.HISTORY_TPS", 1000)  # the pacing has its own test
    aws.forget_sessions()
    access = aws.AccountAccess(ACCOUNT)
    sts = Stubber(aws.client("sts", access=access, region=REGION))
    sts.add_response("get_caller_identity", {"UserId": "x", "Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:x"})
    stubber = Stubber(aws.client("cloudwatch", access=access, region=REGION))
    sts.activate()
    stubber.activate()
    yield stubber
    stubber.assert_no_pending_responses()
    stubber.deactivate()
    sts.deactivate()
    aws.forget_sessions()


def expect_pages(stubber, pages, *, start=ANY):
    for number, items in enumerate(pages):
        response = {"AlarmHistoryItems": items}
        params = {"HistoryItemType": "StateUpdate", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "StartDate": start,
                  "EndDate": ANY, "ScanBy": "TimestampAscending", "MaxRecords": 100}  # fmt: skip
        if number:
            params["NextToken"] = f"token-{number}"
        if number < len(pages) - 1:
            response["NextToken"] = f"token-{number + 1}"
        stubber.add_response("describe_alarm_history", response, params)


def test_backfill_follows_every_page_and_builds_the_alerts(account, cloudwatch):
    expect_pages(cloudwatch, [
        [item("orders-5xx", T0, "ALARM", "OK")],
        [item("orders-5xx", T0 + timedelta(minutes=4), "OK", "ALARM"), item("cart-errors", T0, "ALARM", "OK")],
        [item("cart-errors", T0 + timedelta(hours=1), "OK", "ALARM")],
    ])  # fmt: skip

    run = history_backfill(account=account, region=REGION)

    assert (run.status, run.created, run.api_calls) == ("succeeded", 4, 3)
    assert sorted(Alert.objects.values_list("alarm__name", "opened_at", "closed_at")) == [
        ("cart-errors", T0, T0 + timedelta(hours=1)),
        ("orders-5xx", T0, T0 + timedelta(minutes=4)),
    ]
    assert HistoryWatermark.objects.get().through == T0 + timedelta(hours=1)


def test_the_next_backfill_starts_at_the_watermark_and_adds_nothing_twice(account, cloudwatch):
    HistoryWatermark.objects.create(account=account, region=REGION, through=T0)
    expect_pages(cloudwatch, [[item("orders-5xx", T0, "ALARM", "OK")]], start=T0)
    expect_pages(cloudwatch, [[item("orders-5xx", T0, "ALARM", "OK")]], start=T0)  # the same item again

    first = history_backfill(account=account, region=REGION)
    again = history_backfill(account=account, region=REGION)

    assert (first.created, again.created) == (1, 0)
    assert StateChange.objects.count() == 1 and Alert.objects.count() == 1


def test_history_overlapping_what_a_webhook_stored_adds_nothing(account, cloudwatch):
    from incidents.ingest.cloudwatch_message import AlarmStateReport
    from incidents.services.episodes import state_change_record
    from incidents.services.ingest import alarm_for_report

    report = AlarmStateReport(arn=f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:orders-5xx", name="orders-5xx",
                              account_id=ACCOUNT, region=REGION, at=T0, new_state="ALARM", old_state="OK")  # fmt: skip
    state_change_record(alarm_id=alarm_for_report(report).pk, report=report, source="sns:m-1")
    expect_pages(
        cloudwatch,
        [[item("orders-5xx", T0, "ALARM", "OK"), item("orders-5xx", T0 + timedelta(minutes=3), "OK", "ALARM")]],
    )

    run = history_backfill(account=account, region=REGION)

    assert run.created == 1  # only the OK the webhook had not seen
    assert list(Alert.objects.values_list("opened_at", "closed_at")) == [(T0, T0 + timedelta(minutes=3))]


def test_a_failing_page_fails_the_run_and_keeps_what_came_before(account, cloudwatch):
    expect_pages(cloudwatch, [[item("orders-5xx", T0, "ALARM", "OK")]] * 1)
    cloudwatch.add_client_error("describe_alarm_history", "AccessDenied", "not allowed")

    first = history_backfill(account=account, region=REGION)

    assert first.status == "succeeded"  # the single page had no NextToken
    second = history_backfill(account=account, region=REGION)
    assert second.status == "failed" and "AccessDenied" in second.error
    assert SyncRun.objects.filter(kind="history").count() == 2
    assert StateChange.objects.count() == 1


def test_saved_history_imports_from_json_lines(account):
    def saved(at, new, old):  # as the AWS CLI prints an item: the timestamp as text
        return json.dumps({**item("legacy-5xx", at, new, old), "Timestamp": at.isoformat()})

    old = T0 - timedelta(days=200)
    lines = [saved(old, "ALARM", "OK"), "", "not json", json.dumps({"HistoryItemType": "ConfigurationUpdate"}),
             saved(old + timedelta(days=1), "OK", "ALARM")]  # fmt: skip

    added, skipped = history_import(account=account, region=REGION, lines=lines)

    assert (added, skipped) == (2, 2)
    assert Alert.objects.get().closed_at == old + timedelta(days=1)


def test_history_requests_are_paced_to_three_a_second():
    from alarms.aws.history import _paced

    waits = []
    paced = _paced(lambda **kw: {}, waits.append)
    for _ in range(3):
        paced()

    assert len(waits) == 2 and all(0.2 < w <= 1 / 3 for w in waits)


def test_the_import_command_reads_a_file(account, tmp_path, capsys):
    from django.core.management import call_command

    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps({**item("legacy-5xx", T0, "ALARM", "OK"), "Timestamp": T0.isoformat()}) + "\n")

    call_command("import_alarm_history", "--account-id", ACCOUNT, "--region", REGION, str(path))

    assert "1 state changes added" in capsys.readouterr().out
    assert Alert.objects.get().opened_at == T0


@pytest.mark.django_db(transaction=True)
def test_sync_aws_reads_each_keys_history_and_a_failing_history_does_not_fail_the_sync(local_aws, settings):
    from django.core.management import call_command

    from alarms.tests.local_estate import ACCOUNTS, REGIONS, put_alarm, register_accounts

    settings.OKAMI_HISTORY_BACKFILL = True
    put_alarm(ACCOUNTS[0], REGIONS[0], "orders-5xx-Errors")
    register_accounts()

    call_command("sync_aws", account=ACCOUNTS[0], region=REGIONS[0])  # raises if the sync failed

    history = SyncRun.objects.get(kind="history")
    assert history.status == "failed"  # the local AWS has no DescribeAlarmHistory; the run says so


@pytest.mark.parametrize(
    ("region", "partition"), [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_history_items_name_the_alarm_in_its_partition(region, partition):
    from incidents.ingest.history_item import report_from_history_item

    found = report_from_history_item(item("x", T0, "ALARM", "OK"), account_id=ACCOUNT, region=region)

    assert found.arn == f"arn:{partition}:cloudwatch:{region}:{ACCOUNT}:alarm:x"


def test_the_import_command_reads_what_the_aws_cli_prints(account, tmp_path, capsys):
    from django.core.management import call_command

    items = [item("legacy-5xx", T0, "ALARM", "OK"), item("legacy-5xx", T0 + timedelta(minutes=9), "OK", "ALARM")]
    document = {"AlarmHistoryItems": [{**i, "Timestamp": i["Timestamp"].isoformat()} for i in items]}
    path = tmp_path / "cli.json"
    path.write_text(json.dumps(document, indent=4))  # the CLI's pretty-printed JSON

    call_command("import_alarm_history", "--account-id", ACCOUNT, "--region", REGION, str(path))

    assert "2 state changes added" in capsys.readouterr().out
    assert Alert.objects.get().closed_at == T0 + timedelta(minutes=9)
