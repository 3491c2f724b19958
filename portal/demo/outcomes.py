"""The demo's outcomes: what the machine and the demo's people said about the alert history.

Once the history is in, the portal's own inference labels the quick alerts transient and the quick twins (a
Lambda's errors and its API's 5XX a few seconds apart: the second) duplicate. Then the demo's people record,
through the audited outcomes service, what a team would have said about the older alerts the inference left:

- a real incident (several alarms of one service in ALARM for a long while together): its first alert had
  customer impact, the others were actioned or duplicates of the first, all acknowledged by the one on call;
- the stuck alarm's alert (in ALARM for weeks): acknowledged, no outcome while it is open;
- a flapping session: its first alert a false positive (the threshold is too tight) or no action needed;
- a longer blip of a managed service (throttling, a backlog): no action needed;
- any other alert that recovered by itself: transient, or a duplicate of the alert of its incident just before.

The alerts of the last few days get no human label: what the inference cannot decide of them (as it cannot in
the running portal either) waits in the inbox. Deterministic for a seed; a second run finds nothing left to do.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from incidents.choices import CustomerImpact, Outcome
from incidents.models import Alert, Incident
from incidents.services.inference import outcomes_infer
from incidents.services.outcomes import alert_acknowledge, alert_outcome_record
from portal.demo.alert_traffic import DEFAULT_SEED, MANAGED

KEEP_UNLABELLED_DAYS = 3
LONG = timedelta(minutes=15)  # a blip is over in minutes; an incident's alarms stay in ALARM far longer
TOGETHER = timedelta(minutes=10)  # the alerts of one failure open within this of each other
FLAP_SESSION = 5  # alerts of one alarm, each within TOGETHER of the one before
RESPONDERS = ("editor", "admin")  # who answers for the teams without members of their own

# What the people wrote.
IMPACT_NOTES = (
    "Customers got errors; rolled back the morning deploy and the errors stopped.",
    "A downstream dependency timed out; failed over to the other region and replayed the queue.",
    "Hot partition on the table after the import job; raised capacity and the backlog drained.",
)
ACTIONED_NOTES = (
    "Restarted the consumers; the backlog drained.",
    "Rolled back with the rest of the incident.",
    "Raised the concurrency limit while the fix went out.",
)
DUPLICATE_NOTE = "Same failure as the alert just before it."
FALSE_POSITIVE_NOTE = "Latency sits on the threshold at peak; the alarm is too tight, not the service slow."
FLAPPING_NOTE = "Flapping around the threshold again; nothing to do."
THROTTLING_NOTE = "Throttling that cleared by itself; the retries absorbed it."
RECOVERED_NOTE = "Recovered by itself before anyone looked."


@dataclass(frozen=True)
class DemoOutcomes:
    """What the alerts carry after the labelling (all alerts, whoever labelled them)."""

    inferred_transient: int
    inferred_duplicate: int
    by_people: int
    acknowledged: int
    left_in_inbox: int  # alerts of the last days nobody labelled
    incidents: int
    grouped: int  # incidents of several alerts
    customer_impact: int  # incidents with customer impact


@dataclass(frozen=True)
class _Step:
    """What one person does about one alert: acknowledge it, record an outcome, or both."""

    alert: Alert
    outcome: str = ""
    note: str = ""
    duplicate_of: Alert | None = None
    acknowledge: bool = False
    paged: bool = False  # part of a real incident: acknowledged within minutes
    responder_of: Alert | None = None  # the alert whose responder answers this one (the incident's first)


def demo_label_outcomes(
    *, now: datetime, keep_unlabelled_days: int = KEEP_UNLABELLED_DAYS, seed: int = DEFAULT_SEED
) -> DemoOutcomes:
    """Infer, then record the people's outcomes for the alerts opened before the last ``keep_unlabelled_days``
    days that nobody has touched yet; returns the figures."""
    outcomes_infer(now=now)
    cutoff = now - timedelta(days=keep_unlabelled_days)
    older = list(
        Alert.objects.filter(opened_at__lt=cutoff).select_related("alarm").order_by("opened_at", "alarm__arn", "pk")
    )
    steps = _decide(older, seed)
    responders = _Responders()
    times = []
    for step in steps:
        rng = _rng(seed, step.alert)
        actor = responders.pick(step.alert, _rng(seed, step.responder_of or step.alert, "who"))
        if step.acknowledge:
            alert_acknowledge(alert=step.alert, actor=actor)
        if step.outcome:
            alert_outcome_record(
                alert=step.alert, outcome=step.outcome, actor=actor, note=step.note, duplicate_of=step.duplicate_of
            )
        times.append(_response_times(step, rng))
    # The demo replays the past: recorded now, these labels would say people took weeks to answer. They take
    # the moments a responder would have answered at, a few minutes after the alert (or its end); the audit
    # entries keep the real time the change was made.
    Alert.objects.bulk_update(times, ["acknowledged_at", "outcome_at", "first_response_at"], batch_size=500)
    return _figures(cutoff)


def _decide(alerts: list[Alert], seed: int) -> list[_Step]:
    """The people's steps for ``alerts`` (in time order) that nobody touched yet, one shape after another."""
    touched = {a.pk for a in alerts if a.outcome_by_id is not None or a.acknowledged_at is not None}
    steps: dict[int, _Step] = {}
    for shape in (_stuck, _incidents, _flapping, _the_rest):
        for step in shape(alerts, seed=seed, skip=touched | set(steps)):
            steps[step.alert.pk] = step
    return sorted(steps.values(), key=lambda s: (s.alert.opened_at, s.alert.pk))


def _stuck(alerts: list[Alert], *, seed: int, skip: set[int]) -> list[_Step]:
    """An alert open for days (the stuck alarm's): someone looked, and it stays open."""
    return [_Step(a, acknowledge=True) for a in alerts if a.closed_at is None and a.pk not in skip]


def _incidents(alerts: list[Alert], *, seed: int, skip: set[int]) -> list[_Step]:
    """Long alerts of one incident opening together: the first had customer impact when several alarms took
    part (else it was actioned); the one on call acknowledged them all and actioned the others or found them
    duplicates of the first (unless the inference already did)."""
    steps = []
    for outbreak in _runs([a for a in alerts if _long(a)], key=lambda a: a.incident_id or -a.pk):
        lead = outbreak[0]
        if any(a.pk in skip for a in outbreak):
            continue
        rng = _rng(seed, lead)
        if len({a.alarm_id for a in outbreak}) > 1:
            steps.append(_Step(lead, Outcome.CUSTOMER_IMPACT, rng.choice(IMPACT_NOTES), acknowledge=True, paged=True))
        else:
            steps.append(_Step(lead, Outcome.ACTIONED, rng.choice(ACTIONED_NOTES), acknowledge=True, paged=True))
        on_call = {"acknowledge": True, "paged": True, "responder_of": lead}
        for alert in outbreak[1:]:
            if alert.outcome:
                continue
            if _rng(seed, alert).random() < 0.6:
                steps.append(_Step(alert, Outcome.ACTIONED, rng.choice(ACTIONED_NOTES), **on_call))
            else:
                steps.append(_Step(alert, Outcome.DUPLICATE, DUPLICATE_NOTE, lead, **on_call))
    return steps


def _flapping(alerts: list[Alert], *, seed: int, skip: set[int]) -> list[_Step]:
    """A session of one alarm's alerts each a few minutes after the last: its first tells what it was (a false
    positive, or nothing to do); the others keep what the inference said."""
    steps = []
    for session in _runs([a for a in alerts if a.closed_at is not None], key=lambda a: a.alarm_id):
        first = session[0]
        if len(session) < FLAP_SESSION or any(a.pk in skip for a in session):
            continue
        rng = _rng(seed, first)
        if rng.random() < 0.5:
            steps.append(_Step(first, Outcome.FALSE_POSITIVE, FALSE_POSITIVE_NOTE, acknowledge=True))
        else:
            steps.append(_Step(first, Outcome.NO_ACTION, FLAPPING_NOTE, acknowledge=rng.random() < 0.5))
    return steps


def _the_rest(alerts: list[Alert], *, seed: int, skip: set[int]) -> list[_Step]:
    """What the inference left, closed: a managed service's longer blip needed no action; an alert opening just
    after another alarm's of its incident is its duplicate; anything else recovered by itself."""
    by_incident = defaultdict(list)
    for alert in alerts:
        if alert.incident_id:
            by_incident[alert.incident_id].append(alert)
    steps = []
    for alert in alerts:
        if alert.outcome or alert.closed_at is None or alert.pk in skip:
            continue
        acknowledge = _rng(seed, alert).random() < 0.3
        if (alert.alarm.namespace, alert.alarm.metric_name) in MANAGED:
            steps.append(_Step(alert, Outcome.NO_ACTION, THROTTLING_NOTE, acknowledge=acknowledge))
            continue
        before = [
            other
            for other in by_incident.get(alert.incident_id, ())
            if other.alarm_id != alert.alarm_id
            and (other.opened_at, other.pk) < (alert.opened_at, alert.pk)
            and alert.opened_at - other.opened_at <= TOGETHER
        ]
        if before:
            steps.append(
                _Step(alert, Outcome.DUPLICATE, DUPLICATE_NOTE, before[0], acknowledge, responder_of=before[0])
            )
        else:
            steps.append(_Step(alert, Outcome.TRANSIENT, RECOVERED_NOTE, acknowledge=acknowledge))
    return steps


def _long(alert: Alert) -> bool:
    return alert.closed_at is not None and alert.closed_at - alert.opened_at >= LONG


def _runs(alerts: list[Alert], *, key) -> list[list[Alert]]:
    """The alerts of each key (in time order) split where one opens more than TOGETHER after the one before."""
    by_key = defaultdict(list)
    for alert in alerts:
        by_key[key(alert)].append(alert)
    runs = []
    for group in by_key.values():
        current = [group[0]]
        for alert in group[1:]:
            if alert.opened_at - current[-1].opened_at > TOGETHER:
                runs.append(current)
                current = []
            current.append(alert)
        runs.append(current)
    return sorted(runs, key=lambda run: (run[0].opened_at, run[0].pk))


def _rng(seed: int, alert: Alert, purpose: str = "") -> random.Random:
    """The same draws for the same alert whatever else the history holds (its alarm and opening, not its id)."""
    return random.Random(f"{seed}|{alert.alarm.arn}|{alert.opened_at.isoformat()}|{purpose}")


def _response_times(step: _Step, rng: random.Random) -> Alert:
    """The alert's acknowledgement, outcome and first response moved to when a responder would have given them:
    the one on call acknowledges a real incident in minutes, anything else within the quarter hour; the outcome
    follows the alert's end (or the acknowledgement) by a few minutes."""
    alert = step.alert
    acknowledged = None
    if step.acknowledge:
        acknowledged = alert.opened_at + timedelta(minutes=rng.uniform(1, 5) if step.paged else rng.uniform(2, 15))
    outcome_at = None
    if step.outcome:
        after = max(alert.closed_at or alert.opened_at, acknowledged or alert.opened_at)
        outcome_at = after + timedelta(minutes=rng.uniform(2, 20))
    first = min(moment for moment in (acknowledged, outcome_at) if moment is not None)
    return Alert(pk=alert.pk, acknowledged_at=acknowledged, outcome_at=outcome_at, first_response_at=first)


class _Responders:
    """Who answers an alert: a member of its alarm's owner team, else the editor or the administrator."""

    def __init__(self):
        users = get_user_model().objects.filter(is_active=True)
        self.members = defaultdict(list)
        found = {u.pk: u for u in users.filter(Q(teams__isnull=False) | Q(username__in=RESPONDERS)).distinct()}
        for team_id, user_id in users.filter(teams__isnull=False).order_by("username").values_list("teams", "pk"):
            self.members[team_id].append(found[user_id])
        self.fallback = sorted((u for u in found.values() if u.get_username() in RESPONDERS), key=lambda u: u.pk)
        if not self.fallback:
            raise ValueError(f"The demo's people ({', '.join(RESPONDERS)}) do not exist: create the demo users first.")

    def pick(self, alert: Alert, rng: random.Random):
        return rng.choice(self.members.get(alert.alarm.owner_team_id) or self.fallback)


def _figures(cutoff: datetime) -> DemoOutcomes:
    alerts = Alert.objects.all()
    return DemoOutcomes(
        inferred_transient=alerts.filter(outcome=Outcome.TRANSIENT, outcome_inferred=True).count(),
        inferred_duplicate=alerts.filter(outcome=Outcome.DUPLICATE, outcome_inferred=True).count(),
        by_people=alerts.filter(outcome_by__isnull=False).count(),
        acknowledged=alerts.filter(acknowledged_at__isnull=False).count(),
        left_in_inbox=alerts.filter(opened_at__gte=cutoff, outcome="").count(),
        incidents=Incident.objects.count(),
        grouped=Incident.objects.annotate(alerts_count=Count("alerts")).filter(alerts_count__gt=1).count(),
        customer_impact=Incident.objects.filter(customer_impact=CustomerImpact.YES).count(),
    )
