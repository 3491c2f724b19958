"""Incidents changed by hand: their title, customer impact and announcement; notes on their timeline; merging
two incidents that were one failure, and splitting off the alerts that were another. Every change is audited
on ``incident:<id>``.

Merges and splits move alerts between incidents, as the grouping does: they hold the same service row locks
(``services_lock``) so an alert arriving meanwhile is placed before or after, never in between. The database
allows one open incident per service, so whatever closes is closed (or deleted) before anything reopens.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alarms.services.audit import Change, audit_record
from incidents.chat.events import incidents_changed
from incidents.choices import Announcement, CustomerImpact, Outcome
from incidents.models import Alert, Incident, IncidentNote
from incidents.services.grouping import services_lock

TITLE_MAX = 300
NOTE_MAX = 4000
UPDATE_ACTION = "incident.update"
NOTE_ACTION = "incident.note"
MERGE_ACTION = "incident.merge"
SPLIT_ACTION = "incident.split"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _snapshot(incident: Incident) -> dict:
    return {
        "title": incident.title,
        "service": incident.service_id,
        "opened_at": _iso(incident.opened_at),
        "last_alert_at": _iso(incident.last_alert_at),
        "closed_at": _iso(incident.closed_at),
        "customer_impact": incident.customer_impact,
        "announcement": incident.announcement,
    }


def _target(incident: Incident) -> str:
    return f"incident:{incident.pk}"


def _locked(pks: Iterable[int]) -> dict[int, Incident]:
    """The incidents' rows, locked in id order; one merged or deleted meanwhile is an error, not a 500."""
    pks = sorted(set(pks))
    rows = {i.pk: i for i in Incident.objects.select_for_update().filter(pk__in=pks).order_by("pk")}
    if len(rows) != len(pks):
        raise ValidationError("The incident changed meanwhile (merged or removed); reload and try again.")
    return rows


def _clean_title(title: str, field: str = "title") -> str:
    title = title.strip()
    if not title:
        raise ValidationError({field: "Give the incident a title."})
    if len(title) > TITLE_MAX:
        raise ValidationError({field: f"At most {TITLE_MAX} characters."})
    return title


def incident_update(
    *,
    incident: Incident,
    actor,
    title: str | None = None,
    customer_impact: str | None = None,
    announcement: str | None = None,
) -> Incident:
    """Change the fields people own; ``None`` leaves a field as it is. Only real changes are audited."""
    values = {}
    if title is not None:
        values["title"] = _clean_title(title)
    if customer_impact is not None:
        if customer_impact not in CustomerImpact.values:
            raise ValidationError({"customer_impact": f"One of {', '.join(CustomerImpact.values)}."})
        values["customer_impact"] = customer_impact
    if announcement is not None:
        if announcement not in Announcement.values:
            raise ValidationError({"announcement": f"One of {', '.join(Announcement.values)}."})
        values["announcement"] = announcement
    with transaction.atomic():
        locked = _locked([incident.pk])[incident.pk]
        changed = {name: value for name, value in values.items() if getattr(locked, name) != value}
        if not changed:
            return locked
        before = {name: getattr(locked, name) for name in changed}
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.save(update_fields=list(changed))
        audit_record(
            actor=actor,
            action=UPDATE_ACTION,
            changes=[Change(alarm_id=None, target=_target(locked), before=before, after=changed)],
        )
        incidents_changed([locked.pk])
    return locked


def incident_note_add(*, incident: Incident, actor, text: str) -> IncidentNote:
    """Add a note to the incident's timeline, with its author (whose name stays if the user goes)."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    if len(text) > NOTE_MAX:
        raise ValidationError({"text": f"At most {NOTE_MAX} characters."})
    with transaction.atomic():
        _locked([incident.pk])  # not onto an incident being merged away
        note = IncidentNote.objects.create(
            incident_id=incident.pk,
            author=actor,
            author_name=actor.get_username() if actor else "system",
            at=timezone.now(),
            text=text,
        )
        audit_record(
            actor=actor,
            action=NOTE_ACTION,
            changes=[Change(alarm_id=None, target=_target(incident), before={}, after={"note": note.pk, "text": text})],
        )
    return note


def incident_merge(*, source: Incident, into: Incident | None, actor) -> Incident:
    """Merge ``source`` into ``into``: its alerts and notes move, ``into`` spans both and is open if either
    was, and ``source`` is deleted. Returns ``into``."""
    if into is None:
        raise ValidationError({"into": "Choose the incident to merge into."})
    if into.pk == source.pk:
        raise ValidationError({"into": "An incident cannot be merged into itself."})
    with transaction.atomic():
        services_lock(s for s in (source.service_id, into.service_id) if s)
        rows = _locked([source.pk, into.pk])
        source, into = rows[source.pk], rows[into.pk]
        before_source, before_into = _snapshot(source), _snapshot(into)
        reopen = into.closed_at is not None and source.closed_at is None
        if reopen and into.service_id and into.service_id != source.service_id:
            other = Incident.objects.filter(service_id=into.service_id, closed_at__isnull=True).first()
            if other is not None:
                raise ValidationError(
                    {"into": f"Its service already has an open incident (#{other.pk}); merge into that one instead."}
                )
        alert_ids = sorted(Alert.objects.filter(incident=source).values_list("pk", flat=True))
        Alert.objects.filter(pk__in=alert_ids).update(incident=into)
        notes = IncidentNote.objects.filter(incident=source).update(incident=into)
        into.opened_at = min(into.opened_at, source.opened_at)
        into.last_alert_at = max(into.last_alert_at, source.last_alert_at)
        if reopen:
            into.closed_at = None
        elif into.closed_at is not None:
            into.closed_at = max(into.closed_at, source.closed_at)
        # What people already said about either part carries over to the whole.
        if into.customer_impact == CustomerImpact.UNKNOWN:
            into.customer_impact = source.customer_impact
        if into.announcement == Announcement.NONE:
            into.announcement = source.announcement
        source_pk = source.pk
        source.delete()  # first: it may be its service's open incident, and ``into`` may reopen as that
        into.save(update_fields=["opened_at", "last_alert_at", "closed_at", "customer_impact", "announcement"])
        audit_record(
            actor=actor,
            action=MERGE_ACTION,
            changes=[
                Change(alarm_id=None, target=f"incident:{source_pk}", before=before_source,
                       after={"merged_into": into.pk}),
                Change(alarm_id=None, target=_target(into), before=before_into,
                       after={**_snapshot(into), "merged": source_pk, "alerts": alert_ids, "notes": notes}),
            ],
        )  # fmt: skip
        incidents_changed([into.pk])
    return into


def incident_split(*, incident: Incident, alert_ids: Iterable[int], actor, title: str | None = None) -> Incident:
    """Move some of the incident's alerts into a new incident of the same service; returns the new one.

    Each part spans its own alerts. A part whose alerts all closed is closed at its last alert's closing;
    since a service has at most one open incident, only one part may hold an open alert."""
    wanted = {int(pk) for pk in alert_ids}
    if not wanted:
        raise ValidationError({"alerts": "Choose the alerts to split off."})
    if title is not None:
        title = _clean_title(title)
    with transaction.atomic():
        services_lock([incident.service_id] if incident.service_id else [])
        incident = _locked([incident.pk])[incident.pk]
        before = _snapshot(incident)
        # Read under the service lock: grouping (the only other writer of alert.incident) waits for it.
        alerts = list(Alert.objects.filter(incident=incident).order_by("opened_at", "pk"))
        moving = [a for a in alerts if a.pk in wanted]
        staying = [a for a in alerts if a.pk not in wanted]
        if len(moving) != len(wanted):
            raise ValidationError({"alerts": "Only alerts of this incident can be split off."})
        if not staying:
            raise ValidationError({"alerts": "Leave at least one alert in the incident."})
        moving_open = any(a.closed_at is None for a in moving)
        staying_open = any(a.closed_at is None for a in staying)
        if moving_open and staying_open:
            raise ValidationError(
                {"alerts": "Both parts would hold an open alert, and a service has at most one open incident."}
            )
        if moving_open and incident.service_id:
            other = (
                Incident.objects.filter(service_id=incident.service_id, closed_at__isnull=True)
                .exclude(pk=incident.pk)
                .first()
            )
            if other is not None:  # a late-reported open alert in a closed incident, while another is open
                raise ValidationError({"alerts": f"Its service already has an open incident (#{other.pk})."})
        incident.opened_at = staying[0].opened_at
        incident.last_alert_at = max(a.opened_at for a in staying)
        if moving_open and incident.closed_at is None:
            # The open alert leaves: what remains is over, and closes before the new part takes its place.
            incident.closed_at = max(a.closed_at for a in staying)
        incident.save(update_fields=["opened_at", "last_alert_at", "closed_at"])
        impact = any(a.outcome == Outcome.CUSTOMER_IMPACT for a in moving)
        new = Incident.objects.create(
            service_id=incident.service_id,
            title=title or f"{incident.title} (split)"[:TITLE_MAX],
            opened_at=moving[0].opened_at,
            last_alert_at=max(a.opened_at for a in moving),
            closed_at=None if moving_open else max(a.closed_at for a in moving),
            customer_impact=CustomerImpact.YES if impact else CustomerImpact.UNKNOWN,
            announcement=Announcement.NEEDED if impact else Announcement.NONE,
        )
        moved = [a.pk for a in moving]
        Alert.objects.filter(pk__in=moved).update(incident=new)
        audit_record(
            actor=actor,
            action=SPLIT_ACTION,
            changes=[
                Change(alarm_id=None, target=_target(incident), before=before,
                       after={**_snapshot(incident), "split_into": new.pk, "alerts": moved}),
                Change(alarm_id=None, target=_target(new), before={},
                       after={**_snapshot(new), "split_from": incident.pk, "alerts": moved}),
            ],
        )  # fmt: skip
        incidents_changed([incident.pk, new.pk])
    return new
