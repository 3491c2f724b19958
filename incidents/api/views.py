"""API views of alerts: HTTP in, one selector, serializer out."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from alarms.models import Alarm
from incidents import selectors
from incidents.api.serializers import (
    AlertSerializer,
    BulkOutcomeResultSerializer,
    BulkOutcomeSerializer,
    OutcomeSerializer,
    StateChangeSerializer,
)
from incidents.filtersets import AlertFilterSet
from incidents.models import Alert, StateChange
from incidents.permissions import REFUSAL, alerts_labellable, can_label
from incidents.services.outcomes import alert_acknowledge, alert_outcome_record, alerts_outcome_record_bulk


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts, newest first: one per ALARM episode of an alarm. Editors and the members of the alarm's owner
    team record outcomes and acknowledge."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return selectors.alert_list()

    def _responder(self, request) -> Alert:
        alert = self.get_object()
        if not can_label(request.user, alert):
            raise PermissionDenied(REFUSAL)
        return alert

    @extend_schema(request=OutcomeSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        """Record what was done about the alert (audited; a later change is audited too)."""
        alert = self._responder(request)
        serializer = OutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        alert = alert_outcome_record(alert=alert, outcome=data["outcome"], actor=request.user, note=data["note"],
                                     duplicate_of=data.get("duplicate_of"))  # fmt: skip
        return Response(AlertSerializer(selectors.alert_list().get(pk=alert.pk)).data)

    @extend_schema(
        operation_id="v1_alerts_outcome_bulk", request=BulkOutcomeSerializer, responses=BulkOutcomeResultSerializer
    )
    @action(detail=False, methods=["post"], url_path="outcome", url_name="outcome-bulk")
    def outcome_bulk(self, request):
        """Record one outcome (not duplicate) for many alerts: all of them, or on any error none."""
        serializer = BulkOutcomeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ids = set(data["ids"])
        alerts = Alert.objects.filter(pk__in=ids)
        found = set(alerts.values_list("pk", flat=True))
        if found != ids:
            raise ValidationError({"ids": [f"No such alert: {', '.join(map(str, sorted(ids - found)))}."]})
        refused = found - set(alerts_labellable(request.user, alerts).values_list("pk", flat=True))
        if refused:
            raise PermissionDenied(f"{REFUSAL} Not yours to label: {', '.join(map(str, sorted(refused)))}.")
        labelled = alerts_outcome_record_bulk(
            alerts=alerts, outcome=data["outcome"], actor=request.user, note=data["note"]
        )
        results = selectors.alert_list().filter(pk__in=ids)
        return Response({"labelled": labelled, "results": AlertSerializer(results, many=True).data})

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def ack(self, request, pk=None):
        """Acknowledge the alert: someone is looking."""
        alert = alert_acknowledge(alert=self._responder(request), actor=request.user)
        return Response(AlertSerializer(selectors.alert_list().get(pk=alert.pk)).data)


class AlarmStateChangeList(generics.ListAPIView):
    """The state changes of one alarm, newest first, from every source (SNS, EventBridge, history)."""

    serializer_class = StateChangeSerializer
    queryset = StateChange.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        alarm = get_object_or_404(Alarm, pk=self.kwargs["alarm_id"])
        return selectors.alarm_state_changes(alarm_id=alarm.pk)
