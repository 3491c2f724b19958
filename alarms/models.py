"""The alarm catalog: teams, services, AWS accounts, alarms, sync runs and the audit trail."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from alarms.choices import (
    AlarmState,
    AlarmType,
    AssignmentSource,
    ResourceKind,
    RuleMatch,
    SignalKind,
    SyncKind,
    SyncStatus,
    Tier,
)

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
account_id_validator = RegexValidator(r"^\d{12}$", "An AWS account id is 12 digits.")


class Team(models.Model):
    """A group of people that owns services and alarms and answers for their notifications."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    chat_channel = models.CharField(max_length=200, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    # Discovery (alarms.services.discovery) creates teams and services from tag values; people may edit, merge
    # or delete them like any other. Empty for what a person created.
    discovered_from = models.CharField(max_length=300, blank=True, help_text="The tag that named it first.")
    first_seen_at = models.DateTimeField(null=True, blank=True, help_text="When discovery first met it.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def discovered(self) -> bool:
        return bool(self.discovered_from)


class Service(models.Model):
    """Something customers use (checkout, search…); alarms are attached to the service they watch."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="services")
    # "discovered" when discovery chose the team (the one most of its alarms name), "manual" once a person
    # set or cleared it: discovery never changes a person's choice.
    team_source = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Discovery (alarms.services.discovery) creates teams and services from tag values; people may edit, merge
    # or delete them like any other. Empty for what a person created.
    discovered_from = models.CharField(max_length=300, blank=True, help_text="The tag that named it first.")
    first_seen_at = models.DateTimeField(null=True, blank=True, help_text="When discovery first met it.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def discovered(self) -> bool:
        return bool(self.discovered_from)


class TagAlias(models.Model):
    """A tag value as met in AWS (``Checkout``, ``checkout-svc``) that names a service or team, so that a rule
    taking the service or team from a tag finds it by any of its spellings. An alias whose service or team was
    deleted stays, pointing nowhere: discovery does not bring back what a person removed."""

    value = models.CharField(max_length=256, unique=True)
    # The value normalised as discovery makes slugs: another spelling of a known value (``Checkout-SVC`` after
    # ``checkout-svc`` was merged or deleted) follows the alias, it is not a new service.
    key = models.CharField(max_length=64, db_index=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["value"]

    def __str__(self) -> str:
        return self.value


class ServiceAlias(TagAlias):
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="aliases")

    class Meta(TagAlias.Meta):
        verbose_name_plural = "service aliases"


class TeamAlias(TagAlias):
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="aliases")

    class Meta(TagAlias.Meta):
        verbose_name_plural = "team aliases"


class AwsAccount(models.Model):
    """An AWS account the portal reads, through an IAM role it assumes (with an external id) when set."""

    account_id = models.CharField(max_length=12, unique=True, validators=[account_id_validator])
    name = models.CharField(max_length=200)
    role_arn = models.CharField(max_length=2048, blank=True)
    external_id = models.CharField(max_length=1224, blank=True)
    # Applying review decisions needs write access; a separate role keeps the sync role read-only.
    write_role_arn = models.CharField(max_length=2048, blank=True)
    write_external_id = models.CharField(max_length=1224, blank=True)
    regions = models.JSONField(default=list, help_text="Region codes to sync, e.g. ['eu-west-1'].")
    enabled = models.BooleanField(default=True)
    # False for an account only known from the alerts it sent (a central alerting topic receives from many
    # accounts): kept, never synced, listed as unknown until someone registers it.
    registered = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AWS account"

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    def clean(self) -> None:
        errors = {}
        if not isinstance(self.regions, list) or not self.regions:
            errors["regions"] = "List at least one region."
        else:
            bad = [r for r in self.regions if not isinstance(r, str) or not REGION_RE.match(r)]
            if bad:
                errors["regions"] = f"Not AWS region codes: {', '.join(map(str, bad))}."
        for name in ("role_arn", "write_role_arn"):
            if getattr(self, name) and not ROLE_ARN_RE.match(getattr(self, name)):
                errors[name] = "Not an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
        for name in ("external_id", "write_external_id"):
            if getattr(self, name) and not EXTERNAL_ID_RE.match(getattr(self, name)):
                errors[name] = "AWS accepts 2 to 1224 of letters, digits and +=,.@:/- as an external id."
        if errors:
            raise ValidationError(errors)


# Fields that come from AWS. Sync writes only these (plus deleted_at); governance fields are never
# touched by a sync, so that what people decided survives every resync.
AWS_FIELDS = (
    "account",
    "region",
    "name",
    "alarm_type",
    "description",
    "namespace",
    "metric_name",
    "dimensions",
    "statistic",
    "extended_statistic",
    "unit",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "threshold",
    "comparison_operator",
    "treat_missing_data",
    "evaluate_low_sample_count_percentile",
    "threshold_metric_id",
    "metrics",
    "alarm_rule",
    "actions_suppressor",
    "actions_suppressor_wait_period",
    "actions_suppressor_extension_period",
    "extra_settings",
    "actions_enabled",
    "alarm_actions",
    "ok_actions",
    "insufficient_data_actions",
    "state",
    "state_reason",
    "state_reason_data",
    "state_updated_at",
    "state_transitioned_at",
    "evaluation_state",
    "configuration_updated_at",
    "tags",
    "stack_name",
    "aws_hash",
)

GOVERNANCE_FIELDS = (
    "service",
    "owner_team",
    "purpose_detects",
    "purpose_customer_impact",
    "purpose_action",
    "runbook_url",
    "signal_kind",
    "tier",
)

# An alarm has a purpose when all three questions are answered; one definition for every count and filter.
PURPOSE_FIELDS = ("purpose_detects", "purpose_customer_impact", "purpose_action")
HAS_PURPOSE = Q(*(~Q(**{name: ""}) for name in PURPOSE_FIELDS))
# A suggestion waiting for a person: the library suggests a purpose and the alarm has none yet.
SUGGESTION_PENDING = ~Q(suggested_by="") & ~HAS_PURPOSE


class Alarm(models.Model):
    """A CloudWatch alarm (metric or composite), identified by its ARN, with its governance data."""

    arn = models.CharField(max_length=1600, unique=True)
    # No index of its own: alarm_account_region_idx leads with it, and each index is paid on every sync write.
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="alarms", db_index=False)
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=255)
    alarm_type = models.CharField(max_length=16, choices=AlarmType.choices, default=AlarmType.METRIC)
    description = models.TextField(blank=True)

    # Definition (metric alarms; metric-math alarms keep their queries in ``metrics``).
    namespace = models.CharField(max_length=255, blank=True)
    metric_name = models.CharField(max_length=255, blank=True)
    dimensions = models.JSONField(default=dict, blank=True)
    statistic = models.CharField(max_length=64, blank=True, help_text="SampleCount, Average, Sum, Minimum, Maximum.")
    extended_statistic = models.CharField(max_length=64, blank=True, help_text="A percentile such as p99, or tm90.")
    unit = models.CharField(max_length=32, blank=True)
    period = models.PositiveIntegerField(null=True, blank=True)
    evaluation_periods = models.PositiveIntegerField(null=True, blank=True)
    datapoints_to_alarm = models.PositiveIntegerField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    comparison_operator = models.CharField(max_length=64, blank=True)
    treat_missing_data = models.CharField(max_length=32, blank=True)
    evaluate_low_sample_count_percentile = models.CharField(max_length=16, blank=True)
    threshold_metric_id = models.CharField(max_length=255, blank=True, help_text="Anomaly-band alarms.")
    metrics = models.JSONField(default=list, blank=True, help_text="Metric-math queries, as AWS returns them.")
    alarm_rule = models.TextField(blank=True, help_text="Composite alarms: the rule over child alarms.")
    actions_suppressor = models.CharField(max_length=1600, blank=True, help_text="Composite alarms.")
    actions_suppressor_wait_period = models.PositiveIntegerField(null=True, blank=True)
    actions_suppressor_extension_period = models.PositiveIntegerField(null=True, blank=True)
    # Settings AWS added after the columns above (evaluation window, warm-up, PromQL criteria, evaluation
    # interval, action configuration), kept in AWS's own shape so that a write-back sends them unchanged.
    extra_settings = models.JSONField(default=dict, blank=True, help_text="Newer settings, as AWS returns them.")

    # Actions and state.
    actions_enabled = models.BooleanField(default=True)
    actions_disabled_since = models.DateTimeField(
        null=True, blank=True, help_text="When the sync first saw its actions disabled (muted)."
    )
    alarm_actions = models.JSONField(default=list, blank=True)
    ok_actions = models.JSONField(default=list, blank=True)
    insufficient_data_actions = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=32, choices=AlarmState.choices, default=AlarmState.INSUFFICIENT_DATA)
    state_reason = models.TextField(blank=True)
    state_reason_data = models.JSONField(default=dict, blank=True)
    # StateUpdatedTimestamp also moves when only the reason changes; "in this state since" is the transition.
    state_updated_at = models.DateTimeField(null=True, blank=True)
    state_transitioned_at = models.DateTimeField(null=True, blank=True)
    evaluation_state = models.CharField(max_length=32, blank=True, help_text="e.g. PARTIAL_DATA.")
    configuration_updated_at = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    stack_name = models.CharField(max_length=255, blank=True, help_text="CloudFormation stack managing it.")
    # Digest of every AWS-side field: a resync rewrites an alarm only when this changes.
    aws_hash = models.CharField(max_length=64, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Gone from AWS; history is kept.")
    # Identity across replacement: a stack update that replaces an alarm (new name, same purpose) links the
    # old one to its successor, which inherits its governance; a person can undo a wrong link.
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    replacement_dismissed = models.BooleanField(
        default=False, help_text="A person unlinked a replacement: never link this alarm automatically again."
    )

    # Governance.
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms")
    owner_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms")
    purpose_detects = models.TextField("what it detects", blank=True)
    purpose_customer_impact = models.TextField("customer impact when it fires", blank=True)
    purpose_action = models.TextField("expected action", blank=True)
    runbook_url = models.URLField("runbook", max_length=1000, blank=True)
    signal_kind = models.CharField(max_length=16, choices=SignalKind.choices, blank=True)
    tier = models.CharField(max_length=16, choices=Tier.choices, blank=True)
    # Suggested from what the alarm measures (alarms/data/metric_library.toml), written by the sync; shown
    # beside the empty fields until a person accepts them (alarms.services.suggested_purpose).
    suggested_detects = models.TextField(blank=True)
    suggested_customer_impact = models.TextField(blank=True)
    suggested_action = models.TextField(blank=True)
    suggested_signal_kind = models.CharField(max_length=16, choices=SignalKind.choices, blank=True)
    suggested_tier = models.CharField(max_length=16, choices=Tier.choices, blank=True)
    suggested_by = models.CharField(max_length=64, blank=True, help_text="The metric library entry.")
    suggestion_version = models.CharField(max_length=16, blank=True, help_text="The library it came from.")
    # Where service and owner came from: rules never override a manual assignment.
    service_source = models.CharField(max_length=8, choices=AssignmentSource.choices, blank=True)
    owner_team_source = models.CharField(max_length=8, choices=AssignmentSource.choices, blank=True)

    # Links, refreshed after each sync (alarms.services.links).
    resources = models.ManyToManyField("Resource", blank=True, related_name="alarms")
    children = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="parents")
    orphaned = models.BooleanField(default=False, help_text="Watches a resource that no longer exists.")

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["account", "region"], name="alarm_account_region_idx"),
            models.Index(fields=["state"], name="alarm_state_idx"),
            models.Index(fields=["name"], name="alarm_name_idx"),
        ]
        permissions = [("change_alarm_governance", "Can change an alarm's owner, service and purpose")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_purpose(self) -> bool:
        return all(getattr(self, name) for name in PURPOSE_FIELDS)

    @property
    def suggested_purpose(self) -> dict | None:
        if not self.suggested_by:
            return None
        return {
            "detects": self.suggested_detects,
            "customer_impact": self.suggested_customer_impact,
            "action": self.suggested_action,
        }

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Resource(models.Model):
    """An AWS resource alarms watch (function, API, table, bucket, queue, stream, topic)."""

    arn = models.CharField(max_length=1600, unique=True)
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="resources")
    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=32, choices=ResourceKind.choices)
    name = models.CharField(max_length=512, help_text="The name alarm dimensions use (an API's name or id).")
    tags = models.JSONField(default=dict, blank=True)
    attributes = models.JSONField(default=dict, blank=True, help_text="Kind-specific facts, e.g. subscriptions.")
    aws_hash = models.CharField(max_length=64, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="resources")
    owner_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="resources")

    class Meta:
        ordering = ["kind", "name"]
        indexes = [models.Index(fields=["account", "region", "kind", "name"], name="resource_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class MappingRule(models.Model):
    """An ordered rule that sets the service and/or owner team of the alarms (and resources) it matches.

    Rules run in ``position`` order; for each of service and owner, the first matching rule that sets it
    wins. A manual assignment is never overridden.
    """

    position = models.PositiveIntegerField(default=100)
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    match = models.CharField(max_length=16, choices=RuleMatch.choices)
    tag_key = models.CharField(max_length=128, blank=True, help_text="Tag rules: the key, e.g. service.")
    pattern = models.CharField(
        max_length=512, blank=True, help_text="Tag value (* for any), name prefix, regular expression or account id."
    )
    # Deleting a service or team disables the rules naming it (alarms.services.catalog), never deletes them.
    set_service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    set_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    service_from_value = models.BooleanField(
        default=False, help_text="Tag rules: the service whose slug is the tag's value."
    )
    team_from_value = models.BooleanField(default=False, help_text="Tag rules: the team whose slug is the tag's value.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """Rules applied (or one rule previewed) by a worker, for a catalog too large to do it inside a request.

    The page that asked shows the run and refreshes until it is finished. A preview keeps the rule as it was
    submitted (not saved) and the first reassignments it would make."""

    class Kind(models.TextChoices):
        APPLY = "apply", "Apply the rules"
        PREVIEW = "preview", "Preview a rule"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    rule = models.JSONField(default=dict, blank=True, help_text="Preview: the rule as submitted.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    matches = models.PositiveIntegerField(null=True, blank=True)
    reassigned = models.PositiveIntegerField(null=True, blank=True)
    reassignments = models.JSONField(default=list, blank=True, help_text="Preview: the first reassignments.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class SyncRun(models.Model):
    """One sync of one (account, region): its status, counts, timings and error.

    A running row is also the lock for its key: the conditional unique constraint lets only one sync of
    an (account, region, kind) run at a time, on any database and any number of workers.
    """

    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="sync_runs")
    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=SyncKind.choices, default=SyncKind.ALARMS)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    triggered_by = models.CharField(max_length=160, default="schedule", help_text="schedule, or web:<user name>.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Deletions held back because too many alarms vanished at once; the next run confirms or drops them.
    held_deletions = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Full error, for administrators (may name role ARNs).")
    error_summary = models.CharField(max_length=300, blank=True, help_text="What every user may see.")
    # What the refresh of this key discovered: {"services": [slug], "teams": [slug], "skipped": [{key, value, reason}]}.
    discovery = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "kind"],
                condition=Q(status="running"),
                name="syncrun_one_running_per_key",
            )
        ]
        indexes = [models.Index(fields=["-started_at"], name="syncrun_started_idx")]

    def __str__(self) -> str:
        return f"{self.kind} sync {self.account.account_id}/{self.region} {self.status}"


class AuditEntry(models.Model):
    """Who changed what, when, and the values before and after. Written by services, never edited."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64)
    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    target = models.CharField(max_length=1600, help_text="What was changed: an ARN or a model label and id.")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"
