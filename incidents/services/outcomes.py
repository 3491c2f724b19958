"""What people did about an alert: an outcome (with an optional note, and for a duplicate the alert it
duplicates) and an acknowledgement. Who and when are recorded; every change is audited on the alarm, never
overwritten silently. The first human outcome or acknowledgement is the alert's first response."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from alarms.services.audit import Change, audit_record
from incidents.chat.events import alerts_changed, incidents_changed
from incidents.choices import Announcement, CustomerImpact, Outcome
from incidents.models import Alert, Incident

OUTCOME_ACTION = "alert.outcome"
ACK_ACTION = "alert.acknowledge"
IMPACT_ACTION = "incident.customer_impact"
MAX_NOTE = 4000
MAX_BULK = 500


def _snapshot(alert: Alert) -> dict:
    return {
        "outcome": alert.outcome,
        "note": alert.outcome_note,
        "duplicate_of": alert.duplicate_of_id,
        "inferred": alert.outcome_inferred,
        "by": alert.outcome_by_name or getattr(alert.outcome_by, "username", None),
    }


def _by_name(actor, chat_user: str) -> str:
    """Who, as recorded on the alert: the portal username, or the chat name of someone without a portal account."""
    if actor is not None:
        return actor.get_username()
    return f"{chat_user} (Slack, not linked)"[:150] if chat_user else ""


def _system(chat_user: str) -> str:
    """The audit's name for a change without a portal user: the chat user's, or the system's."""
    return f"slack:{chat_user}" if chat_user else "system"


def _same_label(alert: Alert, *, outcome: str, note: str, duplicate_of: Alert | None) -> bool:
    """The person's label the alert already has, repeated without a note of its own."""
    return (
        alert.outcome == outcome
        and not alert.outcome_inferred
        and not note
        and alert.duplicate_of_id == (duplicate_of.pk if duplicate_of else None)
    )


def alert_outcome_record(
    *, alert: Alert, outcome: str, actor, note: str = "", duplicate_of: Alert | None = None, chat_user: str = ""
) -> Alert:
    """Record (or change) a person's outcome for an alert. ``chat_user``: without an ``actor``, the chat name of
    the person who clicked (someone the portal does not know), recorded and audited as such."""
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"One of {', '.join(Outcome.values)}."})
    if outcome == Outcome.DUPLICATE and duplicate_of is None:
        raise ValidationError({"duplicate_of": "Say which alert this one duplicates."})
    if duplicate_of is not None and (outcome != Outcome.DUPLICATE or duplicate_of.pk == alert.pk):
        raise ValidationError({"duplicate_of": "Only a duplicate names another alert, and never itself."})
    # A repeat points back at what came first: naming a later alert would make the original the copy.
    if duplicate_of is not None and duplicate_of.opened_at > alert.opened_at:
        raise ValidationError({"duplicate_of": "A duplicate names an alert that opened no later than it did."})
    _check_note(note)
    with transaction.atomic():
        if outcome == Outcome.CUSTOMER_IMPACT:
            _incidents_lock([alert.pk])
        locked = Alert.objects.select_for_update(of=("self",)).select_related("outcome_by").get(pk=alert.pk)
        if _same_label(locked, outcome=outcome, note=note, duplicate_of=duplicate_of):
            return locked  # a second click of the same label: nothing to record, the note written with it kept
        before = _snapshot(locked)
        now = timezone.now()
        locked.outcome, locked.outcome_note, locked.duplicate_of = outcome, note, duplicate_of
        locked.outcome_inferred, locked.outcome_by, locked.outcome_at = False, actor, now
        locked.outcome_by_name = _by_name(actor, chat_user)
        locked.first_response_at = locked.first_response_at or now
        locked.save(
            update_fields=[
                "outcome", "outcome_note", "duplicate_of", "outcome_inferred", "outcome_by", "outcome_by_name",
                "outcome_at", "first_response_at",
            ]
        )  # fmt: skip
        after = _snapshot(locked)
        if outcome == Outcome.CUSTOMER_IMPACT and locked.incident_id:
            incident_customer_impact_noted(incident_id=locked.incident_id, actor=actor, system=_system(chat_user))
        if before != after:
            audit_record(
                actor=actor,
                action=OUTCOME_ACTION,
                changes=[Change(alarm_id=locked.alarm_id, target=f"alert:{locked.pk}", before=before, after=after)],
                system=_system(chat_user),
            )
        alerts_changed([locked.pk])
    return locked


def alerts_outcome_record_bulk(
    *, alerts: Iterable[Alert], outcome: str, actor, note: str = "", chat_user: str = ""
) -> int:
    """Record one outcome for many alerts at once: all of them or none, one audit entry per alert whose
    outcome changed. A duplicate names its own original, so duplicates are labelled one at a time."""
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"One of {', '.join(Outcome.values)}."})
    if outcome == Outcome.DUPLICATE:
        raise ValidationError({"outcome": "A duplicate names the alert it duplicates: label it on its own."})
    _check_note(note)
    ids = sorted({alert.pk for alert in alerts})
    if not ids:
        raise ValidationError({"alerts": "Select at least one alert."})
    if len(ids) > MAX_BULK:
        raise ValidationError({"alerts": f"At most {MAX_BULK} alerts at once."})
    with transaction.atomic():
        if outcome == Outcome.CUSTOMER_IMPACT:
            _incidents_lock(ids)
        # Locked in id order, so two bulk labellings of overlapping alerts cannot deadlock.
        locked = list(
            Alert.objects.select_for_update(of=("self",)).select_related("outcome_by").filter(pk__in=ids).order_by("pk")
        )
        if len(locked) != len(ids):
            raise ValidationError({"alerts": "Some of these alerts no longer exist."})
        now = timezone.now()
        Alert.objects.filter(pk__in=ids).update(
            outcome=outcome,
            outcome_note=note,
            duplicate_of=None,
            outcome_inferred=False,
            outcome_by=actor,
            outcome_by_name=_by_name(actor, chat_user),
            outcome_at=now,
            first_response_at=Coalesce("first_response_at", models.Value(now, output_field=models.DateTimeField())),
        )
        after = {"outcome": outcome, "note": note, "duplicate_of": None, "inferred": False,
                 "by": _by_name(actor, chat_user) or None}  # fmt: skip
        changes = []
        for alert in locked:
            before = _snapshot(alert)
            if before != after:
                changes.append(Change(alarm_id=alert.alarm_id, target=f"alert:{alert.pk}", before=before, after=after))
        if outcome == Outcome.CUSTOMER_IMPACT:
            # The same hook as one alert's outcome, once per incident (a handful, however many alerts).
            for incident_id in sorted({alert.incident_id for alert in locked if alert.incident_id}):
                incident_customer_impact_noted(incident_id=incident_id, actor=actor, system=_system(chat_user))
        audit_record(actor=actor, action=OUTCOME_ACTION, changes=changes, system=_system(chat_user))
        alerts_changed(ids)
    return len(ids)


def _check_note(note: str) -> None:
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"At most {MAX_NOTE} characters."})


def alert_acknowledge(*, alert: Alert, actor, chat_user: str = "") -> Alert:
    """Say someone is looking: recorded once, the first acknowledgement counts. ``chat_user`` as for outcomes."""
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            return locked
        now = timezone.now()
        locked.acknowledged_by, locked.acknowledged_at = actor, now
        locked.acknowledged_by_name = _by_name(actor, chat_user)
        locked.first_response_at = locked.first_response_at or now
        locked.save(update_fields=["acknowledged_by", "acknowledged_by_name", "acknowledged_at", "first_response_at"])
        audit_record(
            actor=actor,
            action=ACK_ACTION,
            changes=[
                Change(alarm_id=locked.alarm_id, target=f"alert:{locked.pk}", before={}, after={"acknowledged": True})
            ],
            system=_system(chat_user),
        )
        alerts_changed([locked.pk])
    return locked


def _incidents_lock(alert_ids: list[int]) -> None:
    """Lock the incidents of these alerts before the alerts themselves: the order merges and splits take too
    (incident rows, then alerts), so that marking an incident from an outcome never deadlocks with them."""
    incident_ids = Alert.objects.filter(pk__in=alert_ids, incident__isnull=False).values_list("incident_id")
    list(Incident.objects.select_for_update().filter(pk__in=incident_ids).order_by("pk").values_list("pk"))


def incident_customer_impact_noted(*, incident_id: int, actor, system: str = "system") -> None:
    """An alert of the incident affected customers: so did the incident, and an announcement may be needed
    (unless people already said otherwise). Audited like any change of an incident."""
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return
    before = {"customer_impact": incident.customer_impact, "announcement": incident.announcement}
    if incident.customer_impact == CustomerImpact.UNKNOWN:
        incident.customer_impact = CustomerImpact.YES
    if incident.announcement == Announcement.NONE:
        incident.announcement = Announcement.NEEDED
    after = {"customer_impact": incident.customer_impact, "announcement": incident.announcement}
    if before == after:
        return
    incident.save(update_fields=["customer_impact", "announcement"])
    incidents_changed([incident.pk])
    audit_record(
        actor=actor,
        action=IMPACT_ACTION,
        changes=[Change(alarm_id=None, target=f"incident:{incident.pk}", before=before, after=after)],
        system=system,
    )
