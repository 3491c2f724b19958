"""Governance writes: an alarm's service, owner team and purpose contract. Always audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from alarms.choices import AssignmentSource
from alarms.models import GOVERNANCE_FIELDS, Alarm
from alarms.services.audit import Change, audit_record

GOVERNANCE_ACTION = "alarm.governance"  # the audit action of a person's change to one alarm


def _snapshot(alarm: Alarm, fields: list[str]) -> dict:
    """Plain JSON values of the given governance fields (foreign keys by slug, readable in the audit)."""
    snapshot = {}
    for name in fields:
        value = getattr(alarm, name)
        snapshot[name] = getattr(value, "slug", value) if name in ("service", "owner_team") else value
    return snapshot


def alarm_update_governance(*, alarm: Alarm, actor, **values) -> Alarm:
    """Set governance fields of one alarm. Unknown fields are refused; unchanged values write nothing."""
    unknown = set(values) - set(GOVERNANCE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a governance field." for name in sorted(unknown)})
    with transaction.atomic():
        locked = Alarm.objects.select_for_update(of=("self",)).select_related("service", "owner_team").get(pk=alarm.pk)
        changed = [name for name, value in values.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        before = _snapshot(locked, changed)
        for name in changed:
            setattr(locked, name, values[name])
        # A person's choice of service or owner is final: mapping rules will not override it.
        for name, source in (("service", "service_source"), ("owner_team", "owner_team_source")):
            if name in changed:
                setattr(locked, source, AssignmentSource.MANUAL if values[name] else AssignmentSource.NONE)
                changed.append(source)
        locked.full_clean(exclude=[f for f in _non_governance_fields()])
        locked.save(update_fields=changed)
        audit_record(
            actor=actor,
            action=GOVERNANCE_ACTION,
            changes=[
                Change(alarm_id=locked.pk, target=locked.arn, before=before, after=_snapshot(locked, list(before)))
            ],
        )
    return locked


def _non_governance_fields() -> list[str]:
    return [f.name for f in Alarm._meta.get_fields() if f.concrete and f.name not in GOVERNANCE_FIELDS]
