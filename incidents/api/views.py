"""API views of alerts: HTTP in, one selector, serializer out."""

from django.shortcuts import get_object_or_404
from rest_framework import generics, viewsets

from alarms.models import Alarm
from incidents import selectors
from incidents.api.serializers import AlertSerializer, StateChangeSerializer
from incidents.filtersets import AlertFilterSet
from incidents.models import StateChange


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts, newest first: one per ALARM episode of an alarm."""

    serializer_class = AlertSerializer
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return selectors.alert_list()


class AlarmStateChangeList(generics.ListAPIView):
    """The state changes of one alarm, newest first, from every source (SNS, EventBridge, history)."""

    serializer_class = StateChangeSerializer
    queryset = StateChange.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        alarm = get_object_or_404(Alarm, pk=self.kwargs["alarm_id"])
        return selectors.alarm_state_changes(alarm_id=alarm.pk)
