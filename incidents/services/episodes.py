"""State changes and the alerts derived from them.

A state change is stored once per (alarm, time, new state), whatever reported it; a second report only adds
its source. Alerts are ALARM episodes rebuilt from the state changes of one alarm around the new one, inside
one transaction holding the alarm's row lock, so concurrent, duplicate, late and out-of-order reports of the
same alarm converge to the same alerts. A new alert is put into its service's incident at once (grouping).
An existing alert overlapping a rebuilt episode is kept and adjusted
(what people recorded on it stays); the database allows one open alert per alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from alarms.choices import AlarmState
from alarms.models import Alarm
from alarms.services.audit import Change, audit_record
from incidents.chat.events import alerts_changed, alerts_opened
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.models import Alert, StateChange
from incidents.services.grouping import alerts_group, incidents_refresh, services_lock

REMOVED_ACTION = "alert.removed"


@dataclass(frozen=True)
class Episode:
    opened_at: datetime
    closed_at: datetime | None
    reason: str


def state_change_record(*, alarm_id: int, report: AlarmStateReport, source: str) -> bool:
    """Store what ``report`` says happened to the alarm and rebuild its alerts; True when it was new."""
    with transaction.atomic():
        alarms_lock([alarm_id])
        change, created = StateChange.objects.get_or_create(
            alarm_id=alarm_id,
            at=report.at,
            new_state=report.new_state,
            defaults={
                "old_state": report.old_state,
                "reason": report.reason,
                "reason_data": report.reason_data,
                "sources": [source],
            },
        )
        if not created:
            if source not in change.sources:
                change.sources = [*change.sources, source][-20:]
                change.save(update_fields=["sources"])
            return False
        alarm_alerts_rebuild(alarm_id=alarm_id, around=report.at)
    return True


def alarms_lock(alarm_ids: list[int]) -> None:
    """Lock the alarms' rows, in id order, then their services' incident locks, for the caller's transaction:
    the locks every writer of an alarm's state changes and alerts takes, before it touches an alert, so that
    they never interleave nor deadlock (the order everywhere: alarm, service, incident, alert)."""
    rows = Alarm.objects.select_for_update(of=("self",)).filter(pk__in=sorted(alarm_ids)).order_by("pk")
    services_lock(service for _, service in rows.values_list("pk", "service_id") if service)


def episodes_from(changes: list[StateChange]) -> list[Episode]:
    """ALARM episodes of a run of state changes in time order: one opens at the first ALARM after anything
    else, and closes at the next change to another state."""
    episodes, opened, reason = [], None, ""
    for change in changes:
        if change.new_state == AlarmState.ALARM and opened is None:
            opened, reason = change.at, change.reason
        elif change.new_state != AlarmState.ALARM and opened is not None:
            episodes.append(Episode(opened, change.at, reason))
            opened = None
    if opened is not None:
        episodes.append(Episode(opened, None, reason))
    return episodes


def alarm_alerts_rebuild(*, alarm_id: int, around: datetime) -> None:
    """Rebuild the alerts of one alarm from the last change to another state before ``around`` on. The
    caller holds the alarm's row lock."""
    start = (
        StateChange.objects.filter(alarm_id=alarm_id, at__lt=around)
        .exclude(new_state=AlarmState.ALARM)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    changes = StateChange.objects.filter(alarm_id=alarm_id)
    alerts = Alert.objects.filter(alarm_id=alarm_id).order_by("opened_at")
    if start is not None:
        changes = changes.filter(at__gte=start)
        # Alerts that end before the window are left alone; one that opens and closes at ``start`` itself (an
        # ALARM and an OK at one instant) is inside it.
        alerts = alerts.exclude(closed_at__lt=start).exclude(closed_at=start, opened_at__lt=start)
    _reconcile(alarm_id, list(alerts), episodes_from(sorted(changes, key=_in_time_order)))


def _in_time_order(change: StateChange) -> tuple:
    """Time order; at the same instant ALARM first, so that whatever order the reports arrived in, an
    ALARM and an OK at one timestamp make the same (zero-length) episode."""
    return (change.at, change.new_state != AlarmState.ALARM, change.new_state)


def _overlaps(alert: Alert, episode: Episode) -> bool:
    alert_end, episode_end = alert.closed_at, episode.closed_at
    return (episode_end is None or alert.opened_at <= episode_end) and (
        alert_end is None or episode.opened_at <= alert_end
    )


def _reconcile(alarm_id: int, alerts: list[Alert], episodes: list[Episode]) -> None:
    """Make ``alerts`` match ``episodes``: keep each alert that overlaps an episode (adjusted to it), delete
    the rest, create the missing. Deletions first and the open alert last, for the constraints."""
    keep: dict[int, Episode] = {}
    unmatched = []
    free = list(alerts)
    for episode in episodes:
        match = next((a for a in free if _overlaps(a, episode)), None)
        if match is None:
            unmatched.append(episode)
        else:
            free.remove(match)
            keep[match.pk] = episode
    touched = {a.incident_id for a in free if a.incident_id}
    _alerts_remove(free)
    closings = []
    for alert in sorted((a for a in alerts if a.pk in keep), key=lambda a: keep[a.pk].closed_at is None):
        episode = keep[alert.pk]
        if alert.closed_at != episode.closed_at:
            closings.append(alert.pk)
        if (alert.opened_at, alert.closed_at) != (episode.opened_at, episode.closed_at):
            alert.opened_at, alert.closed_at = episode.opened_at, episode.closed_at
            alert.save(update_fields=["opened_at", "closed_at"])
            if alert.incident_id:
                touched.add(alert.incident_id)
    if touched:
        incidents_refresh(touched)
    created = Alert.objects.bulk_create(
        [Alert(alarm_id=alarm_id, opened_at=e.opened_at, closed_at=e.closed_at, reason=e.reason) for e in unmatched]
    )
    if created:
        alerts_group([alert.pk for alert in created])
        alerts_opened(created)
    alerts_changed(closings)


def _alerts_remove(alerts: list[Alert]) -> None:
    """Delete alerts whose episode the state changes no longer show. What a person recorded on one is kept in
    the audit trail; an inferred duplicate of one is cleared, for the inference to decide again."""
    if not alerts:
        return
    ids = [a.pk for a in alerts]
    audit_record(
        actor=None,
        action=REMOVED_ACTION,
        changes=[
            Change(alarm_id=a.alarm_id, target=f"alert:{a.pk}", before=_recorded(a), after={})
            for a in alerts
            if a.outcome or a.acknowledged_at
        ],
        system="alert rebuild",
    )
    Alert.objects.filter(duplicate_of__in=ids, outcome_inferred=True).update(
        outcome="", outcome_inferred=False, duplicate_of=None, outcome_at=None
    )
    Alert.objects.filter(pk__in=ids).delete()


def _recorded(alert: Alert) -> dict:
    return {
        "opened_at": alert.opened_at.isoformat(),
        "outcome": alert.outcome,
        "inferred": alert.outcome_inferred,
        "note": alert.outcome_note,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }
