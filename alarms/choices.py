"""String choices of the catalog, and the colour of each value's badge in the UI."""

from django.db import models


class AlarmState(models.TextChoices):
    OK = "OK", "OK"
    ALARM = "ALARM", "Alarm"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA", "Insufficient data"


class AlarmType(models.TextChoices):
    METRIC = "metric", "Metric"
    COMPOSITE = "composite", "Composite"


class SignalKind(models.TextChoices):
    SYMPTOM = "symptom", "Symptom (customer-facing)"
    CAUSE = "cause", "Cause"


class Tier(models.TextChoices):
    PAGE = "page", "Page: notify humans now"
    TICKET = "ticket", "Ticket: look in working hours"
    INFO = "info", "Info: dashboard only"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SyncKind(models.TextChoices):
    ALARMS = "alarms", "Alarms"
    RESOURCES = "resources", "Resources"
    HISTORY = "history", "Alarm history"


class ResourceKind(models.TextChoices):
    LAMBDA_FUNCTION = "lambda:function", "Lambda function"
    REST_API = "apigateway:restapi", "API Gateway REST API"
    HTTP_API = "apigateway:httpapi", "API Gateway HTTP API"
    DYNAMODB_TABLE = "dynamodb:table", "DynamoDB table"
    S3_BUCKET = "s3:bucket", "S3 bucket"
    SQS_QUEUE = "sqs:queue", "SQS queue"
    KINESIS_STREAM = "kinesis:stream", "Kinesis stream"
    SNS_TOPIC = "sns:topic", "SNS topic"


class AssignmentSource(models.TextChoices):
    """Where an alarm's service or owner came from. Manual assignments always win over rules."""

    NONE = "", "Unassigned"
    RULE = "rule", "Mapping rule"
    MANUAL = "manual", "Manual"


class RuleMatch(models.TextChoices):
    TAG = "tag", "Tag key = value"
    NAME_PREFIX = "name_prefix", "Name starts with"
    NAME_REGEX = "name_regex", "Name matches regular expression"
    ACCOUNT = "account", "AWS account"


BADGE_COLOURS = {
    AlarmState.OK: "green",
    AlarmState.ALARM: "red",
    AlarmState.INSUFFICIENT_DATA: "amber",
    AlarmType.METRIC: "blue",
    AlarmType.COMPOSITE: "purple",
    SignalKind.SYMPTOM: "red",
    SignalKind.CAUSE: "blue",
    Tier.PAGE: "red",
    Tier.TICKET: "amber",
    Tier.INFO: "grey",
    SyncStatus.RUNNING: "blue",
    SyncStatus.SUCCEEDED: "green",
    SyncStatus.FAILED: "red",
}
