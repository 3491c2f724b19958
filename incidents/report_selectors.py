"""The noise report's figures, each one aggregate query over the alerts of a scope (a window, optionally one team
or one service, weeks in a time zone). Nothing here reads alerts row by row: rows that come back are groups.

Definitions the report, its CSV and its API share:
- a *notification* is an alert (one ALARM episode); a *page* notification is an alert of a page-tier alarm with
  its actions enabled, as the chat's weekly budget counts them (incidents.services.chat.team_budget). The tier
  and the owner are the alarm's current ones.
- an alert belongs to the week (Monday 00:00 in the report's time zone) and the scope it opened in;
- time to first response runs from an alert's opening to its first acknowledgement or human outcome
  (``Alert.first_response_at``), as on the dashboard; its median is a true median (the mean of the two middle
  values for an even count);
- time in ALARM is the part of each alert inside the window, an alert still open counting until the window's
  end (clipped to now), an alert opened before the window counting from its start.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from django.db import connection
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, Least, RowNumber, TruncWeek
from django.utils import timezone

from alarms.choices import Tier
from incidents.choices import Outcome
from incidents.models import Alert
from incidents.selectors import Seconds

PAGE = Q(alarm__tier=Tier.PAGE, alarm__actions_enabled=True)
LABELLED = ~Q(outcome="")
# The groups a row of the report can be keyed by.
GROUPS = {"team": "alarm__owner_team_id", "service": "alarm__service_id", "alarm": "alarm_id"}


@dataclass(frozen=True)
class ReportScope:
    """Alerts opened in [since, until), of one team and/or one service when given; weeks start on Monday in
    ``tz``."""

    since: datetime
    until: datetime
    tz: tzinfo
    team_id: int | None = None
    service_id: int | None = None

    def restrict(self, alerts: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.team_id is not None:
            alerts = alerts.filter(alarm__owner_team_id=self.team_id)
        if self.service_id is not None:
            alerts = alerts.filter(alarm__service_id=self.service_id)
        return alerts

    def opened(self) -> QuerySet[Alert]:
        return self.restrict(Alert.objects.filter(opened_at__gte=self.since, opened_at__lt=self.until).order_by())


def week_start(moment: datetime, tz: tzinfo) -> datetime:
    """Monday 00:00 of ``moment``'s week in ``tz``."""
    local = moment.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=tz)


def week_starts(since: datetime, until: datetime, tz: tzinfo) -> list[datetime]:
    """The weeks [since, until) touches, oldest first."""
    weeks, week = [], week_start(since, tz)
    while week < until:
        weeks.append(week)
        monday = week.date() + timedelta(days=7)
        week = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    return weeks


OUTCOME_COUNTS = {
    "labelled": LABELLED,
    "actioned": Q(outcome=Outcome.ACTIONED),
    "customer_impact": Q(outcome=Outcome.CUSTOMER_IMPACT),
    "transient": Q(outcome=Outcome.TRANSIENT),
    "responded": Q(first_response_at__isnull=False),
}


def _outcome_counts(within: Q | None = None) -> dict:
    return {name: Count("pk", filter=(within & q) if within else q) for name, q in OUTCOME_COUNTS.items()}


def weekly_counts(scope: ReportScope) -> list[dict]:
    """One row per (week, team, service) with alerts: ``week`` (aware, Monday 00:00 in the scope's zone),
    ``team_id``, ``service_id`` (None when the alarm has none), ``alerts``, ``page`` and the outcome counts
    (``labelled``, ``actioned``, ``customer_impact``, ``transient``, ``responded``). Every per-team,
    per-service and per-week total of the report is a sum of these rows. One query."""
    rows = (
        scope.opened()
        .annotate(week=TruncWeek("opened_at", tzinfo=scope.tz))
        .values("week", team_id=F("alarm__owner_team_id"), service_id=F("alarm__service_id"))
        .annotate(alerts=Count("pk"), page=Count("pk", filter=PAGE), **_outcome_counts())
        .order_by("week", "team_id", "service_id")
    )
    result = []
    for row in rows:
        row["week"] = _local_week(row["week"], scope.tz)
        result.append(row)
    return result


def _time_in_alarm(scope: ReportScope) -> tuple[QuerySet[Alert], Seconds]:
    """The alerts in ALARM at some moment of the window, and each one's seconds inside it."""
    until = min(scope.until, timezone.now())
    start, end = Value(scope.since, DateTimeField()), Value(until, DateTimeField())
    alerts = scope.restrict(
        Alert.objects.filter(opened_at__lt=until).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=scope.since))
    ).order_by()
    inside = Seconds(Least(Coalesce("closed_at", end), end), Greatest(F("opened_at"), start))
    return alerts, inside


ALARM_COLUMNS = {
    "alarm_name": F("alarm__name"),
    "alarm_arn": F("alarm__arn"),
    "tier": F("alarm__tier"),
    "team_id": F("alarm__owner_team_id"),
    "service_id": F("alarm__service_id"),
}


def alarm_figures(scope: ReportScope) -> list[dict]:
    """Every alarm in ALARM at some moment of the window, the longest first (then by name): ``alarm_id``, the
    alarm's name, ARN, tier, team and service ids, ``seconds`` in ALARM inside the window and ``episodes`` (its
    alerts in ALARM inside it), and of its alerts opened in the window: ``alerts``, ``page`` and the outcome
    counts (an alert opened in the window is in ALARM inside it, so one scan serves both). One query."""
    alerts, inside = _time_in_alarm(scope)
    opened = Q(opened_at__gte=scope.since)
    rows = (
        alerts.values("alarm_id", **ALARM_COLUMNS)
        .annotate(
            seconds=Sum(inside),
            episodes=Count("pk"),
            alerts=Count("pk", filter=opened),
            page=Count("pk", filter=opened & PAGE),
            **_outcome_counts(opened),
        )
        .order_by("-seconds", "alarm_name", "alarm_id")
    )
    return list(rows)


def most_firing(rows: list[dict], *, limit: int = 10) -> list[dict]:
    """The ``alarm_figures`` rows of the alarms with the most alerts opened in the window, most first (then by
    name)."""
    return sorted(
        (row for row in rows if row["alerts"]), key=lambda row: (-row["alerts"], row["alarm_name"], row["alarm_id"])
    )[:limit]


class Median(Aggregate):
    """PostgreSQL's true median of a numeric expression."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def median_first_response(scope: ReportScope, *, by: str | None = None) -> dict:
    """The median seconds from opening to first response of the scope's alerts that had one: {None: median}
    overall, or {team id | service id → median} with ``by`` "team" or "service". One query: PostgreSQL's
    ``percentile_cont``; elsewhere the middle one or two values of each group, ranked by a window function."""
    key = GROUPS[by] if by else None
    response = Seconds(F("first_response_at"), F("opened_at"))
    alerts = scope.opened().filter(first_response_at__isnull=False)
    if connection.vendor == "postgresql":
        if key is None:
            return {None: alerts.aggregate(median=Median(response))["median"]}
        return dict(alerts.values(key).annotate(median=Median(response)).values_list(key, "median"))
    partition = [F(key)] if key else []
    ranked = alerts.annotate(
        response=response,
        rank=Window(RowNumber(), partition_by=partition or None, order_by=[response.asc(), F("pk").asc()]),
        n=Window(Count("pk"), partition_by=partition or None),
    )
    # The middle rank for an odd count, the two middle ones for an even count (integer division).
    middle = ranked.filter(rank__gte=(F("n") + 1) / 2, rank__lte=(F("n") + 2) / 2)
    values = defaultdict(list)
    for group, seconds in middle.values_list(key or Value(None, output_field=CharField()), "response"):
        values[group].append(seconds)
    if key is None:
        return {None: _mean(values.get(None, []))}
    return {group: _mean(middle_values) for group, middle_values in values.items()}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


class WeekTotal(Func):
    """``SUM(<aggregate>)`` as a window function: the total of a group's aggregate over its partition."""

    function = "SUM"
    window_compatible = True


def over_budget_alarms(scope: ReportScope, *, default_budget: int) -> dict[tuple[int, datetime], list[dict]]:
    """(team id, week) → the alarms whose page notifications made that team's week go over its weekly budget
    (its alert policy's, else ``default_budget``), most first (then by name): ``alarm_id``, name, ARN, tier,
    team and service ids, ``page``. Weeks within budget are absent. One query: the page alerts grouped by
    team, week and alarm, each group's week total a window sum over its team and week, compared in the
    database with the team's budget."""
    budget = Coalesce(F("alarm__owner_team__alert_policy__weekly_page_budget"), Value(default_budget))
    rows = (
        scope.opened()
        .filter(PAGE, alarm__owner_team__isnull=False)
        .annotate(week=TruncWeek("opened_at", tzinfo=scope.tz))
        .values("week", "alarm_id", **ALARM_COLUMNS, budget=budget)
        .annotate(page=Count("pk"))
        .annotate(week_page=Window(WeekTotal(Count("pk")), partition_by=[F("alarm__owner_team_id"), F("week")]))
        .filter(week_page__gt=F("budget"))
        .order_by("team_id", "week", "-page", "alarm_name", "alarm_id")
    )
    traced: dict[tuple[int, datetime], list[dict]] = defaultdict(list)
    for row in rows:
        week = _local_week(row.pop("week"), scope.tz)
        row.pop("budget"), row.pop("week_page")
        traced[(row["team_id"], week)].append(row)
    return dict(traced)


def team_weekly_counts(scope: ReportScope, *, since: datetime, team_ids) -> dict[tuple[int, datetime], dict]:
    """(team id, week) → {"alerts", "page"}: these teams' notifications per week from ``since`` (a Monday) to
    the scope's end, whatever the scope's own start (the weeks around a team's first review may lie before
    it); the scope's team and service filters apply. Weeks without alerts are absent. One query."""
    rows = (
        scope.restrict(Alert.objects.filter(opened_at__gte=since, opened_at__lt=scope.until))
        .filter(alarm__owner_team_id__in=list(team_ids))
        .order_by()
        .annotate(week=TruncWeek("opened_at", tzinfo=scope.tz))
        .values("week", team_id=F("alarm__owner_team_id"))
        .annotate(alerts=Count("pk"), page=Count("pk", filter=PAGE))
    )
    return {
        (row["team_id"], _local_week(row["week"], scope.tz)): {"alerts": row["alerts"], "page": row["page"]}
        for row in rows
    }


@lru_cache(maxsize=1024)
def _local_week(week: datetime, tz: tzinfo) -> datetime:
    """A truncated week as Monday 00:00 in ``tz`` (SQLite gives it naive, PostgreSQL aware)."""
    return week_start(timezone.make_aware(week, tz) if timezone.is_naive(week) else week, tz)
