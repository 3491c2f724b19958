from rest_framework import serializers

from incidents.choices import Outcome
from incidents.models import Alert, StateChange
from incidents.services.outcomes import MAX_BULK, MAX_NOTE


class AlertSerializer(serializers.ModelSerializer):
    """An alert (one ALARM episode), its outcome and the incident it belongs to."""

    alarm_arn = serializers.CharField(source="alarm.arn", read_only=True)
    alarm_name = serializers.CharField(source="alarm.name", read_only=True)
    service = serializers.SlugRelatedField(source="alarm.service", slug_field="slug", read_only=True)
    owner_team = serializers.SlugRelatedField(source="alarm.owner_team", slug_field="slug", read_only=True)
    incident = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    outcome = serializers.CharField(allow_null=True, read_only=True, help_text="null until someone records one.")
    duplicate_of = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "alarm_arn",
            "alarm_name",
            "service",
            "owner_team",
            "opened_at",
            "closed_at",
            "reason",
            "incident",
            "outcome",
            "outcome_inferred",
            "outcome_note",
            "duplicate_of",
            "outcome_at",
            "acknowledged_at",
            "first_response_at",
        ]
        read_only_fields = fields

    def to_representation(self, alert):
        item = super().to_representation(alert)
        item["outcome"] = alert.outcome or None
        return item


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE, default="")
    duplicate_of = serializers.PrimaryKeyRelatedField(queryset=Alert.objects.all(), required=False, allow_null=True)


class BulkOutcomeSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_BULK, help_text="Alert ids."
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        help_text="Any outcome but duplicate, which names its original and so is recorded one alert at a time.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE, default="")

    def validate_outcome(self, value):
        if value == Outcome.DUPLICATE:
            raise serializers.ValidationError("A duplicate names the alert it duplicates: label it on its own.")
        return value


class BulkOutcomeResultSerializer(serializers.Serializer):
    labelled = serializers.IntegerField()
    results = AlertSerializer(many=True)


class StateChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = StateChange
        fields = ["id", "at", "old_state", "new_state", "reason", "reason_data", "sources", "recorded_at"]
        read_only_fields = fields
