"""Review page bench: a team's weekly review of 500 items (the page, every item with its evidence drawn and its
decision form, and the API's items at 500 a page), each against raw SQL of the same rows."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from alarms.models import Alarm, Team
from alarms.review.models import Review, ReviewItem
from bench.alert_lists import rows_only
from bench.lists import bench_client, pages_p95, plant_catalog

RULES = ("never_acted_on", "duplicate", "transient", "flapping", "noisy", "stuck", "muted", "orphaned")
OUTCOMES = ("actioned", "customer_impact", "no_action", "transient", "duplicate", "false_positive", "unlabelled")

ITEMS_SQL = """
    SELECT i.id, i.rule, i.evidence, i.suggestion, i.decision, i.reason, i.rereview_on, i.setting, i.demote_to,
        i.decided_at, i.apply_status, i.apply_error, a.id, a.name, a.region, a.tier, a.threshold, a.period,
        a.evaluation_periods, a.datapoints_to_alarm, a.statistic, a.comparison_operator, a.treat_missing_data,
        s.name, m.name, u.username
    FROM review_reviewitem i
    JOIN alarms_alarm a ON a.id = i.alarm_id
    LEFT JOIN alarms_service s ON s.id = a.service_id
    LEFT JOIN alarms_alarm m ON m.id = i.merge_with_id
    LEFT JOIN auth_user u ON u.id = i.decided_by_id
    WHERE i.review_id = %s
    ORDER BY i.rule, a.name, i.id
"""

# Every field an API item carries (the status is computed from the decision and apply status).
API_SQL = """
    SELECT i.id, i.review_id, i.alarm_id, a.arn, a.name, i.rule, i.evidence, i.suggestion, i.decision, i.reason,
        i.rereview_on, i.setting, i.demote_to, i.merge_with_id, m.arn, u.username, i.decided_at, i.decision,
        i.apply_status, i.apply_error
    FROM review_reviewitem i
    JOIN alarms_alarm a ON a.id = i.alarm_id
    LEFT JOIN alarms_alarm m ON m.id = i.merge_with_id
    LEFT JOIN auth_user u ON u.id = i.decided_by_id
    WHERE i.review_id = %s
    ORDER BY i.rule, a.name, i.id
    LIMIT 500
"""


def evidence(i: int) -> dict:
    """Shaped like the engine's: alerts, counts by outcome, thirteen weeks of alerts."""
    counts = {outcome: (i * (k + 3)) % 7 for k, outcome in enumerate(OUTCOMES)}
    weekly = [{"week": f"2026-W{week:02d}", "alerts": (i + week) % 6} for week in range(1, 14)]
    return {"alerts": sum(counts.values()), **counts, "weekly": weekly, "self_resolved": counts["transient"]}


def suggestion(i: int, rule: str, partner_id: int) -> dict:
    if rule == "transient":
        return {"action": "tune", "text": "Alarm on 3 of 5 periods.", "datapoints_to_alarm": 3, "evaluation_periods": 5}
    if rule == "duplicate":
        return {"action": "merge", "text": "Fires with its partner.", "merge_with": partner_id}
    return {"action": "demote", "text": f"Candidate {i}: nobody acted on its alerts."}


def plant_review(items: int, user) -> Review:
    """A review of team-0 with ``items`` items over its alarms, a third of them decided."""
    team = Team.objects.get(slug="team-0")
    Review.objects.all().delete()
    review = Review.objects.create(team=team, week="2026-W11", opened_at=datetime(2026, 3, 9, tzinfo=UTC),
                                   lookback_days=90)  # fmt: skip
    alarms = list(Alarm.objects.order_by("pk")[: items + 1])
    partner = alarms.pop()
    decided = {"decision": "delete", "reason": "Unused.", "decided_by": user, "decided_at": timezone.now()}
    ReviewItem.objects.bulk_create(
        ReviewItem(
            review=review,
            alarm=alarm,
            rule=RULES[i % len(RULES)],
            evidence=evidence(i),
            suggestion=suggestion(i, RULES[i % len(RULES)], partner.pk),
            **(decided if i % 3 == 0 else {}),
        )
        for i, alarm in enumerate(alarms)
    )
    return review


def bench_review_page(catalog: int, items: int, requests: int) -> None:
    client, user = bench_client()
    plant_catalog(max(catalog, items + 1))
    review = plant_review(items, user)
    print(f"review of {ReviewItem.objects.filter(review=review).count()} items")
    pages_p95(
        client,
        [
            (
                f"review page /reviews/{review.pk}/",
                f"/reviews/{review.pk}/",
                rows_only(ITEMS_SQL, [review.pk]),
                "raw SQL of the same items and the columns shown",
            ),
            (
                f"API /api/v1/reviews/{review.pk}/items/?page_size=500",
                f"/api/v1/reviews/{review.pk}/items/?page_size=500",
                rows_only(API_SQL, [review.pk]),
                "raw SQL of the same rows and columns",
            ),
        ],
        requests,
        max_queries=15,
    )
