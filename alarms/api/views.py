"""API views: HTTP in, one selector or service call, serializer out."""

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms import selectors
from alarms.api.rows import RowReadMixin
from alarms.api.serializers import (
    AcceptSuggestionsSerializer,
    AlarmGovernanceSerializer,
    AlarmSerializer,
    AwsAccountSerializer,
    BulkAssignSerializer,
    CoverageSerializer,
    MappingRuleSerializer,
    MergeSerializer,
    ResourceSerializer,
    RulePreviewSerializer,
    RuleRunSerializer,
    ServiceSerializer,
    SyncRunSerializer,
    TeamSerializer,
    TeamUpdateSerializer,
)
from alarms.filtersets import AlarmFilterSet, ResourceFilterSet, ServiceFilterSet, SyncRunFilterSet
from alarms.models import AwsAccount, MappingRule, RuleRun, Service, Team
from alarms.permissions import CanEditGovernance
from alarms.selectors.coverage import coverage_estate
from alarms.services.accounts import aws_account_register
from alarms.services.bulk import alarms_bulk_assign
from alarms.services.catalog import services_merge, teams_merge
from alarms.services.governance import alarm_update_governance
from alarms.services.mapping import mapping_rule_delete, mapping_rule_save, rule_preview, rules_apply
from alarms.services.rule_runs import rule_run_request, rules_run_in_worker
from alarms.services.suggested_purpose import MAX_ALARMS as MAX_SUGGESTIONS
from alarms.services.suggested_purpose import alarms_accept_suggestions
from alarms.services.teams import team_update


class MergeMixin:
    """``POST …/{slug}/merge/`` with ``{"into": slug}`` (administrators): see alarms.services.catalog."""

    merge_service = None

    @extend_schema(request=MergeSerializer, responses={200: {"type": "object"}})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def merge(self, request, slug=None):
        source = self.get_object()
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        into = type(source).objects.filter(slug=serializer.validated_data["into"]).first()
        moved = type(self).merge_service(source=source, into=into, actor=request.user)
        return Response({"merged": source.slug, "into": into.slug, "alarms_moved": moved})


class TeamViewSet(MergeMixin, viewsets.ReadOnlyModelViewSet):
    """Teams. Administrators PATCH ``name``, ``chat_channel`` and ``members`` (usernames); audited."""

    serializer_class = TeamSerializer
    lookup_field = "slug"
    merge_service = staticmethod(teams_merge)
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        return selectors.team_list().order_by("name")

    @extend_schema(request=TeamUpdateSerializer, responses=TeamSerializer)
    def partial_update(self, request, slug=None):
        if not request.user.is_staff:
            raise PermissionDenied("Only administrators change a team.")
        team = self.get_object()
        serializer = TeamUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        team_update(team=team, actor=request.user, **serializer.validated_data)
        return Response(TeamSerializer(self.get_queryset().get(pk=team.pk)).data)


class ServiceViewSet(MergeMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    lookup_field = "slug"
    merge_service = staticmethod(services_merge)

    def get_queryset(self):
        return selectors.service_list().order_by("name")


class AlarmViewSet(RowReadMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Alarms of the catalog. PATCH changes governance fields only, and is audited."""

    serializer_class = AlarmSerializer
    filterset_class = AlarmFilterSet
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self):
        return selectors.alarm_list().order_by("name", "id")

    def get_permissions(self):
        if self.request.method not in permissions.SAFE_METHODS:
            return [permissions.IsAuthenticated(), CanEditGovernance()]
        return super().get_permissions()

    @extend_schema(request=AlarmGovernanceSerializer, responses=AlarmSerializer)
    def partial_update(self, request, *args, **kwargs):
        alarm = self.get_object()
        serializer = AlarmGovernanceSerializer(alarm, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        alarm = alarm_update_governance(alarm=alarm, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(self.row(pk=alarm.pk)).data)

    @extend_schema(
        request=BulkAssignSerializer,
        responses={200: {"type": "object", "properties": {"changed": {"type": "integer"}}}},
    )
    @action(detail=False, methods=["post"], url_path="bulk-assign")
    def bulk_assign(self, request):
        """Set service, owner team, tier or signal kind on many alarms at once (audited per alarm)."""
        serializer = BulkAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        alarm_ids = values.pop("alarms")
        return Response({"changed": alarms_bulk_assign(alarm_ids=alarm_ids, actor=request.user, **values)})

    @extend_schema(
        request=AcceptSuggestionsSerializer,
        responses={200: {"type": "object", "properties": {"accepted": {"type": "integer"}}}},
    )
    @action(detail=False, methods=["post"], url_path="accept-suggestions")
    def accept_suggestions(self, request):
        """Fill the empty purpose, signal kind and tier of many alarms from their suggestions (audited)."""
        serializer = AcceptSuggestionsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "alarms" in data:
            return Response({"accepted": alarms_accept_suggestions(alarm_ids=data["alarms"], actor=request.user)})
        filterset = AlarmFilterSet(QueryDict(urlencode(data["filters"])), queryset=self.get_queryset(), request=request)
        problems = filterset.problems()
        if problems:
            return Response({"detail": "Invalid filters; nothing changed.", "errors": {"filters": problems}}, 400)
        ids = list(filterset.qs.order_by().values_list("id", flat=True)[: MAX_SUGGESTIONS + 1])
        if len(ids) != data["confirmed_count"]:
            return Response(
                {
                    "detail": f"The filters select {len(ids)} alarms, not {data['confirmed_count']}: nothing changed.",
                    "errors": {"confirmed_count": [str(len(ids))]},
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response({"accepted": alarms_accept_suggestions(alarm_ids=ids, actor=request.user)})

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


class ResourceViewSet(viewsets.ReadOnlyModelViewSet):
    """The inventory: resources alarms watch, with their inferred service and owner."""

    serializer_class = ResourceSerializer
    filterset_class = ResourceFilterSet

    def get_queryset(self):
        return selectors.resource_list().order_by("kind", "name", "id")


class MappingRuleViewSet(viewsets.ModelViewSet):
    """Ordered ownership rules. Editors change them; every change is validated, dry-run checked and audited."""

    serializer_class = MappingRuleSerializer

    def get_queryset(self):
        return selectors.mapping_rule_list()

    def get_permissions(self):
        if self.request.method not in permissions.SAFE_METHODS:
            return [permissions.IsAuthenticated(), CanEditGovernance()]
        return super().get_permissions()

    def perform_create(self, serializer):
        serializer.instance = mapping_rule_save(rule=MappingRule(**serializer.validated_data), actor=self.request.user)

    def perform_update(self, serializer):
        rule = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(rule, name, value)
        serializer.instance = mapping_rule_save(rule=rule, actor=self.request.user)

    def perform_destroy(self, instance):
        mapping_rule_delete(rule=instance, actor=self.request.user)

    @extend_schema(request=MappingRuleSerializer, responses=RulePreviewSerializer)
    @action(detail=False, methods=["post"], url_path="dry-run")
    def dry_run(self, request):
        """What saving this rule would reassign, without saving it. Give ``id`` to preview an edit."""
        rule_id = request.data.get("id")
        if rule_id not in (None, "") and not str(rule_id).isdigit():
            raise ValidationError({"id": "The id of a stored rule (a number)."})
        rule = MappingRule.objects.filter(pk=int(rule_id)).first() if rule_id not in (None, "") else None
        serializer = MappingRuleSerializer(rule, data=request.data, partial=rule is not None)
        serializer.is_valid(raise_exception=True)
        candidate = rule or MappingRule()
        for name, value in serializer.validated_data.items():
            setattr(candidate, name, value)
        if rules_run_in_worker():
            return _queued(rule_run_request(kind=RuleRun.Kind.PREVIEW, actor=request.user, rule=candidate))
        preview = rule_preview(rule=candidate)
        return Response(RulePreviewSerializer(_preview_payload(preview)).data)

    @extend_schema(
        request=None,
        responses={
            200: {"type": "object", "properties": {"reassigned": {"type": "integer"}}},
            202: RuleRunSerializer,
        },
    )
    @action(detail=False, methods=["post"])
    def apply(self, request):
        """Run the enabled rules over the whole catalog now; on a large catalog a worker does it (202 with the
        run to poll at ``/api/v1/rule-runs/{id}/``). The dry run answers the same way."""
        if rules_run_in_worker():
            return _queued(rule_run_request(kind=RuleRun.Kind.APPLY, actor=request.user))
        return Response({"reassigned": rules_apply(actor=request.user)})


class RuleRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Rule runs done by a worker: their status and outcome."""

    serializer_class = RuleRunSerializer
    queryset = RuleRun.objects.all()


def _queued(run: RuleRun) -> Response:
    return Response(
        RuleRunSerializer(run).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/rule-runs/{run.pk}/"},
    )


def _preview_payload(preview, limit: int = 500) -> dict:
    services = dict(Service.objects.values_list("id", "slug"))
    teams = dict(Team.objects.values_list("id", "slug"))
    return {
        "matches": preview.matches,
        "reassigned": len(preview.reassignments),
        "reassignments": [
            {
                "alarm_id": item.alarm_id,
                "arn": item.arn,
                "name": item.name,
                "service_before": services.get(item.service[0]),
                "service_after": services.get(item.service[1]),
                "owner_team_before": teams.get(item.team[0]),
                "owner_team_after": teams.get(item.team[1]),
                "service_rule": item.service_rule,
                "owner_team_rule": item.team_rule,
            }
            for item in preview.reassignments[:limit]
        ],
    }


class CoverageView(APIView):
    """Coverage of the estate, per team and per service (see the coverage page)."""

    @extend_schema(responses=CoverageSerializer)
    def get(self, request):
        return Response(CoverageSerializer(coverage_estate()).data)
