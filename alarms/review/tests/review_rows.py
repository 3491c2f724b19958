"""A review of a team written straight into the database, its items shaped like the engine's: evidence with
alert counts by outcome and week, suggestions with text (and a setting or partner where the rule has one)."""

from datetime import UTC, datetime

from alarms.review.models import Review, ReviewItem

OPENED = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
RULES = ["never_acted_on", "transient", "duplicate", "noisy", "stuck"]


def evidence(alerts: int, *, actioned: int = 0, transient: int = 0) -> dict:
    weekly = [{"week": f"2026-W{week:02d}", "alerts": alerts // 4 + (1 if week == 10 else 0)} for week in (7, 8, 9, 10)]
    return {
        "alerts": alerts,
        "actioned": actioned,
        "customer_impact": 0,
        "no_action": alerts - actioned - transient,
        "transient": transient,
        "duplicate": 0,
        "false_positive": 0,
        "unlabelled": 0,
        "weekly": weekly,
    }


def suggestion(rule: str, alarm, partner=None) -> dict:
    if rule == "transient":
        return {"action": "tune", "text": "Alarm on 3 of 5 periods.", "datapoints_to_alarm": 3, "evaluation_periods": 5}
    if rule == "duplicate" and partner is not None:
        return {"action": "merge", "text": f"Fires with {partner.name}.", "merge_with": partner.pk}
    if rule == "never_acted_on":
        return {"action": "demote", "text": f"{alarm.name}: nobody acted on any alert."}
    return {"action": "review", "text": f"Look at {alarm.name}."}


def make_review(team, alarms, *, week: str = "2026-W11", partner=None, rules=None) -> tuple[Review, list[ReviewItem]]:
    """A review of ``team`` with one item per alarm, rules taken in turn from ``rules`` (or RULES)."""
    rules = rules or RULES
    review = Review.objects.create(team=team, week=week, opened_at=OPENED, lookback_days=90)
    items = ReviewItem.objects.bulk_create(
        ReviewItem(
            review=review,
            alarm=alarm,
            rule=rules[i % len(rules)],
            evidence=evidence(10 + i, transient=5 if rules[i % len(rules)] == "transient" else 0),
            suggestion=suggestion(rules[i % len(rules)], alarm, partner),
        )
        for i, alarm in enumerate(alarms)
    )
    return review, items
