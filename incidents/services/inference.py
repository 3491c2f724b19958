"""Outcomes nobody gave, inferred from the alerts themselves once a grace period has passed.

An untouched alert (no outcome, no acknowledgement, nobody named) is a *duplicate* when it opened within the
duplicate window after an alert of another alarm of its incident (of the earliest such alert), and otherwise
*transient* when it closed within the transient limit. Limits are per owner team (``TeamAlertPolicy``) with the
portal's settings as the default. Labels are marked inferred; a person may replace them (``outcomes``).

All the work is a few bulk UPDATEs, one per distinct limit value, whatever the number of alerts. Each UPDATE
selects only untouched alerts, so a run is idempotent and a person's label, even one recorded while the run
is under way, is never overwritten (the row lock makes the UPDATE check the row again).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from alarms.models import Alarm
from alarms.services.audit import Change, audit_record
from incidents.choices import Outcome
from incidents.models import Alert, TeamAlertPolicy

logger = logging.getLogger(__name__)

INFER_ACTION = "alert.infer"
UNTOUCHED = Q(outcome="", acknowledged_at__isnull=True, outcome_by__isnull=True)


@dataclass(frozen=True)
class InferenceResult:
    transient: int
    duplicate: int


def outcomes_infer(*, now: datetime | None = None) -> InferenceResult:
    """Label the untouched alerts older than the grace period: duplicates first (an untouched quick twin is a
    duplicate of the alert it follows), then transients."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.OKAMI_INFERENCE_GRACE_SECONDS)
    policies = list(TeamAlertPolicy.objects.values_list("team_id", "duplicate_window_seconds", "transient_max_seconds"))
    windows = _by_team_limit({team: window for team, window, _ in policies}, settings.OKAMI_DUPLICATE_WINDOW_SECONDS)
    limits = _by_team_limit({team: limit for team, _, limit in policies}, settings.OKAMI_TRANSIENT_MAX_SECONDS)
    duplicate = sum(
        _duplicates_label(alerts, window=timedelta(seconds=seconds), cutoff=cutoff, now=now)
        for seconds, alerts in windows
    )
    transient = sum(
        _transients_label(alerts, limit=timedelta(seconds=seconds), cutoff=cutoff, now=now)
        for seconds, alerts in limits
    )
    # Inferred labels are not audited one by one: they are the machine's, marked inferred and replaceable, and
    # any change a person makes to them is audited by the outcomes service. One entry per run that labelled
    # anything records it (the alerts are those inferred with this run's outcome_at).
    if transient or duplicate:
        audit_record(
            actor=None,
            action=INFER_ACTION,
            changes=[
                Change(
                    alarm_id=None,
                    target="alerts",
                    before={},
                    after={"transient": transient, "duplicate": duplicate, "outcome_at": now.isoformat()},
                )
            ],
            system="outcome inference",
        )
    logger.info("outcome inference: %d transient, %d duplicate (before %s)", transient, duplicate, cutoff.isoformat())
    return InferenceResult(transient=transient, duplicate=duplicate)


def _by_team_limit(team_values: dict[int, int | None], default: int) -> list[tuple[int, QuerySet]]:
    """The untouched alerts grouped by the limit of their alarm's owner team: one group per distinct value
    teams chose, and the default for everyone else (alarms without a team included)."""
    teams_by_value: dict[int, list[int]] = defaultdict(list)
    for team_id, value in team_values.items():
        if value is not None and value != default:
            teams_by_value[value].append(team_id)
    untouched = Alert.objects.filter(UNTOUCHED)
    if not teams_by_value:
        return [(default, untouched)]
    overridden = [team_id for team_ids in teams_by_value.values() for team_id in team_ids]
    # exclude() keeps the alarms without a team, which take the default.
    others = untouched.filter(alarm_id__in=_alarm_ids(Alarm.objects.exclude(owner_team_id__in=overridden)))
    return [
        (default, others),
        *(
            (value, untouched.filter(alarm_id__in=_alarm_ids(Alarm.objects.filter(owner_team_id__in=team_ids))))
            for value, team_ids in sorted(teams_by_value.items())
        ),
    ]


def _alarm_ids(alarms: QuerySet) -> Subquery:
    # A semi-join on the alarms: Django would turn an UPDATE filtered through a join into an id IN (…) of the
    # whole joined alert table.
    return Subquery(alarms.order_by().values("pk"))


def _duplicates_label(alerts: QuerySet, *, window: timedelta, cutoff: datetime, now: datetime) -> int:
    # The earlier alerts of other alarms in the same incident that this one opened within the window of; ties
    # on the opening time go to the lower id, so of two simultaneous alerts only the second is a duplicate.
    earlier = (
        Alert.objects.filter(
            incident_id=OuterRef("incident_id"),
            opened_at__lte=OuterRef("opened_at"),
            opened_at__gte=OuterRef("opened_at") - window,
        )
        .exclude(alarm_id=OuterRef("alarm_id"))
        .filter(Q(opened_at__lt=OuterRef("opened_at")) | Q(id__lt=OuterRef("id")))
        .order_by("opened_at", "id")
    )
    return alerts.filter(Exists(earlier), incident__isnull=False, opened_at__lte=cutoff).update(
        outcome=Outcome.DUPLICATE,
        outcome_inferred=True,
        duplicate_of=Subquery(earlier.values("id")[:1]),
        outcome_at=now,
    )


def _transients_label(alerts: QuerySet, *, limit: timedelta, cutoff: datetime, now: datetime) -> int:
    quick = Q(closed_at__lte=F("opened_at") + limit)
    return alerts.filter(quick, closed_at__lte=cutoff).update(
        outcome=Outcome.TRANSIENT, outcome_inferred=True, outcome_at=now
    )
