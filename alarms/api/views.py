"""API views: HTTP in, one selector or service call, serializer out."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from alarms import selectors
from alarms.api.serializers import (
    AlarmGovernanceSerializer,
    AlarmSerializer,
    AwsAccountSerializer,
    ServiceSerializer,
    SyncRunSerializer,
    TeamSerializer,
)
from alarms.filtersets import AlarmFilterSet, ServiceFilterSet, SyncRunFilterSet
from alarms.models import AwsAccount
from alarms.permissions import CanEditGovernance
from alarms.services.accounts import aws_account_register
from alarms.services.governance import alarm_update_governance


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.team_list().order_by("name")


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.service_list().order_by("name")


class AlarmViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Alarms of the catalog. PATCH changes governance fields only, and is audited."""

    serializer_class = AlarmSerializer
    filterset_class = AlarmFilterSet
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.alarm_list().order_by("name", "id")

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [permissions.IsAuthenticated(), CanEditGovernance()]
        return super().get_permissions()

    @extend_schema(request=AlarmGovernanceSerializer, responses=AlarmSerializer)
    def partial_update(self, request, *args, **kwargs):
        alarm = self.get_object()
        serializer = AlarmGovernanceSerializer(alarm, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        alarm = alarm_update_governance(alarm=alarm, actor=request.user, **serializer.validated_data)
        return Response(AlarmSerializer(selectors.alarm_detail(pk=alarm.pk)).data)

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return Response({"detail": "Use PATCH.", "errors": {}}, status=status.HTTP_405_METHOD_NOT_ALLOWED)
        return super().update(request, *args, **kwargs)


class AwsAccountViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """AWS accounts the portal syncs. Administrators only: role ARNs and external ids are sensitive."""

    serializer_class = AwsAccountSerializer
    permission_classes = [permissions.IsAdminUser]
    queryset = AwsAccount.objects.order_by("name")

    def perform_create(self, serializer):
        serializer.instance = aws_account_register(actor=self.request.user, **serializer.validated_data)


class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SyncRunSerializer
    filterset_class = SyncRunFilterSet

    def get_queryset(self):
        return selectors.sync_run_list()
