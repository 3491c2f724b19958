from functools import cached_property

from django.db.models import JSONField, Q
from django.db.models.expressions import Case, F, When
from django.db.models.functions import JSONObject
from rest_framework import serializers

from alarms.api.rows import RowSerializer
from alarms.choices import SignalKind, Tier
from alarms.models import GOVERNANCE_FIELDS, Alarm, AwsAccount, MappingRule, Resource, RuleRun, Service, SyncRun, Team

DISCOVERY_FIELDS = ["discovered", "discovered_from", "first_seen_at", "aliases"]


class TeamSerializer(serializers.ModelSerializer):
    alarm_count = serializers.IntegerField(read_only=True)
    service_count = serializers.IntegerField(read_only=True)
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    discovered = serializers.BooleanField(read_only=True, help_text="Created by discovery from a tag value.")
    aliases = serializers.SlugRelatedField(
        slug_field="value", many=True, read_only=True, help_text="Tag values that name this team."
    )

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "chat_channel", "members", "alarm_count", "service_count", *DISCOVERY_FIELDS]


class TeamUpdateSerializer(serializers.Serializer):
    """What an administrator changes of a team; ``members`` is the whole list of usernames."""

    name = serializers.CharField(max_length=200, required=False)
    chat_channel = serializers.CharField(max_length=80, allow_blank=True, required=False)
    members = serializers.ListField(child=serializers.CharField(max_length=150), required=False, max_length=500)


class ServiceSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    alarm_count = serializers.IntegerField(read_only=True)
    alarm_firing = serializers.IntegerField(read_only=True)
    discovered = serializers.BooleanField(read_only=True, help_text="Created by discovery from a tag value.")
    aliases = serializers.SlugRelatedField(
        slug_field="value", many=True, read_only=True, help_text="Tag values that name this service."
    )

    class Meta:
        model = Service
        fields = ["id", "slug", "name", "description", "team", "alarm_count", "alarm_firing", *DISCOVERY_FIELDS]


class MergeSerializer(serializers.Serializer):
    into = serializers.SlugField(help_text="Slug of the one to keep; this one is merged into it and deleted.")


class AcceptSuggestionsSerializer(serializers.Serializer):
    """Either alarm ids, or the list's filters with the number of alarms they selected when the caller looked
    (a stale or invalid filter is refused, never widened)."""

    alarms = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000, required=False
    )
    filters = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    confirmed_count = serializers.IntegerField(min_value=0, required=False)

    def validate(self, attrs):
        if ("alarms" in attrs) == ("filters" in attrs):
            raise serializers.ValidationError("Give either alarms (ids) or filters, not both.")
        if "filters" in attrs and "confirmed_count" not in attrs:
            raise serializers.ValidationError({"confirmed_count": "Say how many alarms the filters selected."})
        return attrs


# The alarm's ``suggested_purpose`` property, in SQL: null without a suggestion.
SUGGESTED_PURPOSE = Case(
    When(
        ~Q(suggested_by=""),
        then=JSONObject(
            detects=F("suggested_detects"),
            customer_impact=F("suggested_customer_impact"),
            action=F("suggested_action"),
        ),
    ),
    output_field=JSONField(),
)


class AlarmSerializer(RowSerializer):
    """An alarm: identity, governance, its whole AWS definition and state, and its replacement links.

    Reads render from plain rows (``alarms/api/rows.py``); the items are what this ModelSerializer gives.
    Other alarms are named by ARN, the alarm's natural key (``?arn=`` finds them).
    """

    account_id = serializers.CharField(source="account.account_id", read_only=True)
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    replaced_by = serializers.SlugRelatedField(
        slug_field="arn",
        read_only=True,
        allow_null=True,
        help_text="ARN of the alarm that replaced this one (e.g. a stack update that renamed it), or null.",
    )
    replaces = serializers.SlugRelatedField(
        slug_field="arn", read_only=True, allow_null=True, help_text="ARN of the alarm this one replaced, or null."
    )
    suggested_purpose = serializers.JSONField(
        read_only=True,
        help_text='{"detects", "customer_impact", "action"} suggested from the metric, or null; not accepted yet '
        "where the purpose fields are empty.",
    )

    class Meta:
        model = Alarm
        fields = [
            "id",
            "arn",
            "name",
            "account_id",
            "region",
            "alarm_type",
            "description",
            "state",
            "state_reason",
            "state_reason_data",
            "state_updated_at",
            "state_transitioned_at",
            "evaluation_state",
            "deleted_at",
            "service",
            "owner_team",
            "purpose_detects",
            "purpose_customer_impact",
            "purpose_action",
            "runbook_url",
            "signal_kind",
            "tier",
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
            "tags",
            "stack_name",
            "configuration_updated_at",
            "first_seen_at",
            "replaced_by",
            "replaces",
            "replacement_dismissed",
            "suggested_purpose",
            "suggested_signal_kind",
            "suggested_tier",
        ]
        read_only_fields = fields
        row_expressions = {"suggested_purpose": SUGGESTED_PURPOSE}


class AlarmGovernanceSerializer(serializers.ModelSerializer):
    """PATCH body: governance fields only; service and team are given by slug."""

    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all(), allow_null=True)
    owner_team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), allow_null=True)

    class Meta:
        model = Alarm
        fields = list(GOVERNANCE_FIELDS)

    def to_internal_value(self, data):
        # Definition fields come from AWS only; saying so beats silently ignoring them.
        unknown = sorted(set(data) - set(self.fields)) if hasattr(data, "keys") else []
        if unknown:
            raise serializers.ValidationError(
                {name: ["Read-only: only governance fields can be changed."] for name in unknown}
            )
        return super().to_internal_value(data)


class AwsAccountSerializer(serializers.ModelSerializer):
    external_id = serializers.CharField(write_only=True, required=False, allow_blank=True)

    class Meta:
        model = AwsAccount
        fields = ["id", "account_id", "name", "role_arn", "external_id", "regions", "enabled", "created_at"]
        read_only_fields = ["id", "created_at", "enabled"]


class SyncRunSerializer(serializers.ModelSerializer):
    """A sync run. ``error_summary`` is for everyone; the full ``error`` may name role ARNs, so only staff
    see it and every other user gets null (an empty string means the run had no error)."""

    account_id = serializers.CharField(source="account.account_id", read_only=True)
    error = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The full error, which may name role ARNs: staff only, null for other users.",
    )

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "account_id",
            "region",
            "kind",
            "status",
            "triggered_by",
            "started_at",
            "finished_at",
            "created",
            "updated",
            "unchanged",
            "deleted",
            "api_calls",
            "duration_ms",
            "error_summary",
            "error",
        ]
        read_only_fields = fields

    @cached_property
    def shows_error(self) -> bool:
        user = getattr(self.context.get("request"), "user", None)
        return bool(user and user.is_staff)

    def to_representation(self, instance):
        item = super().to_representation(instance)
        if not self.shows_error:
            item["error"] = None
        return item


class ResourceSerializer(serializers.ModelSerializer):
    account_id = serializers.CharField(source="account.account_id", read_only=True)
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner_team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    alarm_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Resource
        fields = [
            "id",
            "arn",
            "kind",
            "name",
            "account_id",
            "region",
            "tags",
            "attributes",
            "service",
            "owner_team",
            "alarm_count",
            "first_seen_at",
            "deleted_at",
        ]
        read_only_fields = fields


class MappingRuleSerializer(serializers.ModelSerializer):
    set_service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), allow_null=True, required=False
    )
    set_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = MappingRule
        fields = [
            "id",
            "position",
            "name",
            "enabled",
            "match",
            "tag_key",
            "pattern",
            "set_service",
            "set_team",
            "service_from_value",
            "team_from_value",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ReassignmentSerializer(serializers.Serializer):
    alarm_id = serializers.IntegerField()
    arn = serializers.CharField()
    name = serializers.CharField()
    service_before = serializers.CharField(allow_null=True)
    service_after = serializers.CharField(allow_null=True)
    owner_team_before = serializers.CharField(allow_null=True)
    owner_team_after = serializers.CharField(allow_null=True)
    service_rule = serializers.CharField(help_text="The rule that sets the service (blank if unchanged).")
    owner_team_rule = serializers.CharField(
        help_text="The rule that sets the owner, 'owner of the service' when it comes from the service."
    )


class RulePreviewSerializer(serializers.Serializer):
    matches = serializers.IntegerField()
    reassigned = serializers.IntegerField()
    reassignments = ReassignmentSerializer(many=True)


class BulkAssignSerializer(serializers.Serializer):
    """Which alarms (ids), and the fields to set on all of them. Omitted fields are left alone; null clears."""

    alarms = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000)
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), allow_null=True, required=False
    )
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), allow_null=True, required=False
    )
    tier = serializers.ChoiceField(choices=[("", "none"), *Tier.choices], required=False)
    signal_kind = serializers.ChoiceField(choices=[("", "none"), *SignalKind.choices], required=False)


class ServiceCoverageSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    team = serializers.CharField()
    alarms = serializers.IntegerField()
    covered = serializers.BooleanField(help_text="Has a live symptom alarm at tier page.")
    orphaned = serializers.IntegerField()
    no_actions = serializers.IntegerField()
    silent_topics = serializers.IntegerField()
    muted = serializers.IntegerField()
    unalarmed_resources = serializers.IntegerField()


class TeamCoverageSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    alarms = serializers.IntegerField()
    owned_pct = serializers.FloatField()
    purpose_pct = serializers.FloatField()
    services = serializers.IntegerField()
    services_covered = serializers.IntegerField()
    covered_pct = serializers.FloatField()
    suggested = serializers.IntegerField(help_text="Alarms without a purpose that have one suggested.")


class CoverageSerializer(serializers.Serializer):
    alarms = serializers.IntegerField()
    owned_pct = serializers.FloatField()
    purpose_pct = serializers.FloatField()
    services = serializers.IntegerField()
    services_covered = serializers.IntegerField()
    covered_pct = serializers.FloatField()
    suggested = serializers.IntegerField(help_text="Alarms without a purpose that have one suggested.")
    orphaned = serializers.IntegerField()
    no_actions = serializers.IntegerField()
    silent_topics = serializers.IntegerField()
    muted = serializers.IntegerField()
    unalarmed_resources = serializers.IntegerField()
    uncovered_services = serializers.SerializerMethodField()
    teams = TeamCoverageSerializer(many=True)
    services_detail = ServiceCoverageSerializer(many=True)

    def get_uncovered_services(self, obj) -> list[str]:
        return [service.slug for service in obj.uncovered_services]


class RuleRunSerializer(serializers.ModelSerializer):
    """Rules applied, or a rule previewed, by a worker (large catalogs); poll it until ``status`` is final."""

    class Meta:
        model = RuleRun
        fields = [
            "id",
            "kind",
            "status",
            "created_at",
            "finished_at",
            "matches",
            "reassigned",
            "reassignments",
            "error",
        ]
        read_only_fields = fields
