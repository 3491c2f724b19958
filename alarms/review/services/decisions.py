"""Deciding a review's items and signing the review off.

A decision is recorded here, not applied: applying it to AWS is a later step (``apply_status`` stays empty,
"decided, not applied"). Every decision needs a reason; each kind names what else it needs: keep a re-review
date in the future, tune the new setting, demote what to demote to, merge the alarm to merge with. A decision
can be changed until the review is signed off; each one (and each change) is audited on the alarm. Sign-off
needs every item decided; it records a summary and posts it to the team's chat channel once committed.
"""

from __future__ import annotations

import logging
import math
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from alarms.models import Alarm
from alarms.review.choices import Decision, DemoteTo
from alarms.review.models import Review, ReviewItem
from alarms.services.audit import Change, audit_record

logger = logging.getLogger("okami.review")

REASON_MAX = 2000
SETTING_FIELDS = (
    "threshold",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "statistic",
    "comparison_operator",
    "treat_missing_data",
)
COMPARISON_OPERATORS = {
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
}
TREAT_MISSING_DATA = {"breaching", "notBreaching", "ignore", "missing"}
STATISTICS = {"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
# CloudWatch: a period is 10, 20 or 30 seconds or a multiple of 60; the whole evaluation window is at most a
# day for periods under an hour, at most seven days otherwise.
SHORT_PERIODS = {10, 20, 30}
DAY, WEEK = 86_400, 604_800
# Decisions that stop an alarm's notifications: the sign-off projects how many notifications they remove.
REMOVING = {Decision.DEMOTE, Decision.DELETE, Decision.MERGE}


def alarm_setting(alarm: Alarm) -> dict:
    """An alarm's current SETTING (the API's shape)."""
    return {
        "threshold": alarm.threshold,
        "period": alarm.period,
        "evaluation_periods": alarm.evaluation_periods,
        "datapoints_to_alarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
        "statistic": alarm.statistic or alarm.extended_statistic,
        "comparison_operator": alarm.comparison_operator,
        "treat_missing_data": alarm.treat_missing_data or "missing",
    }


def evidence_alert_count(evidence: dict) -> int:
    """How many alerts an item's evidence counts over the review's lookback: its ``alerts`` figure, else the
    sum of its weekly firing counts, else the sum of its outcomes."""
    evidence = evidence if isinstance(evidence, dict) else {}
    for key in ("alerts", "alert_count"):
        value = evidence.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
    outcomes = evidence.get("outcomes")
    for values in (evidence.get("weekly"), list(outcomes.values()) if isinstance(outcomes, dict) else None):
        counts = [_count(value) for value in values or []]
        counts = [n for n in counts if n > 0]
        if counts:
            return sum(counts)
    return 0


def _count(value) -> int:
    if isinstance(value, dict):
        value = value.get("alerts", value.get("count"))
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def item_decide(
    *,
    item: ReviewItem,
    actor,
    decision: str,
    reason: str,
    rereview_on: date | None = None,
    setting: dict | None = None,
    demote_to: str = "",
    merge_with: Alarm | int | None = None,
    notifies: int | None = None,
) -> ReviewItem:
    """Record (or change) the decision on a review item. Raises ``ValidationError`` naming each missing or
    wrong field, or the review when it is signed off already. ``notifies`` (merge only) is the id of the alarm
    that keeps notifying: the item's alarm or ``merge_with`` (the default); it is kept as ``{"notifies": id}``
    in ``setting``."""
    with transaction.atomic():
        locked = (
            ReviewItem.objects.select_for_update(of=("self", "review"))
            .select_related("review", "alarm")
            .get(pk=item.pk)
        )
        if locked.review.signed_off:
            raise ValidationError({"review": "The review is signed off: its decisions can no longer change."})
        if locked.apply_status:
            raise ValidationError({"decision": "This decision is being applied (or was): it can no longer change."})
        values = _clean(locked, decision=decision, reason=reason, rereview_on=rereview_on, setting=setting,
                        demote_to=demote_to, merge_with=merge_with, notifies=notifies)  # fmt: skip
        before = _snapshot(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.decided_by = actor if actor is not None and actor.pk else None
        locked.decided_at = timezone.now()
        locked.save(update_fields=[*values, "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action="review.decision",
            changes=[Change(locked.alarm_id, locked.alarm.arn, before=before, after=_snapshot(locked))],
        )
    return locked


def _clean(item: ReviewItem, *, decision, reason, rereview_on, setting, demote_to, merge_with, notifies) -> dict:
    """The item's new decision fields, or a ValidationError naming every field that is missing or wrong."""
    errors: dict[str, str] = {}
    if decision not in Decision.values:
        raise ValidationError({"decision": f"One of: {', '.join(Decision.values)}."})
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Say why: every decision records its reason."
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"At most {REASON_MAX} characters."
    values = {"decision": decision, "reason": reason, "rereview_on": None, "setting": None, "demote_to": "",
              "merge_with": None}  # fmt: skip
    if decision == Decision.KEEP:
        if rereview_on is None:
            errors["rereview_on"] = "A kept alarm needs a re-review date."
        elif not isinstance(rereview_on, date) or rereview_on <= timezone.localdate():
            errors["rereview_on"] = "The re-review date must be in the future."
        values["rereview_on"] = rereview_on
    elif decision == Decision.TUNE:
        try:
            values["setting"] = setting_clean(setting, alarm=item.alarm)
        except ValidationError as error:
            errors["setting"] = " ".join(error.messages)
    elif decision == Decision.DEMOTE:
        if not demote_to:
            errors["demote_to"] = f"Say what to demote to: one of {', '.join(DemoteTo.values)}."
        elif demote_to not in DemoteTo.values:
            errors["demote_to"] = f"One of: {', '.join(DemoteTo.values)}."
        elif demote_to == DemoteTo.DISABLE_ACTIONS and not item.alarm.actions_enabled:
            errors["demote_to"] = "Its actions are disabled already."
        elif demote_to in (DemoteTo.TICKET, DemoteTo.INFO) and item.alarm.tier == demote_to:
            errors["demote_to"] = f"It is tier {demote_to} already."
        values["demote_to"] = demote_to
    elif decision == Decision.MERGE:
        partner, message = _merge_partner(item, merge_with)
        if message:
            errors["merge_with"] = message
        elif notifies not in (None, item.alarm_id, partner.pk):
            errors["notifies"] = "The alarm that keeps notifying is this one or the one it merges with."
        else:
            values["merge_with"] = partner
            values["setting"] = {"notifies": notifies or partner.pk}
    if errors:
        raise ValidationError(errors)
    return values


def _merge_partner(item: ReviewItem, merge_with) -> tuple[Alarm | None, str]:
    if merge_with in (None, ""):
        return None, "Name the alarm to merge with."
    partner_id = merge_with.pk if isinstance(merge_with, Alarm) else merge_with
    try:
        partner_id = int(partner_id)
    except (TypeError, ValueError):
        return None, "An alarm id."
    if partner_id == item.alarm_id:
        return None, "An alarm cannot merge with itself."
    partner = Alarm.objects.filter(pk=partner_id).first()
    if partner is None:
        return None, f"There is no alarm {partner_id}."
    if partner.is_deleted:
        return None, f"Alarm {partner.name} is deleted."
    return partner, ""


def setting_clean(setting, *, alarm: Alarm) -> dict:
    """A tune decision's new SETTING: the given fields (numbers may come as text, from a form) over the alarm's
    current ones, checked as CloudWatch would, and different from what the alarm has now."""
    if alarm.alarm_type != "metric":
        raise ValidationError("A composite alarm has no threshold or period to tune.")
    if not setting or not isinstance(setting, dict):
        raise ValidationError("Give the new setting: threshold, period, evaluation periods, datapoints to alarm.")
    unknown = sorted(set(setting) - set(SETTING_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(unknown)}.")
    given = {key: value for key, value in setting.items() if value not in (None, "")}
    current = alarm_setting(alarm)
    new = {**current, **given}
    problems = []
    new["threshold"] = _number(new["threshold"], "threshold", problems)
    for name in ("period", "evaluation_periods", "datapoints_to_alarm"):
        new[name] = _positive_int(new[name], name, problems)
    if problems:
        raise ValidationError(problems)
    period, periods, points = new["period"], new["evaluation_periods"], new["datapoints_to_alarm"]
    if period not in SHORT_PERIODS and period % 60:
        problems.append("period: 10, 20, 30 or a multiple of 60 seconds.")
    if points > periods:
        problems.append("datapoints_to_alarm: at most evaluation_periods (M of N).")
    if period * periods > (DAY if period < 3600 else WEEK):
        problems.append("evaluation_periods times period: at most a day (periods under an hour) or seven days.")
    for name, allowed in (("comparison_operator", COMPARISON_OPERATORS), ("treat_missing_data", TREAT_MISSING_DATA)):
        if new[name] not in allowed:
            problems.append(f"{name}: one of {', '.join(sorted(allowed))}.")
    statistic = str(new["statistic"] or "")
    if not statistic or len(statistic) > 64 or (statistic not in STATISTICS and not statistic[:1].isalpha()):
        problems.append(f"statistic: one of {', '.join(sorted(STATISTICS))} or a percentile such as p99.")
    new["statistic"] = statistic
    if problems:
        raise ValidationError(problems)
    if new == {**current, "threshold": _loose(current["threshold"])}:
        raise ValidationError("It is the alarm's current setting: change something, or keep the alarm.")
    return new


def _loose(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _number(value, name: str, problems: list) -> float | None:
    if isinstance(value, bool):
        value = None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append(f"{name}: a number.")
        return None
    if not math.isfinite(number):
        problems.append(f"{name}: a finite number.")
        return None
    return number


def _positive_int(value, name: str, problems: list) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.append(f"{name}: a whole number of at least 1.")
        return None
    return value


def _snapshot(item: ReviewItem) -> dict:
    return {
        "review": item.review_id,
        "item": item.pk,
        "rule": item.rule,
        "decision": item.decision,
        "reason": item.reason,
        "rereview_on": item.rereview_on.isoformat() if item.rereview_on else None,
        "setting": item.setting,
        "demote_to": item.demote_to,
        "merge_with": item.merge_with_id,
    }


def review_sign_off(*, review: Review, actor) -> Review:
    """Sign the review off: every item must have a decision. Records the summary (counts by decision and by
    rule, and the notifications the decisions would remove) and posts it to the team's chat channel after the
    commit; a chat failure is logged and never undoes the sign-off."""
    with transaction.atomic():
        locked = Review.objects.select_for_update(of=("self",)).select_related("team").get(pk=review.pk)
        if locked.signed_off:
            raise ValidationError({"review": "The review is signed off already."})
        undecided = locked.items.filter(decision="").count()
        if undecided:
            noun = "item has" if undecided == 1 else "items have"
            raise ValidationError({"items": f"{undecided} {noun} no decision yet: decide every item first."})
        locked.signed_off_by = actor if actor is not None and actor.pk else None
        locked.signed_off_at = timezone.now()
        locked.summary = _summary(locked, actor)
        locked.save(update_fields=["signed_off_by", "signed_off_at", "summary"])
        audit_record(
            actor=actor,
            action="review.sign_off",
            changes=[Change(None, f"review:{locked.pk}", before={"signed_off_at": None},
                            after={"signed_off_at": locked.signed_off_at.isoformat(), **locked.summary})],
        )  # fmt: skip
        review_id = locked.pk
        transaction.on_commit(lambda: review_summary_post(review_id=review_id))
    return locked


def _summary(review: Review, actor) -> dict:
    decisions = {value: 0 for value in Decision.values}
    rules: dict[str, dict[str, int]] = {}
    for rule, decision, count in review.items.values_list("rule", "decision").annotate(n=Count("id")).order_by():
        decisions[decision] = decisions.get(decision, 0) + count
        per_rule = rules.setdefault(rule, {"items": 0})
        per_rule["items"] += count
        per_rule[decision] = per_rule.get(decision, 0) + count
    # An alarm may be an item under several rules: its alerts count once.
    removed: dict[int, int] = {}
    for alarm_id, evidence in review.items.filter(decision__in=REMOVING).values_list("alarm_id", "evidence"):
        removed[alarm_id] = max(removed.get(alarm_id, 0), evidence_alert_count(evidence))
    return {
        "items": sum(decisions.values()),
        "decisions": decisions,
        "rules": rules,
        "alarms_silenced": len(removed),
        "notifications_removed": sum(removed.values()),
        "lookback_days": review.lookback_days,
        "signed_off_by": actor.get_username() if actor is not None else "",
    }


def review_summary_text(review: Review) -> str:
    """One paragraph: what the reviewers decided and what it saves."""
    summary = review.summary or {}
    counts = summary.get("decisions") or {}
    decided = ", ".join(f"{label.lower()} {counts[value]}" for value, label in Decision.choices if counts.get(value))
    items = summary.get("items", 0)
    text = (
        f"Weekly review of {review.team.name}, {review.week}, signed off by {summary.get('signed_off_by') or 'someone'}"
        f": {items} item{'s' if items != 1 else ''}"
    )
    text += f" ({decided})." if decided else "."
    removed, days = summary.get("notifications_removed", 0), summary.get("lookback_days", review.lookback_days)
    text += (
        f" Once applied, the decisions would have removed {removed} notification{'s' if removed != 1 else ''}"
        f" over the last {days} days."
    )
    return text


def review_summary_post(*, review_id: int) -> bool:
    """Post a signed-off review's summary to its team's chat channel. Never raises: a failure is logged."""
    from alarms.review.messages import review_summary_message
    from incidents.chat.notifier import notifier

    try:
        review = Review.objects.select_related("team").get(pk=review_id)
        if not review.team.chat_channel:
            logger.info("review %s summary not posted: team %s has no chat channel", review_id, review.team.slug)
            return False
        message = review_summary_message(review, text=review_summary_text(review), base_url=settings.OKAMI_BASE_URL)
        notifier().post(channel=review.team.chat_channel, message=message)
    except Exception:
        logger.exception("review %s summary not posted", review_id)
        return False
    return True
