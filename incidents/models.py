"""Alerts, outcomes and incidents build on the alarm catalog (``alarms``); the catalog never imports this app.

An inbound message (SNS, EventBridge) is stored raw, once per source message id, before anything else; a
state change is stored once per (alarm, time, new state) whatever brought it; an alert is one ALARM episode
of an alarm, derived from its state changes, so duplicates, late and out-of-order deliveries converge.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from alarms.choices import AlarmState
from alarms.models import Alarm, Service, Team
from incidents.choices import Announcement, CustomerImpact, Outcome


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
    # Who, as a name: the portal username, or a chat user's name for a click by someone with no portal account.
    outcome_by_name = models.CharField(max_length=150, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_name = models.CharField(max_length=150, blank=True)
    # The first human outcome or acknowledgement: time to first response is this minus opened_at.
    first_response_at = models.DateTimeField(null=True, blank=True)
    # The failure it belongs to (incidents.services.grouping); null for an alarm without a service.
    incident = models.ForeignKey("Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["alarm"], condition=Q(closed_at__isnull=True), name="alert_one_open"),
            models.UniqueConstraint(fields=["alarm", "opened_at"], name="alert_once_per_opening"),
        ]
        indexes = [
            # The inbox and the inference read the alerts nobody labelled yet, newest first.
            models.Index(fields=["-opened_at"], condition=Q(outcome=""), name="alert_unlabelled_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.alarm_id} alert {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Incident(models.Model):
    """The alerts of one failure of a service: an alert of the service joins the open incident when it opens
    within the grouping window of its last alert (or while one of its alerts is still open); otherwise it opens
    a new one. It closes once all its alerts closed and a quiet period passed (incidents.services.grouping).
    The database allows one open incident per service."""

    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=300)
    opened_at = models.DateTimeField(db_index=True, help_text="When its first alert opened.")
    last_alert_at = models.DateTimeField(help_text="When its latest alert opened.")
    closed_at = models.DateTimeField(null=True, blank=True)
    customer_impact = models.CharField(max_length=16, choices=CustomerImpact.choices, default=CustomerImpact.UNKNOWN)
    announcement = models.CharField(max_length=16, choices=Announcement.choices, default=Announcement.NONE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"], condition=Q(closed_at__isnull=True), name="incident_one_open_per_service"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class IncidentNote(models.Model):
    """A responder's note on an incident's timeline."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    author_name = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    at = models.DateTimeField()
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.author_name} at {self.at:%Y-%m-%d %H:%M}"


class TeamAlertPolicy(models.Model):
    """A team's own thresholds for outcome inference; an empty field takes the portal's default (settings)."""

    team = models.OneToOneField(Team, primary_key=True, on_delete=models.CASCADE, related_name="alert_policy")
    transient_max_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="An untouched alert that closed within this is labelled transient."
    )
    duplicate_window_seconds = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="An untouched alert opening this soon after another alarm's alert of its incident is its duplicate.",
    )  # fmt: skip

    # Chat (incidents.chat): when the team's daily digest of ticket-tier alerts goes out (the portal's time
    # zone), and how many page notifications a week the team accepts before the noise is its own problem.
    digest_time = models.TimeField(null=True, blank=True, help_text="Empty: OKAMI_DIGEST_TIME.")
    weekly_page_budget = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: OKAMI_PAGE_BUDGET.")

    class Meta:
        verbose_name_plural = "team alert policies"

    def __str__(self) -> str:
        return f"alert policy of {self.team_id}"


class ChatPostStatus(models.TextChoices):
    SENDING = "sending", "Sending"  # claimed; the API call may or may not have reached the chat
    POSTED = "posted", "Posted"
    FAILED = "failed", "Failed"


class ChatPost(models.Model):
    """The chat message of one alert: claimed before the call that posts it, so that it is posted once at most
    whatever retries the task goes through; its ``ts`` is what later updates edit."""

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, related_name="chat_post")
    channel = models.CharField(max_length=200)
    ts = models.CharField(max_length=40, blank=True, help_text="The message's id in its channel (Slack ts).")
    thread_ts = models.CharField(max_length=40, blank=True, help_text="The incident's message it replies to.")
    status = models.CharField(max_length=16, choices=ChatPostStatus.choices, default=ChatPostStatus.SENDING)
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField()
    posted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.channel} {self.ts or self.status}"


class ChatDigest(models.Model):
    """A team's daily digest, once per day."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=200)
    alerts = models.PositiveIntegerField()
    ts = models.CharField(max_length=40, blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="chat_digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest of {self.team_id} for {self.day}"


class ChatIdentity(models.Model):
    """Who a chat user is in the portal: a button click is recorded as this user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_identity")
    slack_user_id = models.CharField(max_length=40, unique=True)

    class Meta:
        verbose_name_plural = "chat identities"

    def __str__(self) -> str:
        return self.slack_user_id


class HistoryWatermark(models.Model):
    """How far the alarm history of an (account, region) has been read: the next backfill starts here."""

    account = models.ForeignKey("alarms.AwsAccount", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32)
    through = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "region"], name="history_watermark_per_key")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.region} through {self.through:%Y-%m-%d %H:%M:%S}"
