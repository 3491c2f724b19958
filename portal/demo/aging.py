"""The demo estate's past, where the local AWS cannot keep one.

A real estate's alarms come with their age: CloudWatch reports when an alarm entered its state
(``StateTransitionedTimestamp``), and a muted alarm has been muted since long before the portal first saw it. The
local AWS created every alarm a minute ago and reports no transition time, so the stuck, muted and orphaned
alarms of the story would all look new, and no review would list them. This gives them the ages their story
implies, once, after the alert history is in:

- an alarm in ALARM whose alert has been open for days entered ALARM when that alert opened;
- an alarm in INSUFFICIENT_DATA mostly waits for its first datapoints (a few days), but one in five has had
  none for two weeks to four months;
- an alarm with its actions disabled was mostly muted during a recent release, but one in eight was muted two to
  ten months ago and forgotten.

Ages are drawn from the alarm's name, so every demo run tells the same story.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery

from alarms.choices import AlarmState
from alarms.models import Alarm
from incidents.models import Alert

# (share of the alarms that are old, their age in days, the others' age in days)
NO_DATA_AGES = (0.2, (15, 120), (1, 10))
MUTED_AGES = (0.125, (61, 300), (1, 45))


@dataclass
class DemoAges:
    in_alarm: int = 0
    no_data: int = 0
    muted: int = 0


def _age(name: str, ages: tuple[float, tuple[int, int], tuple[int, int]]) -> timedelta:
    digest = hashlib.sha256(name.encode()).digest()
    share, old, recent = ages
    low, high = old if digest[0] < share * 256 else recent
    return timedelta(days=low + int.from_bytes(digest[1:5], "big") % (high - low + 1))


@transaction.atomic
def demo_age_estate(*, now: datetime) -> DemoAges:
    """Backdates what the local AWS left empty or new; never touches an alarm AWS gave a transition time."""
    done = DemoAges()
    live = Alarm.objects.filter(deleted_at__isnull=True)
    open_since = Alert.objects.filter(alarm=OuterRef("pk"), closed_at__isnull=True).order_by("opened_at")
    stuck = live.filter(state=AlarmState.ALARM, state_transitioned_at__isnull=True).annotate(
        open_since=Subquery(open_since.values("opened_at")[:1])
    )
    for alarm in stuck.filter(open_since__isnull=False):
        Alarm.objects.filter(pk=alarm.pk).update(state_transitioned_at=alarm.open_since)
        done.in_alarm += 1
    no_data = live.filter(state=AlarmState.INSUFFICIENT_DATA, state_transitioned_at__isnull=True)
    for pk, name in no_data.values_list("pk", "name"):
        since = now - _age(name, NO_DATA_AGES)
        Alarm.objects.filter(pk=pk).update(state_transitioned_at=since)
        done.no_data += 1
    muted = live.filter(actions_enabled=False, actions_disabled_since__gte=now - timedelta(days=1))
    for pk, name in muted.values_list("pk", "name"):
        Alarm.objects.filter(pk=pk).update(actions_disabled_since=now - _age(name, MUTED_AGES))
        done.muted += 1
    return done
