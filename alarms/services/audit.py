"""The audit trail: every change to governance data or to AWS is written here, in bulk where possible."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from alarms.models import AuditEntry
from portal.db import insert_rows


@dataclass(frozen=True)
class Change:
    alarm_id: int | None
    target: str
    before: dict
    after: dict


def audit_record(*, actor, action: str, changes: Iterable[Change], system: str = "system") -> int:
    """Write one audit entry per change, all with the same timestamp, in one statement. Without an actor the
    entry names the part of the system that made the change (``system``)."""
    at = timezone.now()
    actor_name = getattr(actor, "get_username", lambda: system)() if actor else system
    actor_id = actor.pk if actor is not None and actor.pk else None
    rows = [
        {
            "actor_id": actor_id,
            "actor_name": actor_name,
            "at": at,
            "action": action,
            "alarm_id": change.alarm_id,
            "target": change.target,
            "before": change.before,
            "after": change.after,
        }
        for change in changes
    ]
    return insert_rows(AuditEntry, rows)
