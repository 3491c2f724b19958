"""The noise report assembled: notifications per week by team and service (page tier apart), the outcome rates,
the median time to first response, time in ALARM per alarm and team, the most-firing alarms, each team's weekly
page budget with its over-budget weeks traced to their alarms, and the change since each team's first review.

Every figure comes from ``incidents.report_selectors`` (aggregates in the database); this module only adds up
their group rows, reads the reviews, and lays everything out as named tables of flat rows that the page, the
CSV files and the API all show. A constant number of queries whatever the history: see ``REPORT_QUERIES``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from django import forms
from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from alarms.models import Service, Team
from alarms.review.models import Review
from incidents import report_selectors as figures
from incidents.report_selectors import ReportScope, week_start, week_starts

DEFAULT_WEEKS = 12
MAX_WEEKS = 53
# The weeks compared on each side of a team's first review.
CHANGE_WEEKS = 4
TOP_ALARMS = 10
# The page lists this many alarms by time in ALARM (the CSV and the API hold every one) and names this many
# alarms per over-budget week.
ALARM_TIME_ROWS = 20
TRACE_ALARMS = 5
NO_TEAM, NO_SERVICE = "No owner team", "No service"

# Columns of each table, as the CSV heads them and the API names them; the page shows the same rows.
TABLES: dict[str, tuple[str, list[str]]] = {
    "weeks": ("Notifications per week", ["week", "week_start", "notifications", "page", "other"]),
    "weekly": (
        "Notifications per week, team and service",
        ["week", "week_start", "team", "team_name", "service", "service_name", "notifications", "page", "other"],
    ),
    "teams": (
        "Teams",
        ["team", "team_name", "notifications", "page", "other", "labelled", "actioned", "customer_impact",
         "transient", "actionable_rate", "customer_impact_rate", "transient_rate", "median_first_response_seconds",
         "alarm_seconds", "weekly_page_budget", "over_budget_weeks"],
    ),
    "services": (
        "Services",
        ["service", "service_name", "team", "notifications", "page", "other", "labelled", "actioned",
         "customer_impact", "transient", "actionable_rate", "customer_impact_rate", "transient_rate",
         "median_first_response_seconds"],
    ),
    "top-alarms": (
        "The ten most-firing alarms",
        ["rank", "alarm_name", "alarm_arn", "team", "service", "tier", "notifications", "page", "share",
         "actionable_rate", "transient_rate"],
    ),
    "alarm-time": (
        "Time in ALARM per alarm",
        ["alarm_name", "alarm_arn", "team", "service", "tier", "alerts", "alarm_seconds"],
    ),
    "budget": (
        "Weekly page budget",
        ["team", "team_name", "week", "week_start", "page", "budget", "over_budget", "alarms"],
    ),
    "since-first-review": (
        "Change since each team's first review",
        ["team", "team_name", "first_review_week", "before_weeks", "before_per_week", "before_page_per_week",
         "recent_weeks", "recent_per_week", "recent_page_per_week", "change", "page_change"],
    ),
}  # fmt: skip

# Queries of one report: teams, services, weekly counts, the figures by alarm, three medians, the over-budget
# trace, the first reviews and the counts around them.
REPORT_QUERIES = 10


class ReportFilterForm(forms.Form):
    """The report's filters; the team and service choices come from lists the report reads anyway."""

    team = forms.ChoiceField(required=False, label="Team")
    service = forms.ChoiceField(required=False, label="Service")
    weeks = forms.IntegerField(required=False, min_value=1, max_value=MAX_WEEKS, label="Weeks")

    def __init__(self, data=None, *, teams: list[Team], services: list[Service]):
        super().__init__(data)
        self.fields["team"].choices = [("", "All teams"), *((t.slug, t.name) for t in teams)]
        self.fields["service"].choices = [("", "All services"), *((s.slug, s.name) for s in services)]
        self.fields["weeks"].widget.attrs["placeholder"] = str(DEFAULT_WEEKS)


@dataclass
class Report:
    since: datetime
    until: datetime
    time_zone: str
    weeks: list[datetime]
    team: Team | None
    service: Service | None
    summary: dict
    weekly_totals: list[dict]  # per week, over the whole scope: the chart
    budget_total: int | None  # the page budget of the teams in scope together (the chart's line)
    tables: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.summary["notifications"] and not self.tables["alarm-time"]

    def as_json(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "time_zone": self.time_zone,
            "team": self.team.slug if self.team else None,
            "service": self.service.slug if self.service else None,
            "weeks": [_week_label(week) for week in self.weeks],
            "summary": self.summary,
            "tables": self.tables,
        }


def report_choices() -> tuple[list[Team], list[Service]]:
    """Every team (with its alert policy, for its budget) and every service, by name: two queries."""
    teams = list(Team.objects.select_related("alert_policy").order_by("name", "pk"))
    services = list(Service.objects.only("pk", "slug", "name", "team_id").order_by("name", "pk"))
    return teams, services


def report_build(
    *,
    teams: list[Team],
    services: list[Service],
    team: Team | None = None,
    service: Service | None = None,
    weeks: int = DEFAULT_WEEKS,
    now: datetime,
    tz: tzinfo,
) -> Report:
    """The report of the last ``weeks`` weeks (the current one included, up to ``now``) in ``tz``."""
    since = week_start(now, tz) - timedelta(weeks=weeks - 1)
    since = week_starts(since, now, tz)[0]  # a wall-clock Monday whatever the DST shifts in between
    scope = ReportScope(
        since=since, until=now, tz=tz, team_id=team.pk if team else None, service_id=service.pk if service else None
    )
    team_names = {t.pk: t for t in teams}
    service_names = {s.pk: s for s in services}
    in_scope = [team] if team else teams
    budgets = {t.pk: _budget(t) for t in in_scope}
    week_list = week_starts(since, now, tz)

    weekly = figures.weekly_counts(scope)
    by_team, by_service, by_week, page_weeks = {}, {}, {}, {}
    for row in weekly:
        _add(by_team.setdefault(row["team_id"], {}), row)
        _add(by_service.setdefault(row["service_id"], {}), row)
        _add(by_week.setdefault(row["week"], {}), row)
        key = (row["team_id"], row["week"])
        page_weeks[key] = page_weeks.get(key, 0) + row["page"]
    total: dict = {}
    for counts in by_week.values():
        _add(total, counts)

    # Every alarm's time in ALARM (the CSV and the API list them all); a team's is the sum of its alarms'.
    alarm_time = figures.alarm_figures(scope)
    team_seconds: dict[int | None, float] = {}
    for row in alarm_time:
        team_seconds[row["team_id"]] = team_seconds.get(row["team_id"], 0.0) + (row["seconds"] or 0.0)
    medians = {
        "all": figures.median_first_response(scope),
        "team": figures.median_first_response(scope, by="team"),
        "service": figures.median_first_response(scope, by="service"),
    }
    top = figures.most_firing(alarm_time, limit=TOP_ALARMS)

    over = sorted(
        (team_id, week)
        for (team_id, week), page in page_weeks.items()
        if team_id in budgets and page > budgets[team_id]
    )
    traced = figures.over_budget_alarms(scope, default_budget=settings.OKAMI_PAGE_BUDGET)
    changes = _changes(scope, in_scope, now, tz)

    def team_slug(team_id):
        return team_names[team_id].slug if team_id in team_names else ""

    def team_name(team_id):
        return team_names[team_id].name if team_id in team_names else NO_TEAM

    def service_slug(service_id):
        return service_names[service_id].slug if service_id in service_names else ""

    def service_name(service_id):
        return service_names[service_id].name if service_id in service_names else NO_SERVICE

    over_count: dict[int, int] = {}
    for team_id, _ in over:
        over_count[team_id] = over_count.get(team_id, 0) + 1

    tables: dict[str, list[dict]] = {}
    tables["weekly"] = [
        {
            "week": _week_label(row["week"]),
            "week_start": row["week"].date().isoformat(),
            "team": team_slug(row["team_id"]),
            "team_name": team_name(row["team_id"]),
            "service": service_slug(row["service_id"]),
            "service_name": service_name(row["service_id"]),
            "notifications": row["alerts"],
            "page": row["page"],
            "other": row["alerts"] - row["page"],
        }
        for row in weekly
    ]
    team_ids = [t.pk for t in in_scope] + [k for k in (set(by_team) | set(team_seconds)) if k not in team_names]
    tables["teams"] = [
        {
            "team": team_slug(team_id),
            "team_name": team_name(team_id),
            **_counts_and_rates(by_team.get(team_id, {})),
            "median_first_response_seconds": _round(medians["team"].get(team_id)),
            "alarm_seconds": _round(team_seconds.get(team_id, 0.0)),
            "weekly_page_budget": budgets.get(team_id),
            "over_budget_weeks": over_count.get(team_id, 0) if team_id in budgets else None,
        }
        for team_id in team_ids
        if team_id in team_names or by_team.get(team_id) or team_seconds.get(team_id)
    ]
    tables["services"] = sorted(
        (
            {
                "service": service_slug(service_id),
                "service_name": service_name(service_id),
                "team": team_slug(service_names[service_id].team_id) if service_id in service_names else "",
                **_counts_and_rates(counts),
                "median_first_response_seconds": _round(medians["service"].get(service_id)),
            }
            for service_id, counts in by_service.items()
        ),
        key=lambda row: (-row["notifications"], row["service_name"]),
    )
    notifications = total.get("alerts", 0)
    tables["top-alarms"] = [
        {
            "rank": rank,
            "alarm_name": row["alarm_name"],
            "alarm_arn": row["alarm_arn"],
            "team": team_slug(row["team_id"]),
            "service": service_slug(row["service_id"]),
            "tier": row["tier"],
            "notifications": row["alerts"],
            "page": row["page"],
            "share": _rate(row["alerts"], notifications),
            "actionable_rate": _rate(row["actioned"] + row["customer_impact"], row["labelled"]),
            "transient_rate": _rate(row["transient"], row["labelled"]),
        }
        for rank, row in enumerate(top, start=1)
    ]
    tables["alarm-time"] = [
        {
            "alarm_name": row["alarm_name"],
            "alarm_arn": row["alarm_arn"],
            "team": team_slug(row["team_id"]),
            "service": service_slug(row["service_id"]),
            "tier": row["tier"],
            "alerts": row["episodes"],
            "alarm_seconds": _round(row["seconds"]),
        }
        for row in alarm_time
    ]
    tables["budget"] = [
        {
            "team": t.slug,
            "team_name": t.name,
            "week": _week_label(week),
            "week_start": week.date().isoformat(),
            "page": page_weeks.get((t.pk, week), 0),
            "budget": budgets[t.pk],
            "over_budget": page_weeks.get((t.pk, week), 0) > budgets[t.pk],
            "alarms": [
                {"alarm_name": row["alarm_name"], "alarm_arn": row["alarm_arn"], "page": row["page"]}
                for row in traced.get((t.pk, week), [])
            ],
        }
        for t in in_scope
        for week in week_list
    ]
    tables["since-first-review"] = changes

    summary = {
        **_counts_and_rates(total),
        "median_first_response_seconds": _round(medians["all"].get(None)),
        "alarm_seconds": _round(sum(team_seconds.values())),
        "over_budget_weeks": len(over),
        "teams_over_budget": len({team_id for team_id, _ in over}),
    }
    weekly_totals = [
        {
            "week": _week_label(week),
            "week_start": week.date().isoformat(),
            "notifications": by_week.get(week, {}).get("alerts", 0),
            "page": by_week.get(week, {}).get("page", 0),
            "other": by_week.get(week, {}).get("alerts", 0) - by_week.get(week, {}).get("page", 0),
        }
        for week in week_list
    ]
    tables["weeks"] = weekly_totals
    return Report(
        since=since,
        until=now,
        time_zone=str(tz),
        weeks=week_list,
        team=team,
        service=service,
        summary=summary,
        weekly_totals=weekly_totals,
        budget_total=sum(budgets.values()) if budgets and service is None else None,
        tables=tables,
    )


def _budget(team: Team) -> int:
    policy = getattr(team, "alert_policy", None)  # select_related: None without a row
    limit = policy.weekly_page_budget if policy is not None else None
    return limit or settings.OKAMI_PAGE_BUDGET


COUNTED = ("alerts", "page", "labelled", "actioned", "customer_impact", "transient", "responded")


def _add(into: dict, row: dict) -> None:
    for key in COUNTED:
        into[key] = into.get(key, 0) + row.get(key, 0)


def _counts_and_rates(counts: dict) -> dict:
    """Counts, and the rates over the alerts that carry an outcome (None when none does)."""
    labelled = counts.get("labelled", 0)
    alerts, page = counts.get("alerts", 0), counts.get("page", 0)
    actioned, impact = counts.get("actioned", 0), counts.get("customer_impact", 0)
    return {
        "notifications": alerts,
        "page": page,
        "other": alerts - page,
        "labelled": labelled,
        "actioned": actioned,
        "customer_impact": impact,
        "transient": counts.get("transient", 0),
        "actionable_rate": _rate(actioned + impact, labelled),
        "customer_impact_rate": _rate(impact, labelled),
        "transient_rate": _rate(counts.get("transient", 0), labelled),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _round(seconds: float | None) -> float | None:
    return round(seconds, 1) if seconds is not None else None


def _week_label(week: datetime) -> str:
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


def _monday(day: date, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _changes(scope: ReportScope, teams: list[Team], now: datetime, tz: tzinfo) -> list[dict]:
    """Per team with a review: notifications a week in the (up to) four weeks before the week of its first
    review, against the last (up to) four whole weeks after that week. Two queries (one without reviews)."""
    reviews = Review.objects.filter(team__in=[t.pk for t in teams]).values("team_id").annotate(first=Min("week"))
    first = {row["team_id"]: row["first"] for row in reviews.order_by()}
    current = week_start(now, tz)
    windows = {}
    for team_id, week in first.items():
        try:
            reviewed = _monday(date.fromisocalendar(int(week[:4]), int(week[6:]), 1), tz)
        except ValueError:
            continue
        before = (_monday(reviewed.date() - timedelta(weeks=CHANGE_WEEKS), tz), reviewed)
        recent = (
            max(
                _monday(reviewed.date() + timedelta(weeks=1), tz),
                _monday(current.date() - timedelta(weeks=CHANGE_WEEKS), tz),
            ),
            current,
        )
        windows[team_id] = (week, before, recent)
    if not windows:
        return []
    earliest = min(before[0] for _, before, _ in windows.values())
    weekly = figures.team_weekly_counts(scope, since=earliest, team_ids=windows)

    def total(team_id, span):
        counts = [n for (t, w), n in weekly.items() if t == team_id and span[0] <= w < span[1]]
        return sum(n["alerts"] for n in counts), sum(n["page"] for n in counts)

    rows = []
    for t in teams:
        if t.pk not in windows:
            continue
        week, before, recent = windows[t.pk]
        before_weeks, recent_weeks = _weeks_between(*before), _weeks_between(*recent)
        (before_n, before_page), (recent_n, recent_page) = total(t.pk, before), total(t.pk, recent)

        def per_week(n, weeks):
            return round(n / weeks, 2) if weeks else None

        rows.append(
            {
                "team": t.slug,
                "team_name": t.name,
                "first_review_week": week,
                "before_weeks": before_weeks,
                "before_per_week": per_week(before_n, before_weeks),
                "before_page_per_week": per_week(before_page, before_weeks),
                "recent_weeks": recent_weeks,
                "recent_per_week": per_week(recent_n, recent_weeks),
                "recent_page_per_week": per_week(recent_page, recent_weeks),
                "change": _change(before_n, before_weeks, recent_n, recent_weeks),
                "page_change": _change(before_page, before_weeks, recent_page, recent_weeks),
            }
        )
    return rows


def _weeks_between(since: datetime, until: datetime) -> int:
    return max(round((until - since).days / 7), 0)


def _change(before: int, before_weeks: int, recent: int, recent_weeks: int) -> float | None:
    """The relative change of notifications a week (-0.64 for 64% fewer); None without a baseline or without
    recent weeks."""
    if not before or not before_weeks or not recent_weeks:
        return None
    baseline = before / before_weeks
    return round((recent / recent_weeks - baseline) / baseline, 4)


def report_from_params(params, *, now: datetime | None = None) -> tuple[ReportFilterForm, Report | None]:
    """The report the query parameters ask for (``team``, ``service`` slugs; ``weeks``), in the portal's time
    zone; None, with the form's errors, when a parameter is not valid."""
    teams, services = report_choices()
    form = ReportFilterForm(params, teams=teams, services=services)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    team = next((t for t in teams if t.slug == data["team"]), None) if data["team"] else None
    service = next((s for s in services if s.slug == data["service"]), None) if data["service"] else None
    report = report_build(
        teams=teams,
        services=services,
        team=team,
        service=service,
        weeks=data["weeks"] or DEFAULT_WEEKS,
        now=now or timezone.now(),
        tz=timezone.get_current_timezone(),
    )
    return form, report


# A cell a spreadsheet would read as a formula (names come from AWS and people): shown as text instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):  # the alarms of an over-budget week
        value = "; ".join(f"{item['alarm_name']} ({item['page']})" for item in value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def report_csv(report: Report, table: str) -> str:
    """One table of the report as CSV, headed by its column names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = TABLES[table][1]
    writer.writerow(columns)
    for row in report.tables[table]:
        writer.writerow([_cell(row[column]) for column in columns])
    return out.getvalue()


def report_csv_name(report: Report, table: str) -> str:
    scope = "-".join(x.slug for x in (report.team, report.service) if x is not None)
    return f"okami-{table}{'-' + scope if scope else ''}-{report.since:%Y%m%d}-{report.until:%Y%m%d}.csv"
