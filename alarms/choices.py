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
