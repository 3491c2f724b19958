"""What the local AWS cannot do (it returns every alarm in one page, has no composite alarms in
DescribeAlarms and never throttles), checked with botocore's Stubber and responses shaped like AWS's."""

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber

from alarms import aws
from alarms.choices import AlarmType, SyncStatus
from alarms.models import Alarm, AwsAccount
from alarms.services.runs import AwsTurn
from alarms.services.sync import sync_alarms

pytestmark = pytest.mark.django_db

ACCOUNT = "333333333333"
REGION = "eu-central-1"
UPDATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def metric_alarm(name: str) -> dict:
    return {
        "AlarmName": name,
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "AlarmConfigurationUpdatedTimestamp": UPDATED,
        "ActionsEnabled": True,
        "OKActions": [],
        "AlarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:ops"],
        "InsufficientDataActions": [],
        "StateValue": "OK",
        "StateReason": "Threshold Crossed: 1 datapoint [0.0 (02/11/26 09:29:00)] was not greater than the threshold.",
        "StateUpdatedTimestamp": UPDATED,
        "MetricName": "5XXError",
        "Namespace": "AWS/ApiGateway",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "ApiName", "Value": "orders-api"}, {"Name": "Stage", "Value": "prod"}],
        "Period": 60,
        "EvaluationPeriods": 5,
        "DatapointsToAlarm": 3,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "StateTransitionedTimestamp": UPDATED,
    }


COMPOSITE = {
    "AlarmName": "orders-customer-facing",
    "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:orders-customer-facing",
    "AlarmDescription": "Orders cannot be placed",
    "AlarmRule": 'ALARM("orders-api-5xx-0") OR ALARM("orders-api-5xx-1")',
    "ActionsEnabled": True,
    "AlarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:ops-page"],
    "OKActions": [],
    "InsufficientDataActions": [],
    "StateValue": "ALARM",
    "StateReason": "arn:... transitioned to ALARM",
    "StateUpdatedTimestamp": UPDATED,
    "AlarmConfigurationUpdatedTimestamp": UPDATED,
    "StateTransitionedTimestamp": UPDATED,
    "ActionsSuppressedBy": "None",
}

DESCRIBE_PARAMS = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 100}
TAGS_PARAMS = {"ResourceTypeFilters": ["cloudwatch:alarm"], "ResourcesPerPage": 100}


def throttled(stubber: Stubber, operation: str) -> None:
    stubber.add_client_error(operation, "Throttling", "Rate exceeded", http_status_code=400)


@pytest.fixture
def account():
    return AwsAccount.objects.create(account_id=ACCOUNT, name="stubbed", regions=[REGION])


@pytest.fixture
def stubbed(monkeypatch, settings):
    """Real boto3 clients with a Stubber each, handed to the sync instead of network clients."""
    settings.OKAMI_AWS_THROTTLE_BACKOFF_SECONDS = 0.01
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "stub")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stub")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    aws.forget_sessions()
    access = aws.AccountAccess(ACCOUNT)
    services = ("cloudwatch", "resourcegroupstaggingapi", "sts")
    # The cached clients themselves: the sync asks the session cache for them, as in production.
    clients = {name: aws.client(name, access=access, region=REGION) for name in services}
    stubbers = {name: Stubber(c) for name, c in clients.items()}
    # Whose credentials these are is asked once per credentials, however many runs use them.
    stubbers["sts"].add_response("get_caller_identity", caller(ACCOUNT), {})
    for stubber in stubbers.values():
        stubber.activate()
    yield stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()
    aws.forget_sessions()


def caller(account_id: str) -> dict:
    return {
        "UserId": "AROAEXAMPLEID:okami",
        "Account": account_id,
        "Arn": f"arn:aws:sts::{account_id}:assumed-role/okami/okami",
    }


def no_tags(stubber: Stubber) -> None:
    stubber.add_response("get_resources", {"ResourceTagMappingList": [], "PaginationToken": ""}, TAGS_PARAMS)


def describe_in_pages(stubber: Stubber, names: list[str], *, fail_after: int | None = None) -> None:
    """DescribeAlarms answering ``names`` 100 per page; with ``fail_after``, throttled for good after that page."""
    pages = [names[i : i + 100] for i in range(0, len(names), 100)]
    for index, page in enumerate(pages):
        params = {**DESCRIBE_PARAMS, **({"NextToken": f"page-{index}"} if index else {})}
        if fail_after is not None and index > fail_after:
            for _ in range(3):
                stubber.add_client_error(
                    "describe_alarms", "Throttling", "Rate exceeded", http_status_code=400, expected_params=params
                )
            return
        response = {"MetricAlarms": [metric_alarm(n) for n in page], "CompositeAlarms": []}
        if index < len(pages) - 1:
            response["NextToken"] = f"page-{index + 1}"
        stubber.add_response("describe_alarms", response, params)


def test_follows_next_token_over_several_pages(account, stubbed):
    tagging, cloudwatch = stubbed["resourcegroupstaggingapi"], stubbed["cloudwatch"]
    first_tags = [
        {"ResourceARN": metric_alarm("orders-api-5xx-0")["AlarmArn"], "Tags": [{"Key": "team", "Value": "orders"}]}
    ]
    tagging.add_response(
        "get_resources", {"ResourceTagMappingList": first_tags, "PaginationToken": "tags-2"}, TAGS_PARAMS
    )
    tagging.add_response(
        "get_resources",
        {"ResourceTagMappingList": [], "PaginationToken": ""},
        {**TAGS_PARAMS, "PaginationToken": "tags-2"},
    )
    describe_in_pages(cloudwatch, [f"orders-api-5xx-{i}" for i in range(250)])

    run = sync_alarms(account=account, region=REGION)

    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert (run.created, run.api_calls) == (250, 5)
    assert Alarm.objects.filter(account=account).count() == 250
    first = Alarm.objects.get(name="orders-api-5xx-0")
    assert first.tags == {"team": "orders"}
    assert first.dimensions == {"ApiName": "orders-api", "Stage": "prod"}
    assert first.description == ""  # AWS omits an empty description
    assert first.state_updated_at == UPDATED


def test_the_sync_says_when_it_has_made_its_last_aws_call_before_writing_the_last_page(account, stubbed):
    """What hands the key's turn to call AWS on: called once, with every call made, before the writes end."""
    no_tags(stubbed["resourcegroupstaggingapi"])
    cloudwatch = stubbed["cloudwatch"]
    describe_in_pages(cloudwatch, [f"orders-api-5xx-{i}" for i in range(250)])
    seen = []

    class Turn(AwsTurn):
        def done(self):
            cloudwatch.assert_no_pending_responses()  # the last page has arrived
            seen.append(Alarm.objects.filter(account=account).count())

    run = sync_alarms(account=account, region=REGION, turn=Turn())

    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert seen == [200]  # two pages written, the third not yet
    assert Alarm.objects.filter(account=account).count() == 250


def test_composite_alarms_are_synced_with_their_rule(account, stubbed):
    no_tags(stubbed["resourcegroupstaggingapi"])
    stubbed["cloudwatch"].add_response(
        "describe_alarms",
        {"MetricAlarms": [metric_alarm("orders-api-5xx-0")], "CompositeAlarms": [COMPOSITE]},
        DESCRIBE_PARAMS,
    )

    run = sync_alarms(account=account, region=REGION)

    assert run.created == 2
    composite = Alarm.objects.get(name="orders-customer-facing")
    assert composite.alarm_type == AlarmType.COMPOSITE
    assert composite.alarm_rule == COMPOSITE["AlarmRule"]
    assert composite.state == "ALARM"
    assert composite.metric_name == ""


def test_throttling_is_retried_with_backoff_then_succeeds(account, stubbed):
    no_tags(stubbed["resourcegroupstaggingapi"])
    cloudwatch = stubbed["cloudwatch"]
    throttled(cloudwatch, "describe_alarms")
    throttled(cloudwatch, "describe_alarms")
    cloudwatch.add_response(
        "describe_alarms", {"MetricAlarms": [metric_alarm("orders-api-5xx-0")], "CompositeAlarms": []}, DESCRIBE_PARAMS
    )

    run = sync_alarms(account=account, region=REGION)

    assert run.status == SyncStatus.SUCCEEDED
    assert run.created == 1


def test_throttling_that_never_ends_fails_the_run_and_keeps_the_catalog(account, stubbed, settings):
    settings.OKAMI_AWS_THROTTLE_RETRIES = 2
    names = [f"orders-api-5xx-{i}" for i in range(150)]
    no_tags(stubbed["resourcegroupstaggingapi"])
    describe_in_pages(stubbed["cloudwatch"], names)
    assert sync_alarms(account=account, region=REGION).created == 150

    # The next sync reads the first page, then AWS throttles it for good: the alarms of the page it never
    # read must not be taken for deleted.
    no_tags(stubbed["resourcegroupstaggingapi"])
    describe_in_pages(stubbed["cloudwatch"], names, fail_after=0)
    run = sync_alarms(account=account, region=REGION)

    assert run.status == SyncStatus.FAILED
    assert "Throttling" in run.error
    assert run.deleted == 0
    assert Alarm.objects.filter(deleted_at__isnull=True).count() == 150


def test_access_denied_is_not_retried(account, stubbed):
    no_tags(stubbed["resourcegroupstaggingapi"])
    stubbed["cloudwatch"].add_client_error("describe_alarms", "AccessDenied", "not authorized", http_status_code=403)

    run = sync_alarms(account=account, region=REGION)

    assert run.status == SyncStatus.FAILED
    assert run.error.startswith("AwsError: AccessDenied")


def test_alarms_of_another_account_or_region_fail_the_run_before_any_write(account, stubbed):
    names = [f"orders-api-5xx-{i}" for i in range(150)]
    no_tags(stubbed["resourcegroupstaggingapi"])
    describe_in_pages(stubbed["cloudwatch"], names)
    assert sync_alarms(account=account, region=REGION).created == 150
    # A stray endpoint answers with another region's alarms (or another account's) under the same names.
    stray = metric_alarm("orders-api-5xx-0") | {"AlarmArn": f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:x"}
    no_tags(stubbed["resourcegroupstaggingapi"])
    stubbed["cloudwatch"].add_response(
        "describe_alarms", {"MetricAlarms": [stray], "CompositeAlarms": []}, DESCRIBE_PARAMS
    )

    run = sync_alarms(account=account, region=REGION)

    assert run.status == SyncStatus.FAILED
    assert run.error_summary == "AWS answered with another account's or region's alarms or resources"
    assert (run.created, run.deleted, run.held_deletions) == (0, 0, 0)
    assert not Alarm.objects.filter(arn__contains="us-west-2").exists()
    assert Alarm.objects.filter(deleted_at__isnull=True).count() == 150


def test_failures_are_summarised_for_everyone(account, stubbed, settings):
    settings.OKAMI_AWS_THROTTLE_RETRIES = 1
    no_tags(stubbed["resourcegroupstaggingapi"])
    for _ in range(2):
        throttled(stubbed["cloudwatch"], "describe_alarms")
    throttled_run = sync_alarms(account=account, region=REGION)
    no_tags(stubbed["resourcegroupstaggingapi"])
    stubbed["cloudwatch"].add_client_error(
        "describe_alarms", "AccessDenied", "User: arn:aws:sts::1:x is not authorized"
    )
    denied_run = sync_alarms(account=account, region=REGION)

    assert throttled_run.error_summary == "AWS throttled the sync"
    assert denied_run.error_summary == "AWS refused a request"
    assert "arn:aws:sts::1:x" in denied_run.error
