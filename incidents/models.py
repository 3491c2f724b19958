"""Alerts, outcomes and incidents build on the alarm catalog (``alarms``); the catalog never imports this app.

An inbound message (SNS, EventBridge) is stored raw, once per source message id, before anything else; a
state change is stored once per (alarm, time, new state) whatever brought it; an alert is one ALARM episode
of an alarm, derived from its state changes, so duplicates, late and out-of-order deliveries converge.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from alarms.choices import AlarmState
from alarms.models import Alarm
from incidents.choices import Outcome


class InboundSource(models.TextChoices):
    SNS = "sns", "SNS"
    EVENTBRIDGE = "eventbridge", "EventBridge"
    HISTORY = "history", "Alarm history"


class InboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"  # stored and verified, but not about an alarm (e.g. a confirmation)
    FAILED = "failed", "Failed"


class InboundMessage(models.Model):
    """A webhook delivery as received, stored durably before the sender gets its 2xx."""

    source = models.CharField(max_length=16, choices=InboundSource.choices)
    message_id = models.CharField(max_length=200, help_text="SNS MessageId or EventBridge event id.")
    kind = models.CharField(max_length=64, help_text="SNS Type, or the EventBridge detail-type.")
    topic_arn = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="The body as received.")
    received_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=16, choices=InboundStatus.choices, default=InboundStatus.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # A processing error leaves the message pending, tried again later (backing off), up to a limit.
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "message_id"], name="inbound_once_per_source_message")]
        indexes = [
            models.Index(fields=["status"], condition=Q(status="pending"), name="inbound_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.message_id}"


class StateChange(models.Model):
    """An alarm entering a state at a time, as CloudWatch reported it through any source."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="state_changes")
    at = models.DateTimeField()
    old_state = models.CharField(max_length=32, choices=AlarmState.choices, blank=True)
    new_state = models.CharField(max_length=32, choices=AlarmState.choices)
    reason = models.TextField(blank=True)
    reason_data = models.JSONField(default=dict, blank=True)
    # Every inbound message that reported it ("sns:<MessageId>", "history:<account>/<region>"…).
    sources = models.JSONField(default=list, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alarm", "at", "new_state"], name="state_change_once"),
        ]
        indexes = [models.Index(fields=["alarm", "at"], name="state_change_alarm_at_idx")]

    def __str__(self) -> str:
        return f"{self.alarm_id} → {self.new_state} at {self.at:%Y-%m-%d %H:%M:%S}"


class Alert(models.Model):
    """One ALARM episode: it opens when the alarm enters ALARM and closes when it leaves it. Derived from the
    state changes (incidents.services.episodes); outcomes and incidents attach to it."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="alerts")
    opened_at = models.DateTimeField(db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="The state reason when it opened.")
    # What people did about it (incidents.services.outcomes); every change is audited.
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    outcome_inferred = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # The first human outcome or acknowledgement: time to first response is this minus opened_at.
    first_response_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["alarm"], condition=Q(closed_at__isnull=True), name="alert_one_open"),
            models.UniqueConstraint(fields=["alarm", "opened_at"], name="alert_once_per_opening"),
        ]

    def __str__(self) -> str:
        return f"{self.alarm_id} alert {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class HistoryWatermark(models.Model):
    """How far the alarm history of an (account, region) has been read: the next backfill starts here."""

    account = models.ForeignKey("alarms.AwsAccount", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32)
    through = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "region"], name="history_watermark_per_key")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region} through {self.through:%Y-%m-%d %H:%M:%S}"
