from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.api.serializers import AlertSerializer
from incidents.choices import Announcement, CustomerImpact
from incidents.models import Incident, IncidentNote
from incidents.services.incidents import NOTE_MAX, TITLE_MAX


class IncidentSerializer(serializers.ModelSerializer):
    """An incident with its counts; read from ``selectors.incident_list`` (the counts are its annotations)."""

    service = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    team = serializers.SlugRelatedField(source="service.team", slug_field="slug", read_only=True, allow_null=True)
    alert_count = serializers.IntegerField(read_only=True)
    open_alert_count = serializers.IntegerField(read_only=True)
    first_response_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="The earliest first response among its alerts."
    )
    time_to_first_response_seconds = serializers.SerializerMethodField(
        help_text="first_response_at minus opened_at; null until someone responds."
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "service",
            "team",
            "opened_at",
            "last_alert_at",
            "closed_at",
            "customer_impact",
            "announcement",
            "alert_count",
            "open_alert_count",
            "first_response_at",
            "time_to_first_response_seconds",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.FLOAT)
    def get_time_to_first_response_seconds(self, incident) -> float | None:
        delay = incident.time_to_first_response
        return delay.total_seconds() if delay is not None else None


class IncidentNoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = IncidentNote
        fields = ["id", "at", "author", "text"]
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    """An incident with its alerts (oldest first) and notes; read from ``selectors.incident_details``."""

    alerts = AlertSerializer(many=True, read_only=True)
    notes = IncidentNoteSerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "alerts", "notes"]
        read_only_fields = fields


class IncidentUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=TITLE_MAX)
    customer_impact = serializers.ChoiceField(choices=CustomerImpact.choices, required=False)
    announcement = serializers.ChoiceField(choices=Announcement.choices, required=False)


class IncidentNoteInSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=NOTE_MAX)


class IncidentMergeSerializer(serializers.Serializer):
    into = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.select_related("service"), help_text="The incident that takes this one's alerts."
    )


class IncidentSplitSerializer(serializers.Serializer):
    alerts = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of this incident's alerts that become a new incident."
    )
    title = serializers.CharField(required=False, max_length=TITLE_MAX, help_text="The new incident's title.")
