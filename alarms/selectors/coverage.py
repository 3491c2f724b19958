"""Coverage: where alarms are missing or pointless, per service, per team and across the estate.

- a service is *covered* when it has a live symptom (customer-facing) alarm at tier page;
- orphaned alarms watch a resource that is gone; alarms with no actions notify nobody, nor do alarms whose
  SNS topics have no subscriptions; muted alarms have their actions disabled (since when);
- resources with no alarm are information only: not every resource needs one.

Each figure is one aggregate query (or one pass over plain rows), whatever the size of the estate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q

from alarms.choices import ResourceKind, SignalKind, Tier
from alarms.models import HAS_PURPOSE, SUGGESTION_PENDING, Alarm, Resource, Service, Team

LIVE = Q(deleted_at__isnull=True)


@dataclass
class ServiceCoverage:
    slug: str
    name: str
    team: str
    team_slug: str
    alarms: int
    covered: bool
    orphaned: int
    no_actions: int
    silent_topics: int
    muted: int
    unalarmed_resources: int = 0


@dataclass
class TeamCoverage:
    slug: str
    name: str
    alarms: int
    owned: int
    with_purpose: int
    suggested: int
    services: int
    services_covered: int

    @property
    def owned_pct(self) -> float:
        return _pct(self.owned, self.alarms)

    @property
    def purpose_pct(self) -> float:
        return _pct(self.with_purpose, self.alarms)

    @property
    def covered_pct(self) -> float:
        return _pct(self.services_covered, self.services)


@dataclass
class EstateCoverage:
    alarms: int
    owned: int
    with_purpose: int
    services: int
    services_covered: int
    # Without a purpose, but with one suggested from the metric: accepting it is one click away.
    suggested: int
    orphaned: int
    no_actions: int
    silent_topics: int
    muted: int
    unalarmed_resources: int
    services_detail: list[ServiceCoverage] = field(default_factory=list)
    teams: list[TeamCoverage] = field(default_factory=list)

    @property
    def owned_pct(self) -> float:
        return _pct(self.owned, self.alarms)

    @property
    def purpose_pct(self) -> float:
        return _pct(self.with_purpose, self.alarms)

    @property
    def covered_pct(self) -> float:
        return _pct(self.services_covered, self.services)

    @property
    def uncovered_services(self) -> list[ServiceCoverage]:
        return [s for s in self.services_detail if not s.covered]


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def silent_topic_arns() -> set[str]:
    """SNS topics that exist but have no subscription: notifications sent there reach nobody."""
    return {
        arn
        for arn, attributes in Resource.objects.filter(LIVE, kind=ResourceKind.SNS_TOPIC).values_list(
            "arn", "attributes"
        )
        if not (attributes or {}).get("subscriptions") and not (attributes or {}).get("pending_subscriptions")
    }


def coverage_estate() -> EstateCoverage:
    """Every coverage figure of the estate, per service and per team, from two passes over plain rows."""
    silent = silent_topic_arns()
    rows = (
        Alarm.objects.filter(LIVE)
        .annotate(
            purposeful=ExpressionWrapper(HAS_PURPOSE, BooleanField()),
            pending=ExpressionWrapper(SUGGESTION_PENDING, BooleanField()),
        )
        .values_list(
            "service_id",
            "owner_team_id",
            "alarm_actions",
            "actions_enabled",
            "orphaned",
            "signal_kind",
            "tier",
            "purposeful",
            "pending",
        )
    )
    by_service: dict[int | None, Counter] = defaultdict(Counter)
    by_team: dict[int | None, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    service_team = dict(Service.objects.values_list("id", "team_id"))
    for service_id, team_id, actions, enabled, orphaned, signal, tier, purposeful, pending in rows:
        figures = Counter(
            alarms=1,
            owned=team_id is not None,
            with_purpose=bool(purposeful),
            suggested=bool(pending),
            orphaned=orphaned,
            no_actions=not actions,
            silent_topics=bool(actions) and all(a in silent for a in actions),
            muted=not enabled,
            symptom_page=signal == SignalKind.SYMPTOM and tier == Tier.PAGE,
        )
        by_service[service_id] += figures
        by_team[team_id if team_id is not None else service_team.get(service_id)] += figures
        totals += figures
    unalarmed = dict(
        Resource.objects.filter(LIVE)
        .exclude(
            Exists(Alarm.resources.through.objects.filter(resource=OuterRef("pk"), alarm__deleted_at__isnull=True))
        )
        .values_list("service_id")
        .annotate(n=Count("id"))
    )
    services = []
    for service in Service.objects.select_related("team").order_by("name"):
        figures = by_service.get(service.pk, Counter())
        services.append(
            ServiceCoverage(
                slug=service.slug,
                name=service.name,
                team=service.team.name if service.team else "",
                team_slug=service.team.slug if service.team else "",
                alarms=figures["alarms"],
                covered=figures["symptom_page"] > 0,
                orphaned=figures["orphaned"],
                no_actions=figures["no_actions"],
                silent_topics=figures["silent_topics"],
                muted=figures["muted"],
                unalarmed_resources=unalarmed.get(service.pk, 0),
            )
        )
    teams = []
    for team in Team.objects.order_by("name"):
        figures = by_team.get(team.pk, Counter())
        team_services = [s for s in services if s.team_slug == team.slug]
        teams.append(
            TeamCoverage(
                slug=team.slug,
                name=team.name,
                alarms=figures["alarms"],
                owned=figures["owned"],
                with_purpose=figures["with_purpose"],
                suggested=figures["suggested"],
                services=len(team_services),
                services_covered=sum(s.covered for s in team_services),
            )
        )
    return EstateCoverage(
        alarms=totals["alarms"],
        owned=totals["owned"],
        with_purpose=totals["with_purpose"],
        services=len(services),
        services_covered=sum(s.covered for s in services),
        suggested=totals["suggested"],
        orphaned=totals["orphaned"],
        no_actions=totals["no_actions"],
        silent_topics=totals["silent_topics"],
        muted=totals["muted"],
        unalarmed_resources=sum(unalarmed.values()),
        services_detail=services,
        teams=teams,
    )
