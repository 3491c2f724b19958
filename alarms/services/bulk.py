"""Bulk assignment: set service, owner, tier or signal kind on many alarms in one request.

Rows are locked in id order, so two concurrent bulk edits of overlapping alarms run one after the other
and never deadlock; each records what it saw before and wrote after, so the audit trail shows the last
write and nothing is silently dropped. Queries: one locking read, one UPDATE and one audit insert per
batch of 500 alarms, whatever the number of alarms.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from alarms.choices import AssignmentSource, SignalKind, Tier
from alarms.models import Alarm, Service, Team
from alarms.services.audit import Change, audit_record

BATCH = 500
MAX_ALARMS = 10_000
BULK_ASSIGN_ACTION = "alarm.bulk_assign"
BULK_FIELDS = ("service", "owner_team", "tier", "signal_kind")


def _validate(values: dict) -> dict:
    unknown = set(values) - set(BULK_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a field that can be set in bulk." for name in sorted(unknown)})
    if not values:
        raise ValidationError({"non_field_errors": "Say what to set: service, owner_team, tier or signal_kind."})
    errors = {}
    if "service" in values and values["service"] is not None and not isinstance(values["service"], Service):
        errors["service"] = "Not a service."
    if "owner_team" in values and values["owner_team"] is not None and not isinstance(values["owner_team"], Team):
        errors["owner_team"] = "Not a team."
    if "tier" in values and values["tier"] not in ("", *Tier.values):
        errors["tier"] = f"One of {', '.join(Tier.values)}."
    if "signal_kind" in values and values["signal_kind"] not in ("", *SignalKind.values):
        errors["signal_kind"] = f"One of {', '.join(SignalKind.values)}."
    if errors:
        raise ValidationError(errors)
    columns = {}
    for name, value in values.items():
        if name in ("service", "owner_team"):
            columns[f"{name}_id"] = value.pk if value else None
            columns[f"{name}_source"] = AssignmentSource.MANUAL if value else AssignmentSource.NONE
        else:
            columns[name] = value
    return columns


def _readable(column: str, value, slugs: dict) -> tuple[str, object]:
    if column in ("service_id", "owner_team_id"):
        return column.removesuffix("_id"), slugs.get((column, value))
    return column, value


def alarms_bulk_assign(*, alarm_ids: list[int], actor, **values) -> int:
    """Set the given fields on every listed alarm; returns how many alarms changed."""
    columns = _validate(values)
    ids = sorted(set(alarm_ids))
    if len(ids) > MAX_ALARMS:
        raise ValidationError({"alarms": f"At most {MAX_ALARMS} alarms at once."})
    data_columns = [c for c in columns if not c.endswith("_source")]
    # Slugs for the audit, by id. Not joined into the locking read: after waiting for a lock, PostgreSQL
    # re-reads the locked alarm row but keeps the joined rows it saw before the wait.
    slugs = {("service_id", pk): slug for pk, slug in Service.objects.values_list("pk", "slug")} | {
        ("owner_team_id", pk): slug for pk, slug in Team.objects.values_list("pk", "slug")
    }
    changed_total = 0
    with transaction.atomic():
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            rows = list(
                Alarm.objects.select_for_update()
                .filter(pk__in=batch, deleted_at__isnull=True)
                .order_by("pk")
                .values("pk", "arn", *data_columns)
            )
            changes = []
            for row in rows:
                changed = [c for c in data_columns if row[c] != columns[c]]
                if not changed:
                    continue
                before = dict(_readable(c, row[c], slugs) for c in changed)
                after = dict(_readable(c, columns[c], slugs) for c in changed)
                changes.append(Change(alarm_id=row["pk"], target=row["arn"], before=before, after=after))
            if changes:
                Alarm.objects.filter(pk__in=[c.alarm_id for c in changes]).update(**columns)
                audit_record(actor=actor, action=BULK_ASSIGN_ACTION, changes=changes)
            changed_total += len(changes)
    return changed_total
