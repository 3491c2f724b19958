"""The replacement chain of an alarm: the alarms it replaced and those that replaced it, nearest first."""

from __future__ import annotations

from dataclasses import dataclass

from alarms.models import Alarm

# A stack replaces an alarm at most once per update; a longer chain than this is not worth a page's queries.
MAX_CHAIN = 10


@dataclass(frozen=True)
class ReplacementChain:
    replaces: list[Alarm]  # the alarm this one directly replaced first, then the one that one replaced…
    replaced_by: list[Alarm]  # the direct successor first

    def __bool__(self) -> bool:
        return bool(self.replaces or self.replaced_by)


def replacement_chain(*, alarm: Alarm) -> ReplacementChain:
    """Walk the links both ways, one small query per step, at most MAX_CHAIN steps each way."""
    replaces: list[Alarm] = []
    current = alarm
    while len(replaces) < MAX_CHAIN:
        current = Alarm.objects.filter(replaced_by=current).only("pk", "name", "deleted_at", "replaced_by").first()
        if current is None:
            break
        replaces.append(current)
    replaced_by: list[Alarm] = []
    next_id = alarm.replaced_by_id
    while next_id is not None and len(replaced_by) < MAX_CHAIN:
        successor = Alarm.objects.filter(pk=next_id).only("pk", "name", "deleted_at", "replaced_by").first()
        if successor is None:
            break
        replaced_by.append(successor)
        next_id = successor.replaced_by_id
    return ReplacementChain(replaces=replaces, replaced_by=replaced_by)
