"""Reads of alerts and state changes that span relations; they own select_related and ordering."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Floor, Least, TruncWeek

from alarms.models import Alarm, Team
from alarms.permissions import can_edit_governance
from incidents.choices import Outcome
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


# Alert statistics of the weekly review (alarms.review reads alerts only through these). Each is one query,
# aggregated in the database over a set of alarms and a window; PostgreSQL and SQLite alike.

REAL_OUTCOMES = (Outcome.ACTIONED, Outcome.CUSTOMER_IMPACT)


class Seconds(Func):
    """Seconds from ``start`` to ``end`` (two datetime expressions), as a float: the one duration arithmetic
    both databases do the same way (PostgreSQL's epoch of an interval, SQLite's Julian days)."""

    output_field = FloatField()

    def __init__(self, end, start):
        super().__init__(end, start)

    def as_postgresql(self, compiler, connection, **extra):
        template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
        return self.as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "((julianday(%(expressions)s)) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, arg_joiner=") - julianday(", **extra)


@dataclass(frozen=True)
class AlarmAlertStats:
    """One alarm's alerts opened in a window. Durations run to the window's end for alerts still open."""

    alerts: int = 0
    actioned: int = 0
    customer_impact: int = 0
    no_action: int = 0
    transient: int = 0
    duplicate: int = 0
    false_positive: int = 0
    unlabelled: int = 0
    open: int = 0
    self_resolved: int = 0
    responded: int = 0
    mean_duration_seconds: float | None = None
    mean_first_response_seconds: float | None = None
    alarm_seconds: float = 0.0
    first_alert_at: datetime | None = None
    last_alert_at: datetime | None = None
    last_unactioned_alert_at: datetime | None = None

    @property
    def real(self) -> int:
        """Alerts someone acted on or that hurt customers."""
        return self.actioned + self.customer_impact

    @property
    def self_resolved_share(self) -> float | None:
        return self.self_resolved / self.alerts if self.alerts else None


def _window(alarm_ids, since: datetime, until: datetime) -> QuerySet[Alert]:
    return Alert.objects.filter(alarm_id__in=list(alarm_ids), opened_at__gte=since, opened_at__lt=until).order_by()


def alarm_alert_stats(*, alarm_ids, since: datetime, until: datetime, resolve_within: timedelta) -> dict:
    """alarm id → ``AlarmAlertStats`` of its alerts opened in [since, until): outcome counts, how many closed
    within ``resolve_within`` with nobody touching them, mean duration and time to first response, the time
    spent in ALARM inside the window, first and last alert, and the last alert nobody acted on. One query;
    alarms without alerts are absent."""
    end = Coalesce("closed_at", Value(until, output_field=DateTimeField()))
    duration = Seconds(end, F("opened_at"))
    in_window = Seconds(Least(end, Value(until, output_field=DateTimeField())), F("opened_at"))
    outcome_counts = {
        name: Count("pk", filter=Q(outcome=value))
        for name, value in (
            ("actioned", Outcome.ACTIONED),
            ("customer_impact", Outcome.CUSTOMER_IMPACT),
            ("no_action", Outcome.NO_ACTION),
            ("transient", Outcome.TRANSIENT),
            ("duplicate", Outcome.DUPLICATE),
            ("false_positive", Outcome.FALSE_POSITIVE),
            ("unlabelled", ""),
        )
    }
    rows = (
        _window(alarm_ids, since, until)
        .values("alarm_id")
        .annotate(
            alerts=Count("pk"),
            **outcome_counts,
            open=Count("pk", filter=Q(closed_at__isnull=True)),
            self_resolved=Count(
                "pk",
                filter=Q(closed_at__isnull=False, first_response_at__isnull=True)
                & Q(closed_at__lte=F("opened_at") + resolve_within),
            ),
            responded=Count("pk", filter=Q(first_response_at__isnull=False)),
            mean_duration_seconds=Avg(duration),
            mean_first_response_seconds=Avg(Seconds(F("first_response_at"), F("opened_at"))),
            alarm_seconds=Coalesce(Sum(in_window), 0.0),
            first_alert_at=Min("opened_at"),
            last_alert_at=Max("opened_at"),
            last_unactioned_alert_at=Max("opened_at", filter=~Q(outcome__in=REAL_OUTCOMES)),
        )
    )
    return {row.pop("alarm_id"): AlarmAlertStats(**row) for row in rows}


def alarm_alert_counts(*, since: datetime, until: datetime, alarm_ids=None) -> dict[int, int]:
    """alarm id → alerts opened in [since, until), of these alarms or of every live alarm. One query."""
    alerts = Alert.objects.filter(opened_at__gte=since, opened_at__lt=until).order_by()
    if alarm_ids is None:
        alerts = alerts.filter(alarm__deleted_at__isnull=True)
    else:
        alerts = alerts.filter(alarm_id__in=list(alarm_ids))
    return dict(alerts.values("alarm_id").annotate(n=Count("pk")).values_list("alarm_id", "n"))


def alert_count_top_share(*, since: datetime, until: datetime, top_share: float) -> int | None:
    """The fewest alerts (opened in [since, until)) an alarm needs to rank in the top ``top_share`` of the
    estate's live alarms by alerts; None when that share is less than one alarm. Two queries."""
    rank = int(Alarm.objects.filter(deleted_at__isnull=True).count() * top_share)
    if rank < 1:
        return None
    counts = (
        Alert.objects.filter(opened_at__gte=since, opened_at__lt=until, alarm__deleted_at__isnull=True)
        .order_by()
        .values("alarm_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("n", flat=True)
    )
    found = list(counts[rank - 1 : rank])
    return found[0] if found else 1


def alarm_weekly_alerts(*, alarm_ids, since: datetime, until: datetime) -> dict[int, dict[str, int]]:
    """alarm id → {ISO week ("2026-W07") → alerts opened that week}, weeks in the portal's time zone, oldest
    first, weeks without alerts absent. One query."""
    rows = (
        _window(alarm_ids, since, until)
        .annotate(week=TruncWeek("opened_at"))
        .values("alarm_id", "week")
        .annotate(n=Count("pk"))
        .order_by("alarm_id", "week")
    )
    weeks: dict[int, dict[str, int]] = {}
    for row in rows:
        year, week, _ = row["week"].isocalendar()
        weeks.setdefault(row["alarm_id"], {})[f"{year}-W{week:02d}"] = row["n"]
    return weeks


def alarm_alert_periods(*, alarm_ids, since: datetime, until: datetime, cap: int = 10) -> dict:
    """alarm id → {k → (alerts, real alerts)} where k is how many whole evaluation periods of its alarm an
    alert lasted (floor(duration / period), at most ``cap``; alerts still open count as ``cap``); real alerts
    are the actioned or customer-impacting ones. An alarm with datapoints-to-alarm M would not have fired for
    the alerts of k < M. Alarms without a period (composite) are absent. One query."""
    end = Coalesce("closed_at", Value(until, output_field=DateTimeField()))
    periods = Least(Floor(Seconds(end, F("opened_at")) / F("alarm__period")), Value(float(cap)))
    rows = (
        _window(alarm_ids, since, until)
        .filter(alarm__period__gt=0)
        .annotate(k=Coalesce(periods, Value(float(cap))))
        .values("alarm_id", "k")
        .annotate(n=Count("pk"), real=Count("pk", filter=Q(outcome__in=REAL_OUTCOMES)))
    )
    histogram: dict[int, dict[int, tuple[int, int]]] = {}
    for row in rows:
        k = int(row["k"]) if row["k"] is not None else cap
        histogram.setdefault(row["alarm_id"], {})[k] = (row["n"], row["real"])
    return histogram


@dataclass(frozen=True)
class Cofiring:
    """How often an alarm's alerts open together with those of another alarm of its service."""

    alerts: int  # its alerts in the window
    with_any: int  # of those, how many had an alert of some other alarm of the service within the window
    partner_id: int | None  # the other alarm that most often did
    with_partner: int  # how many of its alerts had an alert of the partner within the window

    @property
    def share(self) -> float:
        return self.with_any / self.alerts if self.alerts else 0.0

    @property
    def partner_share(self) -> float:
        return self.with_partner / self.alerts if self.alerts else 0.0


def alarm_cofiring(*, alarm_ids, since: datetime, until: datetime, window: timedelta) -> dict[int, Cofiring]:
    """alarm id → ``Cofiring`` over its alerts opened in [since, until): for each alert, the live alarms of
    the same service (not itself) with an alert opening within ``window`` before or after it (inclusive).
    Alarms without alerts are absent. One statement on both databases (``COFIRING_SQL``)."""
    times = _RawTimes()
    width = window + timedelta(seconds=1)  # wider than the window: a pair is never more than a bucket apart
    params = {
        "alarms": times.ids(alarm_ids),
        "since": times.value(since),
        "until": times.value(until),
        "from": times.value(since - window),
        "to": times.value(until + window),
        "window": times.span(window),
        "width": times.bucket_width(width),
    }
    sql = COFIRING_SQL.format(
        alert=Alert._meta.db_table,
        alarm=Alarm._meta.db_table,
        materialized=times.materialized,
        own_ids=times.id_in("a.alarm_id", "alarms"),
        own_opened=times.time("a.opened_at"),
        own_at=times.time("own.opened_at"),
        own_bucket=times.bucket("own.opened_at"),
        other_opened=times.time("y.opened_at"),
        other_bucket=times.bucket("y.opened_at"),
    )
    totals, with_any, best = {}, {}, {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, alarm_id, partner_id, n in cursor.fetchall():
            if kind == 0:
                totals[alarm_id] = n
            elif kind == 1:
                with_any[alarm_id] = n
            elif alarm_id not in best or (-n, partner_id) < (-best[alarm_id][1], best[alarm_id][0]):
                best[alarm_id] = (partner_id, n)  # the partner of most alerts, the lower id on a tie
    result = {}
    for alarm_id, n in totals.items():
        partner_id, with_partner = best.get(alarm_id, (None, 0))
        result[alarm_id] = Cofiring(n, with_any.get(alarm_id, 0), partner_id, with_partner)
    return result


class _RawTimes:
    """How the review's raw statements read times on this database. PostgreSQL compares its timestamps as they
    are. SQLite keeps text: there they become integer milliseconds since the epoch (its ``julianday`` keeps
    milliseconds), which compare exactly at a boundary where floating-point days would not; the bounds are
    passed in the same unit. Alarm ids go as an array, or a JSON list read by ``json_each``."""

    EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

    def __init__(self):
        self.sqlite = connection.vendor == "sqlite"
        self.materialized = "" if self.sqlite else "MATERIALIZED"  # SQLite before 3.35 lacks the word

    def time(self, column: str) -> str:
        if self.sqlite:
            return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"
        return column

    def value(self, at: datetime):
        return round((at - self.EPOCH) / timedelta(milliseconds=1)) if self.sqlite else at

    def span(self, span: timedelta):
        return round(span / timedelta(milliseconds=1)) if self.sqlite else span

    def seconds(self, expression: str) -> str:
        """A span of ``expression`` seconds (an SQL number), to add to a time."""
        return f"({expression}) * 1000" if self.sqlite else f"({expression}) * INTERVAL '1 second'"

    def bucket_width(self, width: timedelta):
        return self.span(width) if self.sqlite else width.total_seconds()

    def bucket(self, column: str) -> str:
        """Which slice of ``%(width)s`` a time falls in, counted from the epoch (times after it: integer
        division is the floor)."""
        if self.sqlite:
            return f"({self.time(column)} / %(width)s)"
        return f"floor(EXTRACT(EPOCH FROM {column}) / %(width)s)::bigint"

    def ids(self, ids) -> list | str:
        return json.dumps([int(pk) for pk in ids]) if self.sqlite else [int(pk) for pk in ids]

    def id_in(self, column: str, param: str) -> str:
        if self.sqlite:
            return f"{column} IN (SELECT value FROM json_each(%({param})s))"  # noqa: S608 (names, not values)
        return f"{column} = ANY(%({param})s)"


# Alerts meet their partners by a hash join on (service, time bucket): the buckets are a little wider than the
# window, so an alert and an alert within the window of it are in the same or adjacent buckets; each alert
# probes its own bucket and both neighbours, and the exact window is checked on the few rows that meet. Work
# grows with the alerts, not with alerts times partner alarms (one index probe per alert and partner) nor with
# every alert of the estate opened around each one (a range scan of the opened_at index).
COFIRING_SQL = """
WITH own AS {materialized} (
    SELECT a.id, a.alarm_id, a.opened_at, m.service_id
    FROM {alert} a JOIN {alarm} m ON m.id = a.alarm_id
    WHERE {own_ids} AND {own_opened} >= %(since)s AND {own_opened} < %(until)s
), probe AS {materialized} (
    SELECT own.id, own.alarm_id, own.service_id, {own_at} AS at, {own_bucket} + step.k AS bucket
    FROM own CROSS JOIN (SELECT -1 AS k UNION ALL SELECT 0 UNION ALL SELECT 1) step
    WHERE own.service_id IS NOT NULL
), other AS {materialized} (
    -- the alerts of the live alarms of those services around the window: the partners' side
    SELECT y.alarm_id, m.service_id, {other_opened} AS at, {other_bucket} AS bucket
    FROM {alert} y JOIN {alarm} m ON m.id = y.alarm_id
    WHERE m.deleted_at IS NULL AND m.service_id IN (SELECT service_id FROM own)
        AND {other_opened} >= %(from)s AND {other_opened} <= %(to)s
), near AS {materialized} (
    SELECT probe.id, probe.alarm_id, other.alarm_id AS partner_id
    FROM probe JOIN other ON other.service_id = probe.service_id AND other.bucket = probe.bucket
    WHERE other.alarm_id <> probe.alarm_id
        AND other.at >= probe.at - %(window)s AND other.at <= probe.at + %(window)s
)
SELECT 2, alarm_id, partner_id, COUNT(DISTINCT id) FROM near GROUP BY alarm_id, partner_id
UNION ALL SELECT 1, alarm_id, NULL, COUNT(DISTINCT id) FROM near GROUP BY alarm_id
UNION ALL SELECT 0, alarm_id, NULL, COUNT(*) FROM own GROUP BY alarm_id
"""


@dataclass(frozen=True)
class StateChangeBursts:
    """The most state changes of one alarm inside a sliding span, over a window."""

    changes: int  # state changes in the window
    max_in_30_minutes: int
    max_in_periods: int  # inside ``periods`` evaluation periods of the alarm (0 without a period)


def alarm_state_change_counts(*, alarm_ids, since: datetime, until: datetime, periods: int = 20) -> dict:
    """alarm id → ``StateChangeBursts`` of its state changes in [since, until). The sliding span is anchored at
    each change: for every change, the changes of the same alarm at or after it and less than 30 minutes (or
    ``periods`` times its period) later, the largest such count kept; a span between two changes holds no more
    than the one starting at its first change, so this is the exact sliding maximum. One statement of window
    functions (``STATE_CHANGE_BURSTS_SQL``); alarms without changes are absent."""
    times = _RawTimes()
    sql = STATE_CHANGE_BURSTS_SQL.format(
        change=StateChange._meta.db_table,
        alarm=Alarm._meta.db_table,
        materialized=times.materialized,
        ids=times.id_in("c.alarm_id", "alarms"),
        at=times.time("c.at"),
        span=times.seconds("m.period * %(periods)s"),
    )
    params = {
        "alarms": times.ids(alarm_ids),
        "since": times.value(since),
        "until": times.value(until),
        "periods": int(periods),
        "minutes": times.span(timedelta(minutes=30)),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            alarm_id: StateChangeBursts(changes, in_30 or 0, in_periods or 0)
            for alarm_id, changes, in_30, in_periods in cursor.fetchall()
        }


# Each alarm's changes in time order, numbered, and with them the two ends of the spans anchored at each change.
# Sorted together, an end placed before any change at the same instant, the running count of changes at an end
# is how many changes came before it; minus those before the anchoring change (its number less one), the
# changes inside its span. One sort per alarm's changes, whatever their number or the spans.
STATE_CHANGE_BURSTS_SQL = """
WITH change AS {materialized} (
    SELECT c.alarm_id, {at} AS at, CASE WHEN m.period > 0 THEN {span} END AS span,
        ROW_NUMBER() OVER (PARTITION BY c.alarm_id ORDER BY c.at, c.id) AS n
    FROM {change} c JOIN {alarm} m ON m.id = c.alarm_id
    WHERE {ids} AND {at} >= %(since)s AND {at} < %(until)s
), edge AS (
    SELECT alarm_id, at, 0 AS kind, n FROM change
    UNION ALL SELECT alarm_id, at + %(minutes)s, 1, n FROM change
    UNION ALL SELECT alarm_id, at + span, 2, n FROM change WHERE span IS NOT NULL
), counted AS (
    SELECT alarm_id, kind, SUM(CASE WHEN kind = 0 THEN 1 ELSE 0 END) OVER (
        PARTITION BY alarm_id ORDER BY at, kind = 0 ROWS UNBOUNDED PRECEDING
    ) - n + 1 AS within
    FROM edge
)
SELECT alarm_id, SUM(CASE WHEN kind = 0 THEN 1 ELSE 0 END),
    MAX(CASE WHEN kind = 1 THEN within END), MAX(CASE WHEN kind = 2 THEN within END)
FROM counted GROUP BY alarm_id
"""


def alarm_alerts_between(*, alarm_id: int, since: datetime, until: datetime) -> list[dict]:
    """The alarm's alerts opened in [since, until), oldest first, as ``opened_at``, ``closed_at`` and
    ``outcome`` values (what a replay of the alarm's metric compares with)."""
    return list(
        Alert.objects.filter(alarm_id=alarm_id, opened_at__gte=since, opened_at__lt=until)
        .order_by("opened_at", "pk")
        .values("opened_at", "closed_at", "outcome")
    )
