"""Reads of the catalog that span relations. They own select_related / annotate, so callers run a
constant number of queries whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce

from alarms.choices import AlarmState
from alarms.models import HAS_PURPOSE, Alarm, AuditEntry, MappingRule, Resource, Service, SyncRun, Team

LIVE = Q(deleted_at__isnull=True)


def alarm_list() -> QuerySet[Alarm]:
    """Alarms with ``state_since``: when they entered their state (StateUpdatedTimestamp also moves when only
    the reason changes, so the transition time when AWS gives one)."""
    return Alarm.objects.select_related("account", "service", "owner_team").annotate(
        state_since=Coalesce("state_transitioned_at", "state_updated_at")
    )


def alarm_detail(*, pk: int) -> Alarm:
    return alarm_list().get(pk=pk)


def alarm_audit(*, alarm: Alarm, limit: int = 50) -> list[AuditEntry]:
    return list(alarm.audit.select_related("actor")[:limit])


def service_list() -> QuerySet[Service]:
    return (
        Service.objects.select_related("team")
        .prefetch_related("aliases")
        .annotate(
            alarm_count=Count("alarms", filter=Q(alarms__deleted_at__isnull=True)),
            alarm_firing=Count("alarms", filter=Q(alarms__deleted_at__isnull=True, alarms__state=AlarmState.ALARM)),
        )
    )


def team_list() -> QuerySet[Team]:
    return Team.objects.prefetch_related("members", "aliases").annotate(
        alarm_count=Count("alarms", filter=Q(alarms__deleted_at__isnull=True)),
        service_count=Count("services", distinct=True),
    )


def resource_list() -> QuerySet[Resource]:
    return Resource.objects.select_related("account", "service", "owner_team").annotate(
        alarm_count=Count("alarms", filter=Q(alarms__deleted_at__isnull=True))
    )


def mapping_rule_list() -> QuerySet[MappingRule]:
    return MappingRule.objects.select_related("set_service", "set_team").order_by("position", "id")


def sync_run_list() -> QuerySet[SyncRun]:
    return SyncRun.objects.select_related("account")


@dataclass(frozen=True)
class DashboardSummary:
    total: int
    by_state: dict[str, int]
    unowned: int
    without_purpose: int
    by_team: list[tuple[str, str, int]]
    last_runs: list[SyncRun]


def dashboard_summary() -> DashboardSummary:
    live = Alarm.objects.filter(LIVE)
    counts = live.aggregate(
        total=Count("id"),
        unowned=Count("id", filter=Q(owner_team__isnull=True)),
        without_purpose=Count("id", filter=~HAS_PURPOSE),
        **{state.value: Count("id", filter=Q(state=state.value)) for state in AlarmState},
    )
    by_team = [
        (row["owner_team__slug"] or "", row["owner_team__name"] or "No owner", row["n"])
        for row in live.values("owner_team__slug", "owner_team__name").annotate(n=Count("id")).order_by("-n")
    ]
    return DashboardSummary(
        total=counts["total"],
        by_state={state.value: counts[state.value] for state in AlarmState},
        unowned=counts["unowned"],
        without_purpose=counts["without_purpose"],
        by_team=by_team,
        last_runs=list(sync_run_list()[:8]),
    )
