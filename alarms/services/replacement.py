"""Identity across replacement: an alarm that CloudFormation replaced (a new name, the same purpose) keeps
what people decided about it.

After an alarm sync of an (account, region), each alarm that disappeared in this or the previous sync is
linked to one that appeared in the same window when they are the same alarm by

1. the stack (``stack_name``) and the ``aws:cloudformation:logical-id`` tag, else
2. the definition: namespace, metric name, dimensions, comparison operator and metric-math queries (for a
   composite alarm: its rule),

and only when the match is unambiguous: exactly one candidate each way. An alarm a person unlinked
(``replacement_dismissed``) is never linked again. The new alarm takes over the governance of the old one
where its own value is empty and no person set it; every link, carry and unlink is audited, and an unlink
reverts the carried values nobody changed since.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min

from alarms.choices import AlarmType, AssignmentSource, SyncKind, SyncStatus
from alarms.models import GOVERNANCE_FIELDS, Alarm, AuditEntry, AwsAccount, Service, SyncRun, Team
from alarms.services.audit import Change, audit_record
from alarms.services.bulk import BULK_ASSIGN_ACTION
from alarms.services.governance import GOVERNANCE_ACTION
from alarms.services.suggested_purpose import ACCEPT_ACTION

logger = logging.getLogger(__name__)

LOGICAL_ID_TAG = "aws:cloudformation:logical-id"
FOREIGN_KEYS = {"service": Service, "owner_team": Team}
SOURCES = {"service": "service_source", "owner_team": "owner_team_source"}
# Audit actions by which a person sets governance: a field they set (even to empty) is never carried over.
PERSON_ACTIONS = (GOVERNANCE_ACTION, BULK_ASSIGN_ACTION, ACCEPT_ACTION)  # audit actions of a person's choice
CARRIED_FROM = "carried_from"
MATCH_COLUMNS = (
    "pk",
    "arn",
    "alarm_type",
    "stack_name",
    "tags",
    "namespace",
    "metric_name",
    "dimensions",
    "comparison_operator",
    "metrics",
    "alarm_rule",
)


@dataclass(frozen=True)
class ReplacementSummary:
    linked: int = 0
    carried: int = 0  # new alarms that took over some governance


def _window(account: AwsAccount, region: str) -> tuple[datetime, datetime] | None:
    """Since when an alarm counts as disappeared, and since when as appeared: the start of the previous
    successful sync of the key, and never during the first one (its alarms were there before we looked)."""
    runs = SyncRun.objects.filter(account=account, region=region, kind=SyncKind.ALARMS, status=SyncStatus.SUCCEEDED)
    recent = list(runs.order_by("-started_at").values_list("started_at", flat=True)[:2])
    if len(recent) < 2:
        return None
    first_done = runs.aggregate(first=Min("finished_at"))["first"]
    return recent[1], max(recent[1], first_done or recent[1])


def _logical_id(row: dict) -> tuple | None:
    logical_id = (row["tags"] or {}).get(LOGICAL_ID_TAG)
    return ("stack", row["stack_name"], logical_id) if row["stack_name"] and logical_id else None


def _definition(row: dict) -> tuple | None:
    if row["alarm_type"] == AlarmType.COMPOSITE:
        return ("rule", row["alarm_rule"]) if row["alarm_rule"] else None
    if not (row["metric_name"] or row["metrics"]):
        return None
    return (
        "metric",
        row["namespace"],
        row["metric_name"],
        json.dumps(row["dimensions"] or {}, sort_keys=True),
        row["comparison_operator"],
        json.dumps(row["metrics"] or [], sort_keys=True),
    )


def _unambiguous(gone: list[dict], new: list[dict], key: Callable[[dict], tuple | None]) -> list[tuple[dict, dict]]:
    """Pairs whose key is shared by exactly one disappeared and exactly one appeared alarm."""
    olds: dict[tuple, list[dict]] = defaultdict(list)
    news: dict[tuple, list[dict]] = defaultdict(list)
    for rows, by_key in ((gone, olds), (new, news)):
        for row in rows:
            if (value := key(row)) is not None:
                by_key[value].append(row)
    return [(rows[0], news[value][0]) for value, rows in olds.items() if len(rows) == 1 and len(news[value]) == 1]


def replacement_candidates(gone: list[dict], new: list[dict]) -> list[tuple[dict, dict]]:
    """(old, new) pairs: by stack and logical id first, then by definition among the alarms left."""
    pairs = _unambiguous(gone, new, _logical_id)
    old_ids = {old["pk"] for old, _ in pairs}
    new_ids = {successor["pk"] for _, successor in pairs}
    return pairs + _unambiguous(
        [row for row in gone if row["pk"] not in old_ids],
        [row for row in new if row["pk"] not in new_ids],
        _definition,
    )


def _readable(name: str, value):
    """A governance value as the audit shows it: foreign keys by slug."""
    return getattr(value, "slug", value) if name in FOREIGN_KEYS else value


def _person_set_fields(alarm_ids: list[int]) -> dict[int, set[str]]:
    """The governance fields a person has set on each alarm, from the audit trail (one query)."""
    fields: dict[int, set[str]] = defaultdict(set)
    entries = AuditEntry.objects.filter(alarm_id__in=alarm_ids, action__in=PERSON_ACTIONS, actor__isnull=False)
    for alarm_id, after in entries.values_list("alarm_id", "after"):
        fields[alarm_id].update(after)
    return fields


def _carry(old: Alarm, new: Alarm, person_set: set[str]) -> tuple[dict, dict]:
    """Copy the old alarm's governance onto the new one where the new one's is empty (or only the rules set
    it while a person had chosen the old one's) and no person set it. Returns the audit's before and after."""
    before, after = {}, {}
    for name in GOVERNANCE_FIELDS:
        value, current = getattr(old, name), getattr(new, name)
        source = SOURCES.get(name)
        # A person's choice on the old alarm outranks what the rules gave the successor meanwhile (stacks often
        # create the new alarm a sync before they delete the old one).
        over_rules = (
            source is not None
            and getattr(old, source) == AssignmentSource.MANUAL
            and getattr(new, source) == AssignmentSource.RULE
        )
        if not value or name in person_set or (current and not over_rules):
            continue
        if source and getattr(new, source) == AssignmentSource.MANUAL:
            continue
        before[name], after[name] = _readable(name, current), _readable(name, value)
        setattr(new, name, value)
        if source:
            before[source], after[source] = getattr(new, source), getattr(old, source)
            setattr(new, source, getattr(old, source))
    return before, after


def replacements_link(*, account: AwsAccount, region: str) -> ReplacementSummary:
    """Link the alarms replaced in the latest syncs of (account, region) to their successors and carry
    their governance over. Idempotent: linked, dismissed and ambiguous alarms are left alone."""
    window = _window(account, region)
    if window is None:
        return ReplacementSummary()
    vanished_since, appeared_since = window
    in_key = Alarm.objects.filter(account=account, region=region)
    gone = list(
        in_key.filter(deleted_at__gte=vanished_since, replaced_by__isnull=True, replacement_dismissed=False).values(
            *MATCH_COLUMNS
        )
    )
    if not gone:
        return ReplacementSummary()
    new = list(
        in_key.filter(deleted_at__isnull=True, first_seen_at__gt=appeared_since, replaces__isnull=True).values(
            *MATCH_COLUMNS
        )
    )
    pairs = replacement_candidates(gone, new)
    if not pairs:
        return ReplacementSummary()
    with transaction.atomic():
        ids = [row["pk"] for pair in pairs for row in pair]
        locked = (
            Alarm.objects.select_for_update(of=("self",))
            .select_related("service", "owner_team")
            .order_by("pk")  # the order rules and bulk assignment lock in, so they never deadlock
            .in_bulk(ids)
        )
        person_set = _person_set_fields([successor["pk"] for _, successor in pairs])
        links, carries, olds, news = [], [], [], []
        for old_row, new_row in pairs:
            old, successor = locked[old_row["pk"]], locked[new_row["pk"]]
            if old.replaced_by_id or old.replacement_dismissed:  # settled by someone else meanwhile
                continue
            old.replaced_by = successor
            olds.append(old)
            links.append(Change(old.pk, old.arn, before={"replaced_by": None}, after={"replaced_by": successor.arn}))
            before, after = _carry(old, successor, person_set[successor.pk])
            if after:
                news.append(successor)
                after[CARRIED_FROM] = old.arn
                carries.append(Change(successor.pk, successor.arn, before=before, after=after))
        Alarm.objects.bulk_update(olds, ["replaced_by"])
        if news:
            Alarm.objects.bulk_update(news, [*GOVERNANCE_FIELDS, *SOURCES.values()])
        audit_record(actor=None, action="alarm.replaced", changes=links)
        audit_record(actor=None, action="alarm.carried", changes=carries)
    logger.info(
        "%s/%s: %d replaced alarms linked, %d took over governance", account.account_id, region, len(olds), len(news)
    )
    return ReplacementSummary(linked=len(olds), carried=len(news))


def _slug_lookup(name: str, slug):
    return FOREIGN_KEYS[name].objects.filter(slug=slug).first() if slug else None


def replacement_unlink(*, alarm: Alarm, actor) -> Alarm:
    """Undo a wrong link from ``alarm`` (the replaced one) to its successor: the link is dismissed for good,
    and the values carried over to the successor that nobody changed since go back to what they were."""
    with transaction.atomic():
        old = Alarm.objects.select_for_update(of=("self",)).get(pk=alarm.pk)
        if old.replaced_by_id is None:
            raise ValidationError({"replaced_by": "This alarm is not linked to a replacement."})
        successor = (
            Alarm.objects.select_for_update(of=("self",))
            .select_related("service", "owner_team")
            .get(pk=old.replaced_by_id)
        )
        old.replaced_by, old.replacement_dismissed = None, True
        old.save(update_fields=["replaced_by", "replacement_dismissed"])
        audit_record(
            actor=actor,
            action="alarm.unlinked",
            changes=[
                Change(
                    old.pk,
                    old.arn,
                    before={"replaced_by": successor.arn, "replacement_dismissed": False},
                    after={"replaced_by": None, "replacement_dismissed": True},
                )
            ],
        )
        carried = (
            AuditEntry.objects.filter(alarm=successor, action="alarm.carried", **{f"after__{CARRIED_FROM}": old.arn})
            .order_by("-at", "-id")
            .first()
        )
        if carried is not None:
            _revert_carried(successor, carried, actor)
    return old


def _revert_carried(successor: Alarm, carried: AuditEntry, actor) -> None:
    """Put back the carried values the successor still has; a value someone changed since stays."""
    before, after, changed = {}, {}, []
    for name in GOVERNANCE_FIELDS:
        if name not in carried.after or _readable(name, getattr(successor, name)) != carried.after[name]:
            continue
        previous = carried.before.get(name)
        before[name], after[name] = carried.after[name], previous
        setattr(successor, name, _slug_lookup(name, previous) if name in FOREIGN_KEYS else previous)
        changed.append(name)
        if source := SOURCES.get(name):
            before[source], after[source] = getattr(successor, source), carried.before.get(source, "")
            setattr(successor, source, after[source])
            changed.append(source)
    if not changed:
        return
    successor.save(update_fields=changed)
    before[CARRIED_FROM] = carried.after[CARRIED_FROM]
    audit_record(
        actor=actor,
        action="alarm.carry_reverted",
        changes=[Change(successor.pk, successor.arn, before=before, after=after)],
    )
