"""API views of incidents."""

from rest_framework import viewsets

from incidents.models import Incident


class IncidentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Incident.objects.none()
