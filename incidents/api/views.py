"""API views of alerts: HTTP in, one selector, serializer out."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from alarms.models import Alarm
from alarms.permissions import can_edit_governance
from incidents import selectors
from incidents.api.serializers import AlertSerializer, OutcomeSerializer, StateChangeSerializer
from incidents.filtersets import AlertFilterSet
from incidents.models import Alert, StateChange
from incidents.services.outcomes import alert_acknowledge, alert_outcome_record


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts, newest first: one per ALARM episode of an alarm. Editors and the members of the alarm's owner
    team record outcomes and acknowledge."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return selectors.alert_list()

    def _responder(self, request) -> Alert:
        alert = self.get_object()
        team = alert.alarm.owner_team_id
        if not (can_edit_governance(request.user) or (team and request.user.teams.filter(pk=team).exists())):
            raise PermissionDenied("Only editors and the alarm's owner team record what was done.")
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
