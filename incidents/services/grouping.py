"""Incidents: the alerts of one failure of a service, grouped as they arrive.

An alert of a service joins the service's open incident when it opens within the grouping window of the
incident's last alert, or while one of the incident's alerts is still open; otherwise it opens a new incident.
Alerts that arrive late (history imports, out-of-order deliveries) join the incident whose span, widened by the
window, holds their opening, so the grouping does not depend on the order the reports came in. An incident
closes once all its alerts closed and a quiet period passed.

Writers hold the service's incident lock (a transaction-level advisory lock on the service's id: the catalog's
own writes to the service row never wait for it) while they place alerts; the database allows one open
incident per service besides. The order of locks everywhere: alarm rows, service locks, incident rows, alerts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef
from django.utils import timezone

from incidents.chat.events import incidents_changed
from incidents.models import Alert, Incident
from portal.db import advisory_xact_lock

TITLE_MAX = 300


def _window() -> timedelta:
    return timedelta(seconds=settings.OKAMI_INCIDENT_WINDOW_SECONDS)


def _quiet() -> timedelta:
    return timedelta(seconds=settings.OKAMI_INCIDENT_QUIET_SECONDS)


SERVICE_LOCKS = 0x0C1D  # the advisory-lock namespace of the services' incidents


def services_lock(service_ids) -> None:
    """Take the services' incident locks, in id order, for the caller's transaction (after any alarm locks)."""
    advisory_xact_lock(SERVICE_LOCKS, service_ids)


def alerts_group(alert_ids, *, now: datetime | None = None) -> int:
    """Put each of these alerts that has no incident yet into one; returns how many were placed."""
    now = now or timezone.now()
    with transaction.atomic():
        alerts = list(
            Alert.objects.filter(pk__in=list(alert_ids), incident__isnull=True, alarm__service__isnull=False)
            .select_related("alarm", "alarm__service")
            .order_by("opened_at", "pk")
        )
        if not alerts:
            return 0
        services_lock(a.alarm.service_id for a in alerts)
        for alert in alerts:
            _place(alert, now)
    return len(alerts)


def _has_open_alerts(incident: Incident) -> bool:
    return incident.alerts.filter(closed_at__isnull=True).exists()


def _place(alert: Alert, now: datetime) -> None:
    service_id, window = alert.alarm.service_id, _window()
    current = alert.closed_at is None or alert.closed_at + _quiet() > now
    incidents = Incident.objects.select_for_update()  # people edit incidents too: never write back a stale row
    open_incident = incidents.filter(service_id=service_id, closed_at__isnull=True).first()
    busy = open_incident is not None and _has_open_alerts(open_incident)
    if open_incident is not None and (
        _spans(open_incident, alert.opened_at, window) or (busy and alert.opened_at >= open_incident.opened_at)
    ):
        _join(open_incident, alert)
        return
    earlier = (
        incidents.filter(
            service_id=service_id,
            closed_at__isnull=False,
            opened_at__lte=alert.opened_at + window,
            last_alert_at__gte=alert.opened_at - window,
        )
        .order_by("-last_alert_at", "-pk")
        .first()
    )
    if earlier is not None and not (alert.closed_at is None and open_incident is not None):
        if alert.closed_at is None:
            earlier.closed_at = None  # a late report of an alert still open: its incident is not over
        _join(earlier, alert)
        return
    if current and open_incident is not None:
        if busy:
            # Two failures of one service at once (one reported late): one open incident per service takes both.
            _join(open_incident, alert)
            return
        _close(open_incident)
    _join(_new(alert, closed_at=None if current else alert.closed_at), alert)


def _spans(incident: Incident, at: datetime, window: timedelta) -> bool:
    return incident.opened_at - window <= at <= incident.last_alert_at + window


def _new(alert: Alert, *, closed_at: datetime | None) -> Incident:
    title = f"{alert.alarm.service.name}: {alert.alarm.name}"[:TITLE_MAX]
    return Incident(
        service_id=alert.alarm.service_id,
        title=title,
        opened_at=alert.opened_at,
        last_alert_at=alert.opened_at,
        closed_at=closed_at,
    )


def _join(incident: Incident, alert: Alert) -> None:
    incident.opened_at = min(incident.opened_at, alert.opened_at)
    incident.last_alert_at = max(incident.last_alert_at, alert.opened_at)
    if incident.closed_at is not None and alert.closed_at is not None:
        incident.closed_at = max(incident.closed_at, alert.closed_at)
    if incident.pk is None:
        incident.save()
    else:
        incident.save(update_fields=["opened_at", "last_alert_at", "closed_at"])
    alert.incident = incident
    Alert.objects.filter(pk=alert.pk).update(incident=incident)


def _close(incident: Incident) -> None:
    last = incident.alerts.aggregate(last=Max("closed_at"))["last"]
    incident.closed_at = last or incident.last_alert_at
    incident.save(update_fields=["closed_at"])


def incidents_close(*, now: datetime | None = None) -> int:
    """Close the open incidents whose alerts all closed more than the quiet period ago (at their last alert's
    closing); an open incident left without alerts (its episodes were rebuilt away) closes at once. Returns
    how many closed."""
    now = now or timezone.now()
    candidates = (
        Incident.objects.filter(closed_at__isnull=True)
        .exclude(Exists(Alert.objects.filter(incident=OuterRef("pk"), closed_at__isnull=True)))
        .values_list("pk", "service_id")
    )
    closed = 0
    for pk, service_id in list(candidates):
        with transaction.atomic():
            services_lock([service_id] if service_id else [])
            # Decided under the lock: an alert may have joined since the candidates were read.
            incident = Incident.objects.select_for_update().filter(pk=pk, closed_at__isnull=True).first()
            if incident is None or _has_open_alerts(incident):
                continue
            last_closed = incident.alerts.aggregate(last=Max("closed_at"))["last"]
            if last_closed is not None and last_closed + _quiet() > now:
                continue
            incident.closed_at = last_closed or incident.last_alert_at
            incident.save(update_fields=["closed_at"])
            incidents_changed([incident.pk])
            closed += 1
    return closed


def incidents_refresh(incident_ids) -> None:
    """After alerts were adjusted or removed (a rebuild of their episodes): each incident spans its alerts
    again; one left without alerts, notes or anything people wrote on it goes, otherwise it closes."""
    for incident in Incident.objects.select_for_update().filter(pk__in=sorted(set(incident_ids))).order_by("pk"):
        bounds = incident.alerts.aggregate(first=Min("opened_at"), last=Max("opened_at"), closed=Max("closed_at"))
        if bounds["first"] is None:
            if not incident.notes.exists():
                incident.delete()
            elif incident.closed_at is None:
                incident.closed_at = incident.last_alert_at
                incident.save(update_fields=["closed_at"])
            continue
        incident.opened_at, incident.last_alert_at = bounds["first"], bounds["last"]
        if incident.closed_at is not None and bounds["closed"] is not None:
            incident.closed_at = max(incident.closed_at, bounds["closed"])
        incident.save(update_fields=["opened_at", "last_alert_at", "closed_at"])


def alerts_group_pending(*, days: int = 7, now: datetime | None = None) -> int:
    """Group the recent alerts left out of any incident (their alarm had no service when they opened)."""
    now = now or timezone.now()
    pending = Alert.objects.filter(
        incident__isnull=True, alarm__service__isnull=False, opened_at__gte=now - timedelta(days=days)
    ).values_list("pk", flat=True)
    return alerts_group(list(pending), now=now)
