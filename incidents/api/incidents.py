"""API views of incidents: HTTP in, one selector or one service, serializer out."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from incidents import selectors
from incidents.api.incident_serializers import (
    IncidentDetailSerializer,
    IncidentMergeSerializer,
    IncidentNoteInSerializer,
    IncidentNoteSerializer,
    IncidentSerializer,
    IncidentSplitSerializer,
    IncidentUpdateSerializer,
)
from incidents.incident_filtersets import IncidentFilterSet
from incidents.models import Incident
from incidents.services.incidents import incident_merge, incident_note_add, incident_split, incident_update

NOT_YOURS = "Only editors and the team of the incident's service change an incident."


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents, newest first: the alerts of one failure of a service. Every signed-in user reads; editors and
    the members of the service's team change them, add notes, merge and split (all audited)."""

    filterset_class = IncidentFilterSet

    def get_queryset(self):
        return selectors.incident_details() if self.action == "retrieve" else selectors.incident_list()

    def get_serializer_class(self):
        return IncidentSerializer if self.action == "list" else IncidentDetailSerializer

    def _editable(self, incident: Incident) -> Incident:
        if not selectors.incident_editable_by(incident=incident, user=self.request.user):
            raise PermissionDenied(NOT_YOURS)
        return incident

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        return Response(IncidentDetailSerializer(selectors.incident_details().get(pk=pk)).data, status=code)

    @extend_schema(request=IncidentUpdateSerializer, responses=IncidentDetailSerializer)
    def partial_update(self, request, pk=None):
        """Change the title, customer impact or announcement status (audited)."""
        incident = self._editable(self.get_object())
        serializer = IncidentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident_update(incident=incident, actor=request.user, **serializer.validated_data)
        return self._detail(incident.pk)

    @extend_schema(request=IncidentNoteInSerializer, responses={201: IncidentNoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        """Add a note to the incident's timeline."""
        incident = self._editable(self.get_object())
        serializer = IncidentNoteInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = incident_note_add(incident=incident, actor=request.user, text=serializer.validated_data["text"])
        return Response(IncidentNoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncidentMergeSerializer, responses=IncidentDetailSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge this incident into ``into``: its alerts and notes move there and this one is deleted. Answers
        with the incident merged into."""
        source = self._editable(self.get_object())
        serializer = IncidentMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        into = self._editable(serializer.validated_data["into"])
        into = incident_merge(source=source, into=into, actor=request.user)
        return self._detail(into.pk)

    @extend_schema(request=IncidentSplitSerializer, responses={201: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        """Move some of the incident's alerts into a new incident; answers with the new one."""
        incident = self._editable(self.get_object())
        serializer = IncidentSplitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new = incident_split(incident=incident, alert_ids=data["alerts"], actor=request.user, title=data.get("title"))
        return self._detail(new.pk, status.HTTP_201_CREATED)
