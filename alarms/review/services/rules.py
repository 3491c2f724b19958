"""The review's rules: which of a team's alarms are candidates, on what evidence, with what suggestion.

A team's review covers the live alarms it owns, plus the alarms of its services that have no owner (those are
``unowned`` candidates, besides whatever else they are). Alert statistics come from ``incidents.selectors``
only, aggregated in the database over the lookback window (settings.OKAMI_REVIEW_LOOKBACK_DAYS). An alarm may
be a candidate for several rules: one candidate per rule.

An alarm decided in an earlier review stays out until its re-review date, or until new evidence: an alert
opened after the decision that nobody acted on and that hurt no customer.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q

from alarms.choices import AlarmState, SignalKind, Tier
from alarms.models import HAS_PURPOSE, Alarm, Team
from alarms.review.choices import Rule
from alarms.review.models import ReviewItem, TeamReviewPolicy
from incidents import selectors as alert_stats

# What each threshold means when settings.OKAMI_REVIEW_RULES leaves it out; every rule may be switched off
# with {"enabled": false} (a team's policy, usually).
DEFAULT_RULES = {
    Rule.NEVER_ACTED_ON: {"min_alerts": 3},
    Rule.DUPLICATE: {"window_seconds": 300, "share": 0.8, "min_alerts": 3},
    Rule.TRANSIENT: {"resolve_seconds": 300, "share": 0.5, "min_alerts": 3},
    Rule.FLAPPING: {"changes": 4, "evaluation_periods": 20, "changes_in_30_minutes": 3},
    Rule.NOISY: {"top_share": 0.05, "days": 10, "per_week": 15, "min_alerts": 3},
    Rule.STUCK: {"warn_days": 5, "act_days": 60},
    Rule.MUTED: {"days": 60},
    Rule.ORPHANED: {"insufficient_days": 14},
    Rule.UNOWNED: {},
    # Only alarms that notify people and cost attention: page tier, or fired this often in the lookback. The
    # rest are coverage's business (its purpose figures), not a weekly list that would drown the rest.
    Rule.NO_PURPOSE: {"min_alerts": 1},
}

# How near the customer an alarm sits, nearest first: what a duplicate pair keeps.
EDGE_NAMESPACES = ("AWS/ApiGateway", "AWS/ApplicationELB")
FUNCTION_NAMESPACES = ("AWS/Lambda",)
STORE_NAMESPACES = ("AWS/DynamoDB", "AWS/SQS", "AWS/Kinesis")
MAX_DATAPOINTS = 10  # the largest datapoints-to-alarm a transient suggestion proposes
MAX_DATAPOINTS_UNACTIONED = 5  # the same, for an alarm nobody ever acted on


@dataclass(frozen=True)
class Candidate:
    """An alarm one rule picked, with its evidence and suggestion (both JSON-safe), as a review item stores
    them."""

    alarm_id: int
    rule: str
    evidence: dict = field(default_factory=dict)
    suggestion: dict = field(default_factory=dict)


def review_thresholds(*, team: Team | None = None, policy: dict | None = None) -> dict[str, dict]:
    """The thresholds in force: the defaults, overridden key by key by settings.OKAMI_REVIEW_RULES, then by the
    team's ``TeamReviewPolicy`` (or ``policy`` when given). Unknown rules and keys are ignored; a value must be
    a number (or a boolean for ``enabled``)."""
    if policy is None and team is not None:
        policy = TeamReviewPolicy.objects.filter(team=team).values_list("rules", flat=True).first()
    thresholds = {str(rule): {"enabled": True, **values} for rule, values in DEFAULT_RULES.items()}
    for overrides in (getattr(settings, "OKAMI_REVIEW_RULES", {}), policy or {}):
        for rule, values in overrides.items() if isinstance(overrides, dict) else ():
            if rule not in thresholds or not isinstance(values, dict):
                continue
            for key, value in values.items():
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if (key == "enabled" and isinstance(value, bool)) or (key in thresholds[rule] and number):
                    thresholds[rule][key] = value
    return thresholds


# Alarms nobody claims: no owner, and no service or a service of no team. One team's review takes them, the one
# whose policy says ``reviews_unclaimed`` (platform or SRE, usually); with none, they are only on /coverage/.
UNCLAIMED = Q(owner_team__isnull=True) & (Q(service__isnull=True) | Q(service__team__isnull=True))


def team_alarms(*, team: Team, unclaimed: bool | None = None):
    """The live alarms a team's review covers: owned by the team, or without owner on one of its services; and
    the unclaimed ones when the team's policy takes them (``unclaimed``, when given, saves reading it)."""
    mine = Q(owner_team=team) | Q(owner_team__isnull=True, service__team=team)
    if unclaimed is None:
        unclaimed = TeamReviewPolicy.objects.filter(team=team, reviews_unclaimed=True).exists()
    if unclaimed:
        mine |= UNCLAIMED
    return Alarm.objects.filter(mine, deleted_at__isnull=True)


def candidates(*, team: Team, now: datetime) -> list[Candidate]:
    """Every candidate of the team's review at ``now``, ordered by rule then alarm name. A constant number of
    queries whatever the number of alarms."""
    policy = TeamReviewPolicy.objects.filter(team=team).values("rules", "reviews_unclaimed").first() or {}
    rules = review_thresholds(policy=policy.get("rules") or {})
    lookback = timedelta(days=settings.OKAMI_REVIEW_LOOKBACK_DAYS)
    since = now - lookback
    alarms = {
        alarm.pk: alarm
        for alarm in team_alarms(team=team, unclaimed=policy.get("reviews_unclaimed", False))
        .annotate(purposeful=ExpressionWrapper(HAS_PURPOSE, BooleanField()))
        .only(
            "id", "name", "namespace", "metric_name", "signal_kind", "tier", "owner_team", "service", "state",
            "state_transitioned_at", "actions_enabled", "actions_disabled_since", "configuration_updated_at",
            "period", "evaluation_periods", "datapoints_to_alarm", "orphaned", "alarm_type", "alarm_actions",
        )
    }  # fmt: skip
    if not alarms:
        return []
    alarms = _without_decided(alarms, now=now, since=since)
    ids = list(alarms)
    if not ids:
        return []
    resolve = timedelta(seconds=rules[Rule.TRANSIENT]["resolve_seconds"])
    stats = alert_stats.alarm_alert_stats(alarm_ids=ids, since=since, until=now, resolve_within=resolve)
    weekly = alert_stats.alarm_weekly_alerts(alarm_ids=ids, since=since, until=now)
    context = _Context(now=now, since=since, rules=rules, alarms=alarms, stats=stats, weekly=weekly)

    found = []
    for check in (_never_acted_on, _duplicate, _transient, _flapping, _noisy):
        if rules[check.rule]["enabled"]:
            found += check(context)
    for alarm in alarms.values():
        for check in (_stuck, _muted, _orphaned, _unowned, _no_purpose):
            if rules[check.rule]["enabled"] and (candidate := check(context, alarm)):
                found.append(candidate)
    order = {rule: i for i, rule in enumerate(Rule.values)}
    return sorted(found, key=lambda c: (order[c.rule], alarms[c.alarm_id].name, c.alarm_id))


def _without_decided(alarms: dict, *, now: datetime, since: datetime) -> dict:
    """The alarms minus those decided in an earlier review that are not due again: one query for the latest
    decision of each, one for their last alert nobody acted on."""
    decided = (
        ReviewItem.objects.filter(alarm_id__in=list(alarms), decided_at__isnull=False)
        .exclude(decision="")
        .order_by("alarm_id", "-decided_at", "-id")
        .values_list("alarm_id", "decided_at", "rereview_on")
    )
    latest: dict[int, tuple] = {}
    for alarm_id, decided_at, rereview_on in decided:
        latest.setdefault(alarm_id, (decided_at, rereview_on))
    if not latest:
        return alarms
    earliest = min(decided_at for decided_at, _ in latest.values())
    stats = alert_stats.alarm_alert_stats(
        alarm_ids=list(latest), since=min(earliest, since), until=now, resolve_within=timedelta(0)
    )
    today = now.date()
    hidden = set()
    for alarm_id, (decided_at, rereview_on) in latest.items():
        last = stats.get(alarm_id)
        new_evidence = last is not None and last.last_unactioned_alert_at is not None
        new_evidence = new_evidence and last.last_unactioned_alert_at > decided_at
        due = rereview_on is not None and rereview_on <= today
        if not (due or new_evidence):
            hidden.add(alarm_id)
    return {pk: alarm for pk, alarm in alarms.items() if pk not in hidden}


@dataclass
class _Context:
    now: datetime
    since: datetime
    rules: dict
    alarms: dict
    stats: dict
    weekly: dict

    def evidence(self, alarm_id: int, **extra) -> dict:
        """What every candidate shows: alerts in the window, week by week, by outcome, how many resolved by
        themselves, and how fast someone answered."""
        stats = self.stats.get(alarm_id, alert_stats.AlarmAlertStats())
        figures = {key: _json(value) for key, value in asdict(stats).items()}
        figures.update(
            self_resolved_share=_round(stats.self_resolved_share),
            real=stats.real,
            weekly=[{"week": week, "alerts": n} for week, n in self.weekly.get(alarm_id, {}).items()],
            since=self.since.isoformat(),
            until=self.now.isoformat(),
        )
        return {**figures, **extra}


def _rule(name):
    def mark(function):
        function.rule = name
        return function

    return mark


def _nobody_acted(context: _Context, alarm_id: int) -> bool:
    """The never-acted-on condition: enough alerts in the window, none actioned or with customer impact."""
    stats = context.stats.get(alarm_id)
    return bool(stats and stats.alerts >= context.rules[Rule.NEVER_ACTED_ON]["min_alerts"] and stats.real == 0)


@_rule(Rule.NEVER_ACTED_ON)
def _never_acted_on(context: _Context) -> list[Candidate]:
    found = []
    for alarm_id, stats in context.stats.items():
        if _nobody_acted(context, alarm_id):
            alarm = context.alarms[alarm_id]
            demote = alarm.tier == Tier.PAGE or alarm.signal_kind == SignalKind.SYMPTOM
            text = f"{stats.alerts} alerts in {(context.now - context.since).days} days and nobody acted on any: " + (
                "stop it notifying people (demote it)." if demote else "remove it, or demote it to a dashboard."
            )
            suggestion = {"action": "demote" if demote else "remove", "text": text}
            found.append(Candidate(alarm_id, Rule.NEVER_ACTED_ON, context.evidence(alarm_id), suggestion))
    return found


def customer_distance(alarm: Alarm) -> tuple[int, int]:
    """How far from the customer an alarm sits, smaller nearer: a symptom before a cause, then an edge API
    (API Gateway, load balancer) before a function (Lambda) before anything else before a data store or queue
    (DynamoDB, SQS, Kinesis)."""
    signal = {SignalKind.SYMPTOM: 0, "": 1, SignalKind.CAUSE: 2}.get(alarm.signal_kind, 1)
    if alarm.namespace in EDGE_NAMESPACES:
        place = 0
    elif alarm.namespace in FUNCTION_NAMESPACES:
        place = 1
    elif alarm.namespace in STORE_NAMESPACES:
        place = 3
    else:
        place = 2
    return signal, place


@_rule(Rule.DUPLICATE)
def _duplicate(context: _Context) -> list[Candidate]:
    """An alarm whose alerts open with another alarm's of its service, share counted against that one partner
    (the one to merge with), is a candidate unless it is the nearer to the customer of the two (on a tie, the
    older alarm stays)."""
    threshold = context.rules[Rule.DUPLICATE]
    window = timedelta(seconds=threshold["window_seconds"])
    ids = [pk for pk, stats in context.stats.items() if stats.alerts >= threshold["min_alerts"]]
    if not ids:
        return []
    cofiring = alert_stats.alarm_cofiring(alarm_ids=ids, since=context.since, until=context.now, window=window)
    pairs = {pk: c for pk, c in cofiring.items() if c.partner_id and c.partner_share >= threshold["share"]}
    if not pairs:
        return []
    partners = Alarm.objects.in_bulk({c.partner_id for c in pairs.values()})
    found = []
    for alarm_id, pair in pairs.items():
        alarm, partner = context.alarms[alarm_id], partners.get(pair.partner_id)
        if partner is None or (customer_distance(alarm), alarm.pk) < (customer_distance(partner), partner.pk):
            continue
        evidence = context.evidence(
            alarm_id,
            partner_alarm_id=partner.pk,
            partner_alarm_name=partner.name,
            alerts_with_partner=pair.with_partner,
            partner_share=_round(pair.partner_share),
            alerts_with_any=pair.with_any,
            any_share=_round(pair.share),
            window_seconds=threshold["window_seconds"],
        )
        # The alarm to keep may be noise too: say so, or the review tells a team to keep what it also flags.
        partner_idle = _nobody_acted(context, partner.pk)
        evidence["partner_never_acted_on"] = partner_idle
        minutes = threshold["window_seconds"] / 60
        suggestion = {
            "action": "merge",
            "text": (
                f"{pair.with_partner} of its {pair.alerts} alerts opened within {minutes:g} minutes of an alert of "
                f"{partner.name}, which is nearer the customer: keep {partner.name}, demote this one or merge "
                "it into it."
                + (
                    f" Nobody acted on an alert of {partner.name} either: if the pair only ever fired on noise, "
                    "neither needs to notify."
                    if partner_idle
                    else ""
                )
            ),
            "keep_alarm_id": partner.pk,
            "keep_alarm_name": partner.name,
            "merge_with": partner.pk,
        }
        found.append(Candidate(alarm_id, Rule.DUPLICATE, evidence, suggestion))
    return found


@_rule(Rule.TRANSIENT)
def _transient(context: _Context) -> list[Candidate]:
    threshold = context.rules[Rule.TRANSIENT]
    ids = [
        pk
        for pk, stats in context.stats.items()
        if stats.alerts >= threshold["min_alerts"] and (stats.self_resolved_share or 0) >= threshold["share"]
    ]
    if not ids:
        return []
    periods = alert_stats.alarm_alert_periods(alarm_ids=ids, since=context.since, until=context.now, cap=MAX_DATAPOINTS)
    found = []
    for alarm_id in ids:
        alarm, stats = context.alarms[alarm_id], context.stats[alarm_id]
        setting = transient_setting(alarm=alarm, histogram=periods.get(alarm_id, {}))
        minutes = threshold["resolve_seconds"] / 60
        text = f"{stats.self_resolved} of its {stats.alerts} alerts resolved by themselves within {minutes:g} minutes"
        suggestion = {"action": "tune"}
        if setting:
            suggestion.update(setting)
            text += (
                f": alarming on {setting['datapoints_to_alarm']} of {setting['evaluation_periods']} periods would "
                f"have removed {setting['alerts_removed']} of them"
                + (" and kept every alert someone acted on." if stats.real else ".")
            )
        else:
            text += ": no datapoints-to-alarm change would remove them and keep the alerts someone acted on; tune "
            text += "its threshold or statistic."
        suggestion["text"] = text
        evidence = context.evidence(alarm_id, resolve_seconds=threshold["resolve_seconds"])
        found.append(Candidate(alarm_id, Rule.TRANSIENT, evidence, suggestion))
    return found


def transient_setting(*, alarm: Alarm, histogram: dict[int, tuple[int, int]]) -> dict | None:
    """The datapoints-to-alarm (M of N) that would have suppressed its short alerts, or None when none helps.

    An alert that lasted d seconds stayed in breach for floor(d / period) whole periods; with M datapoints to
    alarm an alert needs M of them, so the alerts of fewer are suppressed. With real (actioned or customer
    impacting) alerts, M is the largest that keeps all of them (at most 10); without, the smallest that removes
    as many as M = 5 would. N becomes max(M, the current N). None when M is no more than the current M."""
    if not alarm.period or not histogram:
        return None
    current_m = alarm.datapoints_to_alarm or alarm.evaluation_periods or 1
    current_n = alarm.evaluation_periods or current_m
    real = [k for k, (_, n_real) in histogram.items() if n_real]
    if real:
        m = min(min(real), MAX_DATAPOINTS)
    else:

        def removed(m):
            return sum(n for k, (n, _) in histogram.items() if k < m)

        most = removed(MAX_DATAPOINTS_UNACTIONED)
        m = next(m for m in range(1, MAX_DATAPOINTS_UNACTIONED + 1) if removed(m) == most)
    alerts_removed = sum(n for k, (n, _) in histogram.items() if k < m)
    if m <= current_m or not alerts_removed:
        return None
    return {
        "datapoints_to_alarm": m,
        "evaluation_periods": max(m, current_n),
        "period": alarm.period,
        "current": {"datapoints_to_alarm": current_m, "evaluation_periods": current_n},
        "alerts_removed": alerts_removed,
        "real_alerts_kept": sum(n_real for _, n_real in histogram.values()),
    }


@_rule(Rule.FLAPPING)
def _flapping(context: _Context) -> list[Candidate]:
    """At least ``changes`` state changes within ``evaluation_periods`` periods of the alarm, or at least
    ``changes_in_30_minutes`` within 30 minutes, anywhere in the window."""
    threshold = context.rules[Rule.FLAPPING]
    bursts = alert_stats.alarm_state_change_counts(
        alarm_ids=list(context.alarms), since=context.since, until=context.now, periods=threshold["evaluation_periods"]
    )
    found = []
    for alarm_id, burst in bursts.items():
        by_periods = burst.max_in_periods >= threshold["changes"]
        by_minutes = burst.max_in_30_minutes >= threshold["changes_in_30_minutes"]
        if not (by_periods or by_minutes):
            continue
        evidence = context.evidence(
            alarm_id,
            state_changes=burst.changes,
            max_changes_in_30_minutes=burst.max_in_30_minutes,
            max_changes_in_evaluation_periods=burst.max_in_periods,
            evaluation_periods=threshold["evaluation_periods"],
        )
        text = (
            f"Up to {burst.max_in_30_minutes} state changes within 30 minutes and {burst.max_in_periods} within "
            f"{threshold['evaluation_periods']} evaluation periods: it flaps; require more datapoints to alarm or "
            "move its threshold away from the metric's usual level."
        )
        found.append(Candidate(alarm_id, Rule.FLAPPING, evidence, {"action": "tune", "text": text}))
    return found


@_rule(Rule.NOISY)
def _noisy(context: _Context) -> list[Candidate]:
    """In the top ``top_share`` of the estate's live alarms by alerts over ``days``, or more than ``per_week``
    alerts in the last 7 days; never with fewer than ``min_alerts`` over ``days``."""
    threshold = context.rules[Rule.NOISY]
    recent = context.now - timedelta(days=threshold["days"])
    ids = list(context.alarms)
    counts = alert_stats.alarm_alert_counts(alarm_ids=ids, since=recent, until=context.now)
    if not counts:
        return []
    week = alert_stats.alarm_alert_counts(alarm_ids=ids, since=context.now - timedelta(days=7), until=context.now)
    top = alert_stats.alert_count_top_share(since=recent, until=context.now, top_share=threshold["top_share"])
    found = []
    for alarm_id, n in counts.items():
        in_top = top is not None and n >= top
        weekly = week.get(alarm_id, 0) > threshold["per_week"]
        if n < threshold["min_alerts"] or not (in_top or weekly):
            continue
        evidence = context.evidence(
            alarm_id,
            recent_days=threshold["days"],
            recent_alerts=n,
            top_share=threshold["top_share"],
            top_share_min_alerts=top,
            last_7_days_alerts=week.get(alarm_id, 0),
        )
        reasons = []
        if in_top:
            reasons.append(
                f"among the noisiest {threshold['top_share']:.0%} of alarms ({n} alerts in {threshold['days']} days)"
            )
        if weekly:
            reasons.append(f"{week[alarm_id]} alerts in the last 7 days")
        text = "Noisy: " + " and ".join(reasons) + ". Review whether each of these alerts needed a person."
        found.append(Candidate(alarm_id, Rule.NOISY, evidence, {"action": "review", "text": text}))
    return found


@_rule(Rule.STUCK)
def _stuck(context: _Context, alarm: Alarm) -> Candidate | None:
    threshold = context.rules[Rule.STUCK]
    since = alarm.state_transitioned_at
    if alarm.state != AlarmState.ALARM or since is None:
        return None
    days = (context.now - since).days
    if days < threshold["warn_days"]:
        return None
    level = "act" if days >= threshold["act_days"] else "warn"
    evidence = context.evidence(
        alarm.pk, state=alarm.state, in_state_since=since.isoformat(), days_in_state=days, level=level,
        warn_days=threshold["warn_days"], act_days=threshold["act_days"],
    )  # fmt: skip
    text = (
        f"In ALARM for {days} days: an alarm that never clears tells nobody anything. Fix what it sees, or remove it."
    )
    return Candidate(alarm.pk, Rule.STUCK, evidence, {"action": "fix_or_remove", "text": text, "level": level})


@_rule(Rule.MUTED)
def _muted(context: _Context, alarm: Alarm) -> Candidate | None:
    """Actions disabled for ``days``: since the sync first saw them disabled, or, for an alarm muted before
    the portal tracked that, since its configuration last changed (when AWS says it was muted at the latest)."""
    threshold = context.rules[Rule.MUTED]
    since = alarm.actions_disabled_since or alarm.configuration_updated_at
    if alarm.actions_enabled or since is None:
        return None
    days = (context.now - since).days
    if days < threshold["days"]:
        return None
    evidence = context.evidence(
        alarm.pk, muted_since=since.isoformat(), days_muted=days,
        muted_since_source="actions_disabled_since" if alarm.actions_disabled_since else "configuration_updated_at",
    )  # fmt: skip
    text = f"Its actions have been disabled for {days} days: nobody hears it. Re-enable them or remove the alarm."
    return Candidate(alarm.pk, Rule.MUTED, evidence, {"action": "re_enable_or_remove", "text": text})


@_rule(Rule.ORPHANED)
def _orphaned(context: _Context, alarm: Alarm) -> Candidate | None:
    """The watched resource is gone (the catalog's links flag it), or INSUFFICIENT_DATA for
    ``insufficient_days``."""
    threshold = context.rules[Rule.ORPHANED]
    since = alarm.state_transitioned_at
    days = (context.now - since).days if since else None
    no_data = (
        alarm.state == AlarmState.INSUFFICIENT_DATA and days is not None and days >= threshold["insufficient_days"]
    )
    if not (alarm.orphaned or no_data):
        return None
    evidence = context.evidence(
        alarm.pk, resource_gone=alarm.orphaned, state=alarm.state,
        in_state_since=since.isoformat() if since else None, days_in_state=days,
    )  # fmt: skip
    if alarm.orphaned:
        text = "The resource it watches no longer exists: remove it."
    else:
        text = f"No data for {days} days: what it watches is probably gone. Remove it."
    return Candidate(alarm.pk, Rule.ORPHANED, evidence, {"action": "remove", "text": text})


@_rule(Rule.UNOWNED)
def _unowned(context: _Context, alarm: Alarm) -> Candidate | None:
    """No owner, and it notifies: someone is told and nobody answers for it. A silent one is coverage's."""
    if alarm.owner_team_id is not None or not (alarm.actions_enabled and alarm.alarm_actions):
        return None
    text = "No team owns it: assign an owner, or nobody answers for its notifications."
    return Candidate(alarm.pk, Rule.UNOWNED, context.evidence(alarm.pk), {"action": "assign_owner", "text": text})


@_rule(Rule.NO_PURPOSE)
def _no_purpose(context: _Context, alarm: Alarm) -> Candidate | None:
    if alarm.purposeful or not alarm.actions_enabled:
        return None
    stats = context.stats.get(alarm.pk)
    fired = stats.alerts if stats is not None else 0
    if alarm.tier != Tier.PAGE and fired < context.rules[Rule.NO_PURPOSE]["min_alerts"]:
        return None
    text = "Nobody wrote what it detects, the customer impact and the expected action: write its purpose."
    return Candidate(alarm.pk, Rule.NO_PURPOSE, context.evidence(alarm.pk), {"action": "write_purpose", "text": text})


def _json(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 1)
    return value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
