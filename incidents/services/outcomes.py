"""What people did about an alert: an outcome (with an optional note, and for a duplicate the alert it
duplicates) and an acknowledgement. Who and when are recorded; every change is audited on the alarm, never
overwritten silently. The first human outcome or acknowledgement is the alert's first response."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alarms.services.audit import Change, audit_record
from incidents.choices import Announcement, CustomerImpact, Outcome
from incidents.models import Alert, Incident

OUTCOME_ACTION = "alert.outcome"
ACK_ACTION = "alert.acknowledge"
MAX_NOTE = 4000


def _snapshot(alert: Alert) -> dict:
    return {
        "outcome": alert.outcome,
        "note": alert.outcome_note,
        "duplicate_of": alert.duplicate_of_id,
        "inferred": alert.outcome_inferred,
        "by": getattr(alert.outcome_by, "username", None),
    }


def alert_outcome_record(
    *, alert: Alert, outcome: str, actor, note: str = "", duplicate_of: Alert | None = None
) -> Alert:
    """Record (or change) a person's outcome for an alert."""
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"One of {', '.join(Outcome.values)}."})
    if outcome == Outcome.DUPLICATE and duplicate_of is None:
        raise ValidationError({"duplicate_of": "Say which alert this one duplicates."})
    if duplicate_of is not None and (outcome != Outcome.DUPLICATE or duplicate_of.pk == alert.pk):
        raise ValidationError({"duplicate_of": "Only a duplicate names another alert, and never itself."})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"At most {MAX_NOTE} characters."})
    with transaction.atomic():
        locked = Alert.objects.select_for_update(of=("self",)).select_related("outcome_by").get(pk=alert.pk)
        before = _snapshot(locked)
        now = timezone.now()
        locked.outcome, locked.outcome_note, locked.duplicate_of = outcome, note, duplicate_of
        locked.outcome_inferred, locked.outcome_by, locked.outcome_at = False, actor, now
        locked.first_response_at = locked.first_response_at or now
        locked.save(
            update_fields=[
                "outcome", "outcome_note", "duplicate_of", "outcome_inferred", "outcome_by", "outcome_at",
                "first_response_at",
            ]
        )  # fmt: skip
        after = _snapshot(locked)
        if outcome == Outcome.CUSTOMER_IMPACT and locked.incident_id:
            incident_customer_impact_noted(incident_id=locked.incident_id)
        if before != after:
            audit_record(
                actor=actor,
                action=OUTCOME_ACTION,
                changes=[Change(alarm_id=locked.alarm_id, target=f"alert:{locked.pk}", before=before, after=after)],
            )
    return locked


def alert_acknowledge(*, alert: Alert, actor) -> Alert:
    """Say someone is looking: recorded once, the first acknowledgement counts."""
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            return locked
        now = timezone.now()
        locked.acknowledged_by, locked.acknowledged_at = actor, now
        locked.first_response_at = locked.first_response_at or now
        locked.save(update_fields=["acknowledged_by", "acknowledged_at", "first_response_at"])
        audit_record(
            actor=actor,
            action=ACK_ACTION,
            changes=[
                Change(alarm_id=locked.alarm_id, target=f"alert:{locked.pk}", before={}, after={"acknowledged": True})
            ],
        )
    return locked


def incident_customer_impact_noted(*, incident_id: int) -> None:
    """An alert of the incident affected customers: so did the incident, and an announcement may be needed
    (unless people already said otherwise)."""
    Incident.objects.filter(pk=incident_id, customer_impact=CustomerImpact.UNKNOWN).update(
        customer_impact=CustomerImpact.YES
    )
    Incident.objects.filter(pk=incident_id, announcement=Announcement.NONE).update(announcement=Announcement.NEEDED)
