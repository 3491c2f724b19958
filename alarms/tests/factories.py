"""Catalog rows shaped like what the sync writes: real account ids, ARNs and CloudWatch field values."""

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from alarms.choices import AlarmState, SyncStatus
from alarms.models import Alarm, AwsAccount, Service, SyncRun, Team


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda team: team.slug.replace("-", " ").title())


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda service: service.slug.replace("-", " ").title())
    team = factory.SubFactory(TeamFactory)


class AwsAccountFactory(DjangoModelFactory):
    class Meta:
        model = AwsAccount
        django_get_or_create = ("account_id",)

    account_id = "111111111111"
    name = "prod"
    regions = factory.LazyFunction(lambda: ["eu-west-1", "us-east-1"])


class AlarmFactory(DjangoModelFactory):
    """A Lambda error alarm as DescribeAlarms returns it, synced a few minutes ago."""

    class Meta:
        model = Alarm

    account = factory.SubFactory(AwsAccountFactory)
    region = "eu-west-1"
    name = factory.Sequence(lambda n: f"orders-fn{n:03d}-Errors")
    arn = factory.LazyAttribute(lambda a: f"arn:aws:cloudwatch:{a.region}:{a.account.account_id}:alarm:{a.name}")
    namespace = "AWS/Lambda"
    metric_name = "Errors"
    dimensions = factory.LazyAttribute(lambda a: {"FunctionName": a.name.rsplit("-", 1)[0]})
    statistic = "Sum"
    period = 60
    evaluation_periods = 3
    datapoints_to_alarm = 2
    threshold = 1.0
    comparison_operator = "GreaterThanOrEqualToThreshold"
    treat_missing_data = "notBreaching"
    alarm_actions = factory.LazyAttribute(lambda a: [f"arn:aws:sns:{a.region}:{a.account.account_id}:ops-alerts"])
    state = AlarmState.OK
    state_reason = "Threshold Crossed: 3 datapoints [0.0, 0.0, 0.0] were not greater than or equal to the threshold."
    state_updated_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))


class SyncRunFactory(DjangoModelFactory):
    class Meta:
        model = SyncRun

    account = factory.SubFactory(AwsAccountFactory)
    region = "eu-west-1"
    status = SyncStatus.SUCCEEDED
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=2))
    finished_at = factory.LazyAttribute(lambda run: run.started_at + timedelta(seconds=3))
    created = 4
    updated = 1
    unchanged = 120
    api_calls = 3
    duration_ms = 2950
