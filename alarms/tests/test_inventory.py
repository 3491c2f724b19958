"""Resource inventory against the local AWS over HTTP, and alarm ↔ resource links for every kind."""

import contextlib

import pytest

from alarms import aws
from alarms.choices import ResourceKind, SyncKind, SyncStatus
from alarms.models import Alarm, AwsAccount, Resource
from alarms.services.inventory import sync_resources
from alarms.services.links import child_references, links_refresh, watched_resources
from alarms.services.sync import sync_targets
from alarms.tests.local_estate import ACCOUNTS, EXTERNAL_ID, REGIONS, register_accounts
from portal.localaws import role_arn

pytestmark = pytest.mark.django_db


def clients(account_id, region):
    access = aws.AccountAccess(account_id, role_arn(account_id), EXTERNAL_ID)
    return lambda service: aws.client(service, access=access, region=region)


def plant_resources(account_id, region, prefix="shop"):
    make = clients(account_id, region)
    tags = {"service": "orders", "team": "fulfilment"}
    role = f"arn:aws:iam::{account_id}:role/exec"
    with contextlib.suppress(Exception):  # IAM is global to the account: the other region made it
        make("iam").create_role(RoleName="exec", AssumeRolePolicyDocument="{}")
    make("lambda").create_function(
        FunctionName=f"{prefix}-fn",
        Runtime="python3.12",
        Role=role,
        Handler="h.h",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Tags=tags,
    )
    make("dynamodb").create_table(
        TableName=f"{prefix}-table",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    make("sqs").create_queue(QueueName=f"{prefix}-queue", tags=tags)
    make("kinesis").create_stream(StreamName=f"{prefix}-stream", ShardCount=1)
    make("kinesis").add_tags_to_stream(StreamName=f"{prefix}-stream", Tags=tags)
    bucket = f"{prefix}-bucket-{account_id}-{region}"
    make("s3").create_bucket(
        Bucket=bucket,
        **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}),
    )
    make("s3").put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "service", "Value": "orders"}]})
    topic = make("sns").create_topic(Name=f"{prefix}-alerts", Tags=[{"Key": "team", "Value": "fulfilment"}])["TopicArn"]
    make("sns").subscribe(TopicArn=topic, Protocol="https", Endpoint="https://chat.example.com/hook")
    make("sns").create_topic(Name=f"{prefix}-nobody")
    make("apigateway").create_rest_api(name=f"{prefix}-api", tags=tags)
    make("apigatewayv2").create_api(Name=f"{prefix}-http", ProtocolType="HTTP", Tags=tags)
    return bucket


def test_inventory_of_every_kind_in_two_accounts_and_two_regions(local_aws):
    for account_id in ACCOUNTS:
        for region in REGIONS:
            plant_resources(account_id, region)
    register_accounts()

    runs = [sync_resources(account=account, region=region) for account, region in sync_targets()]

    assert [run.status for run in runs] == [SyncStatus.SUCCEEDED] * 4, [run.error for run in runs]
    assert {run.kind for run in runs} == {SyncKind.RESOURCES}
    kinds = set(Resource.objects.values_list("kind", flat=True))
    assert kinds == set(ResourceKind.values)
    assert Resource.objects.filter(kind=ResourceKind.S3_BUCKET).count() == 4  # each bucket in its own region
    assert Resource.objects.values("account", "region").distinct().count() == 4
    for kind in (
        ResourceKind.LAMBDA_FUNCTION,
        ResourceKind.DYNAMODB_TABLE,
        ResourceKind.SQS_QUEUE,
        ResourceKind.KINESIS_STREAM,
        ResourceKind.REST_API,
        ResourceKind.HTTP_API,
    ):
        assert Resource.objects.filter(kind=kind, tags__service="orders").count() == 4, kind
    topics = dict(
        Resource.objects.filter(
            kind=ResourceKind.SNS_TOPIC, region="eu-west-1", account__account_id=ACCOUNTS[0]
        ).values_list("name", "attributes")
    )
    assert topics["shop-alerts"]["subscriptions"] == 1
    assert topics["shop-nobody"]["subscriptions"] == 0


def test_deleted_resource_is_marked_and_resync_is_stable(local_aws):
    plant_resources(ACCOUNTS[0], REGIONS[0])
    register_accounts()
    account = AwsAccount.objects.get(account_id=ACCOUNTS[0])
    sync_resources(account=account, region=REGIONS[0])

    same = sync_resources(account=account, region=REGIONS[0])
    assert (same.created, same.updated, same.deleted) == (0, 0, 0)

    clients(ACCOUNTS[0], REGIONS[0])("sqs").delete_queue(
        QueueUrl=clients(ACCOUNTS[0], REGIONS[0])("sqs").get_queue_url(QueueName="shop-queue")["QueueUrl"]
    )
    run = sync_resources(account=account, region=REGIONS[0])

    assert run.deleted == 1
    assert Resource.objects.get(kind=ResourceKind.SQS_QUEUE).deleted_at is not None


@pytest.mark.parametrize(
    ("dimension", "value", "kind"),
    [
        ("FunctionName", "shop-fn", ResourceKind.LAMBDA_FUNCTION),
        ("TableName", "shop-table", ResourceKind.DYNAMODB_TABLE),
        ("QueueName", "shop-queue", ResourceKind.SQS_QUEUE),
        ("StreamName", "shop-stream", ResourceKind.KINESIS_STREAM),
        ("BucketName", "shop-bucket", ResourceKind.S3_BUCKET),
        ("TopicName", "shop-alerts", ResourceKind.SNS_TOPIC),
        ("ApiName", "shop-api", ResourceKind.REST_API),
        ("ApiId", "a1b2c3", ResourceKind.HTTP_API),
    ],
)
def test_links_for_each_resource_kind(dimension, value, kind):
    account = AwsAccount.objects.create(account_id="111111111111", name="prod", regions=["eu-west-1"])
    resource = Resource.objects.create(
        account=account, region="eu-west-1", kind=kind, name=value, arn=f"arn:{kind}:{value}"
    )
    linked = Alarm.objects.create(
        arn="arn:a:linked",
        account=account,
        region="eu-west-1",
        name="linked",
        dimensions={dimension: value, "Stage": "prod"},
    )
    gone = Alarm.objects.create(
        arn="arn:a:gone", account=account, region="eu-west-1", name="gone", dimensions={dimension: "old"}
    )
    unrelated = Alarm.objects.create(
        arn="arn:a:none", account=account, region="eu-west-1", name="none", namespace="Custom"
    )

    summary = links_refresh(account=account, region="eu-west-1")

    assert list(linked.resources.all()) == [resource]
    assert summary.orphaned == 1
    assert Alarm.objects.get(pk=gone.pk).orphaned
    assert not Alarm.objects.get(pk=linked.pk).orphaned
    assert not Alarm.objects.get(pk=unrelated.pk).orphaned

    resource.deleted_at = "2026-11-01T00:00:00Z"
    resource.save()
    links_refresh(account=account, region="eu-west-1")
    assert Alarm.objects.get(pk=linked.pk).orphaned


def test_metric_math_and_composite_links():
    account = AwsAccount.objects.create(account_id="111111111111", name="prod", regions=["eu-west-1"])
    table = Resource.objects.create(
        account=account, region="eu-west-1", kind=ResourceKind.DYNAMODB_TABLE, name="orders", arn="arn:t"
    )
    child = Alarm.objects.create(
        arn="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:orders-5xx",
        account=account,
        region="eu-west-1",
        name="orders-5xx",
    )
    math = Alarm.objects.create(
        arn="arn:math",
        account=account,
        region="eu-west-1",
        name="orders-error-rate",
        metrics=[
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/DynamoDB",
                        "MetricName": "SystemErrors",
                        "Dimensions": [{"Name": "TableName", "Value": "orders"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
            },
            {"Id": "e1", "Expression": "m1*100"},
        ],
    )
    composite = Alarm.objects.create(
        arn="arn:composite",
        account=account,
        region="eu-west-1",
        name="orders-down",
        alarm_type="composite",
        alarm_rule='ALARM("orders-5xx") AND NOT OK(arn:aws:cloudwatch:eu-west-1:111111111111:alarm:orders-error-rate)',
    )
    Alarm.objects.filter(pk=math.pk).update(arn="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:orders-error-rate")

    summary = links_refresh(account=account, region="eu-west-1")

    assert list(math.resources.all()) == [table]
    assert set(composite.children.all()) == {child, Alarm.objects.get(pk=math.pk)}
    assert summary.child_links == 2


def test_reference_parsers():
    assert watched_resources({"FunctionName": "f", "Resource": "f:live"}, []) == {(ResourceKind.LAMBDA_FUNCTION, "f")}
    assert child_references("(ALARM(\"a\") OR ALARM('b')) AND INSUFFICIENT_DATA(c) AND TRUE") == {"a", "b", "c"}
