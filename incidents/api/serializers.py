from rest_framework import serializers

from incidents.models import Alert, StateChange


class AlertSerializer(serializers.ModelSerializer):
    """An alert (one ALARM episode). Outcomes and incidents come with their own features: null until then."""

    alarm_arn = serializers.CharField(source="alarm.arn", read_only=True)
    alarm_name = serializers.CharField(source="alarm.name", read_only=True)
    service = serializers.SlugRelatedField(source="alarm.service", slug_field="slug", read_only=True)
    owner_team = serializers.SlugRelatedField(source="alarm.owner_team", slug_field="slug", read_only=True)
    incident = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    outcome_inferred = serializers.SerializerMethodField()

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
        ]
        read_only_fields = fields

    def get_incident(self, alert) -> int | None:
        return None

    def get_outcome(self, alert) -> str | None:
        return None

    def get_outcome_inferred(self, alert) -> bool | None:
        return None


class StateChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = StateChange
        fields = ["id", "at", "old_state", "new_state", "reason", "reason_data", "sources", "recorded_at"]
        read_only_fields = fields
