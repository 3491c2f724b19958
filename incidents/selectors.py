"""Reads of alerts and state changes that span relations; they own select_related and ordering."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from alarms.models import Team
from alarms.permissions import can_edit_governance
from incidents.models import Alert, InboundMessage, Incident, StateChange


def alert_list() -> QuerySet[Alert]:
    return Alert.objects.select_related("alarm", "alarm__account", "alarm__service", "alarm__owner_team").order_by(
        "-opened_at", "-id"
    )


@dataclass(frozen=True)
class AlertSummary:
    """The alerts of a period as the dashboard shows them."""

    alerts: int
    labelled: int
    inferred: int
    open_incidents: int
    responded: int
    median_first_response: timedelta | None

    @property
    def labelled_share(self) -> float | None:
        return self.labelled / self.alerts if self.alerts else None


def alert_summary(*, since: datetime) -> AlertSummary:
    """How many alerts opened since then, how many carry an outcome (and how many of those the inference
    gave), the open incidents, and the median time to first response: four queries, all in the database."""
    alerts = Alert.objects.filter(opened_at__gte=since)
    counts = alerts.aggregate(
        alerts=Count("pk"),
        labelled=Count("pk", filter=~Q(outcome="")),
        inferred=Count("pk", filter=Q(outcome_inferred=True)),
    )
    response = ExpressionWrapper(F("first_response_at") - F("opened_at"), output_field=DurationField())
    responded = alerts.filter(first_response_at__isnull=False).annotate(response=response)
    count = responded.count()
    median = responded.order_by("response").values_list("response", flat=True)[count // 2] if count else None
    return AlertSummary(
        **counts,
        open_incidents=Incident.objects.filter(closed_at__isnull=True).count(),
        responded=count,
        median_first_response=median,
    )


def inbox_alerts(*, user, all_teams: bool = False) -> QuerySet[Alert]:
    """The alerts nobody labelled yet, newest first: of the user's teams, or of every team."""
    alerts = alert_list().filter(outcome="")
    return alerts if all_teams else alerts.filter(alarm__owner_team__members=user)


def inbox_of_every_team(*, user, teams) -> bool:
    """An administrator in no team answers for every team: their inbox is everyone's. (Staff, not the editor
    permission: the navigation's count can tell it without a query.)"""
    return not teams and user.is_staff


def inbox_count(*, user) -> int:
    """How many alerts wait in the user's inbox: one COUNT over the partial index of unlabelled alerts (an
    editor's team membership is read inside it, not by a query of its own)."""
    memberships = Team.members.through.objects.filter(user_id=user.pk)
    mine = Exists(memberships.filter(team_id=OuterRef("alarm__owner_team_id")))
    if user.is_staff:
        mine |= ~Exists(memberships)
    return Alert.objects.filter(mine, outcome="").count()


def duplicate_candidates(*, alert: Alert) -> QuerySet[Alert]:
    """The alerts this one may duplicate: others of its incident that opened no later than it did."""
    if alert.incident_id is None:
        return Alert.objects.none()
    return alert_list().filter(incident_id=alert.incident_id, opened_at__lte=alert.opened_at).exclude(pk=alert.pk)


def alert_state_changes(*, alert: Alert) -> QuerySet[StateChange]:
    """The alarm's state changes from the one that opened the alert to the one that closed it."""
    changes = StateChange.objects.filter(alarm_id=alert.alarm_id, at__gte=alert.opened_at)
    if alert.closed_at is not None:
        changes = changes.filter(at__lte=alert.closed_at)
    return changes.order_by("at", "id")


def state_change_messages(changes) -> list[InboundMessage]:
    """The raw messages that reported these state changes (webhook sources only)."""
    ids = {}
    for change in changes:
        for source in change.sources:
            kind, _, message_id = source.partition(":")
            if kind in ("sns", "eventbridge"):
                ids.setdefault(kind, set()).add(message_id)
    messages = []
    for kind, message_ids in ids.items():
        messages += InboundMessage.objects.filter(source=kind, message_id__in=message_ids)
    return sorted(messages, key=lambda m: m.received_at)


def alarm_state_changes(*, alarm_id: int) -> QuerySet[StateChange]:
    return StateChange.objects.filter(alarm_id=alarm_id).order_by("-at", "-id")


# Incidents


def incident_list() -> QuerySet[Incident]:
    """Incidents newest first, each with its alert counts and first response, in one query whatever the page
    size. Time to first response is the earliest first response among its alerts minus its opening.

    Correlated subqueries rather than a join and GROUP BY: the database computes them for the rows of the
    page only, not for every incident before sorting."""
    alerts = Alert.objects.filter(incident=OuterRef("pk")).order_by().values("incident")
    return (
        Incident.objects.select_related("service", "service__team")
        .annotate(
            alert_count=_scalar(alerts.annotate(n=Count("pk")).values("n"), 0),
            open_alert_count=_scalar(alerts.filter(closed_at__isnull=True).annotate(n=Count("pk")).values("n"), 0),
            alarm_count=_scalar(alerts.annotate(n=Count("alarm", distinct=True)).values("n"), 0),
            first_response_at=Subquery(alerts.annotate(first=Min("first_response_at")).values("first")),
        )
        .annotate(
            time_to_first_response=ExpressionWrapper(
                F("first_response_at") - F("opened_at"), output_field=DurationField()
            )
        )
        .order_by("-opened_at", "-id")
    )


def _scalar(subquery: QuerySet, default) -> Coalesce:
    return Coalesce(Subquery(subquery, output_field=IntegerField()), default)


def incident_details() -> QuerySet[Incident]:
    """``incident_list`` with each incident's alerts (oldest first) and notes, two queries more in all."""
    return incident_list().prefetch_related(
        Prefetch("alerts", queryset=alert_list().order_by("opened_at", "id")), "notes"
    )


def incident_alerts(*, incident: Incident) -> QuerySet[Alert]:
    """The incident's alerts, oldest first, with who answered them."""
    return (
        alert_list()
        .filter(incident=incident)
        .select_related("outcome_by", "acknowledged_by")
        .order_by("opened_at", "id")
    )


def incident_merge_candidates(*, incident: Incident, limit: int = 20) -> QuerySet[Incident]:
    """The service's other recent incidents: the likely targets of a merge."""
    if incident.service_id is None:
        return Incident.objects.none()
    return (
        Incident.objects.filter(service_id=incident.service_id)
        .exclude(pk=incident.pk)
        .order_by("-opened_at", "-id")[:limit]
    )


def incident_editable_by(*, incident: Incident, user) -> bool:
    """Editors, and the members of the team of the incident's service, change it."""
    if can_edit_governance(user):
        return True
    team_id = incident.service.team_id if incident.service_id else None
    return bool(team_id and user.is_authenticated and user.teams.filter(pk=team_id).exists())


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # opened, acknowledged, outcome, note, closed
    text: str
    who: str = ""
    alert_id: int | None = None
    inferred: bool = False


# At the same instant an alert opens before anyone answers it, and closes after.
_TIMELINE_ORDER = {"opened": 0, "acknowledged": 1, "outcome": 2, "note": 3, "closed": 4}


def incident_timeline(incident: Incident, *, alerts=None, notes=None) -> list[TimelineEntry]:
    """What happened, in time order: its alerts opening and closing, acknowledgements, outcomes (a person's
    or inferred) and notes. Pass ``alerts`` (from ``incident_alerts``) or ``notes`` already read to spare
    their query."""
    if alerts is None:
        alerts = incident_alerts(incident=incident)
    if notes is None:
        notes = incident.notes.all()
    entries = []
    for alert in alerts:
        name = alert.alarm.name
        entries.append(TimelineEntry(alert.opened_at, "opened", f"{name} opened", alert_id=alert.pk))
        if alert.acknowledged_at:
            who = alert.acknowledged_by_name or (alert.acknowledged_by.get_username() if alert.acknowledged_by else "")
            entries.append(TimelineEntry(alert.acknowledged_at, "acknowledged", name, who, alert.pk))
        if alert.outcome:
            at = alert.outcome_at or alert.closed_at or alert.opened_at
            who = alert.outcome_by_name or (alert.outcome_by.get_username() if alert.outcome_by else "")
            text = f"{name}: {alert.get_outcome_display()}" + (f" ({alert.outcome_note})" if alert.outcome_note else "")
            entries.append(TimelineEntry(at, "outcome", text, who, alert.pk, alert.outcome_inferred))
        if alert.closed_at:
            entries.append(TimelineEntry(alert.closed_at, "closed", f"{name} closed", alert_id=alert.pk))
    entries += [TimelineEntry(note.at, "note", note.text, note.author_name) for note in notes]
    return sorted(entries, key=lambda e: (e.at, _TIMELINE_ORDER[e.kind]))
