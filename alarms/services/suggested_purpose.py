"""Suggested purpose, signal kind and tier: written with the alarm by the sync, accepted by people.

A suggestion comes from what the alarm measures (``alarms/data/metric_library.toml``, read by
``alarms.services.suggestions``). The sync stores it in the ``suggested_*`` columns of every alarm it writes;
a new library (a deploy) is applied by the next refresh to the alarms suggested from the old one. A
suggestion is not a decision: coverage counts accepted purposes only, and accepting one fills only the fields
still empty, never over what a person wrote, and is audited.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Case, F, When

from alarms.models import Alarm, AwsAccount
from alarms.services import suggestions
from alarms.services.audit import Change, audit_record

ACCEPT_ACTION = "alarm.suggestion_accepted"
MAX_ALARMS = 10_000
# What the library reads of a definition; the names of the catalog's columns and of AlarmRecord's fields.
DEFINITION_FIELDS = (
    "alarm_type",
    "namespace",
    "metric_name",
    "dimensions",
    "statistic",
    "extended_statistic",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "threshold",
    "comparison_operator",
    "threshold_metric_id",
    "metrics",
    "name",
)
SUGGESTION_FIELDS = (
    "suggested_detects",
    "suggested_customer_impact",
    "suggested_action",
    "suggested_signal_kind",
    "suggested_tier",
    "suggested_by",
    "suggestion_version",
)
# Each governance field a suggestion fills, with the column it is filled from.
ACCEPTED_FROM = {
    "purpose_detects": "suggested_detects",
    "purpose_customer_impact": "suggested_customer_impact",
    "purpose_action": "suggested_action",
    "signal_kind": "suggested_signal_kind",
    "tier": "suggested_tier",
}


def suggestion_columns(definition) -> dict:
    """The ``suggested_*`` columns for an alarm definition (an AlarmRecord, or anything with its fields)."""
    found = suggestions.suggest(**{name: getattr(definition, name) for name in DEFINITION_FIELDS})
    if found is None:
        return dict.fromkeys(SUGGESTION_FIELDS, "") | {"suggestion_version": suggestions.LIBRARY_VERSION}
    return {
        "suggested_detects": found.detects,
        "suggested_customer_impact": found.customer_impact,
        "suggested_action": found.action,
        "suggested_signal_kind": found.signal_kind,
        "suggested_tier": found.tier,
        "suggested_by": found.entry,
        "suggestion_version": suggestions.LIBRARY_VERSION,
    }


def suggestions_refresh(*, account: AwsAccount, region: str) -> int:
    """Suggest again for the alarms of a key suggested from another library than this one; one query when
    there are none. Returns how many alarms were rewritten."""
    stale = list(
        Alarm.objects.filter(account=account, region=region)
        .exclude(suggestion_version=suggestions.LIBRARY_VERSION)
        .only("pk", *DEFINITION_FIELDS)
    )
    for alarm in stale:
        for name, value in suggestion_columns(alarm).items():
            setattr(alarm, name, value)
    Alarm.objects.bulk_update(stale, SUGGESTION_FIELDS, batch_size=500)
    return len(stale)


def alarms_accept_suggestions(*, alarm_ids: list[int], actor) -> int:
    """Fill the empty purpose, signal kind and tier of the given alarms from their suggestions; returns how
    many alarms changed. A locking read, one UPDATE and one audit insert per batch the database can bind
    (one batch on PostgreSQL)."""
    ids = sorted(set(alarm_ids))
    if len(ids) > MAX_ALARMS:
        raise ValidationError({"alarms": f"At most {MAX_ALARMS} alarms at once."})
    limit = connections[router.db_for_write(Alarm)].features.max_query_params
    batch = (limit - 10) if limit else len(ids) or 1
    changed = 0
    with transaction.atomic():
        for start in range(0, len(ids), batch):
            changed += _accept(ids[start : start + batch], actor)
    return changed


def _accept(ids: list[int], actor) -> int:
    rows = (
        Alarm.objects.select_for_update()
        .filter(pk__in=ids, deleted_at__isnull=True)
        .exclude(suggested_by="")
        .order_by("pk")
        .values("pk", "arn", *ACCEPTED_FROM, *ACCEPTED_FROM.values())
    )
    changes = []
    for row in rows:
        filled = [name for name, source in ACCEPTED_FROM.items() if not row[name] and row[source]]
        if filled:
            changes.append(
                Change(
                    alarm_id=row["pk"],
                    target=row["arn"],
                    before={name: row[name] for name in filled},
                    after={name: row[ACCEPTED_FROM[name]] for name in filled},
                )
            )
    if not changes:
        return 0
    Alarm.objects.filter(pk__in=[c.alarm_id for c in changes]).update(
        **{name: Case(When(**{name: ""}, then=F(source)), default=F(name)) for name, source in ACCEPTED_FROM.items()}
    )
    audit_record(actor=actor, action=ACCEPT_ACTION, changes=changes)
    return len(changes)
