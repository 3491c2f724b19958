"""Shared test helpers: alarms planted in the local AWS (two member accounts reached through AssumeRole)
and an API client signed in with a token."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from alarms import aws
from alarms.services.accounts import aws_account_register
from portal.localaws import role_arn

ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("eu-west-1", "us-east-1")
EXTERNAL_ID = "okami-test"


def member(account_id: str) -> aws.AccountAccess:
    return aws.AccountAccess(account_id, role_arn(account_id), EXTERNAL_ID)


def put_alarm(account_id, region, name, *, threshold=1.0, tags=None):
    cloudwatch = aws.client("cloudwatch", access=member(account_id), region=region)
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name.rsplit("-", 1)[0]}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[f"arn:aws:sns:{region}:{account_id}:payments-alerts"],
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


def delete_alarm(account_id, region, name):
    aws.client("cloudwatch", access=member(account_id), region=region).delete_alarms(AlarmNames=[name])


def register_accounts():
    for account_id in ACCOUNTS:
        aws_account_register(
            account_id=account_id,
            name=f"member-{account_id[:3]}",
            regions=list(REGIONS),
            role_arn=role_arn(account_id),
            external_id=EXTERNAL_ID,
        )


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client
