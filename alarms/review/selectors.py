"""Reads of the review: the reviews of a team (history) with their progress, and a review's items with what
their page and the API show, each in a constant number of queries."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from alarms.review.choices import Rule
from alarms.review.models import Review, ReviewItem

# The rules in the order of their choices (never acted on first, no purpose last), as SQL can sort them.
RULE_ORDER = Case(
    *(When(rule=value, then=Value(i)) for i, value in enumerate(Rule.values)),
    default=Value(len(Rule.values)),
    output_field=IntegerField(),
)

# The alarm columns an item's page and API never show: left in the database, however many items.
ALARM_BULK = ("description", "dimensions", "metrics", "extra_settings", "alarm_actions", "ok_actions",
              "insufficient_data_actions", "state_reason", "state_reason_data", "tags", "alarm_rule")  # fmt: skip


def review_list(*, team_slug: str = "") -> QuerySet[Review]:
    """Reviews, newest week first, with ``item_count`` and ``decided_count``; of one team when given."""
    reviews = Review.objects.select_related("team", "signed_off_by").annotate(
        item_count=Count("items"), decided_count=Count("items", filter=~Q(items__decision=""))
    )
    if team_slug:
        reviews = reviews.filter(team__slug=team_slug)
    return reviews.order_by("-week", "team__name", "-id")


def review_items(*, review: Review) -> QuerySet[ReviewItem]:
    """A review's items in the order of the page (by rule in the order of the choices, then alarm name), with
    their alarm (and its service), the alarm merged with, and who decided."""
    return (
        ReviewItem.objects.filter(review=review)
        .select_related("alarm", "alarm__service", "merge_with", "decided_by")
        .defer(*(f"{relation}__{name}" for relation in ("alarm", "merge_with") for name in ALARM_BULK))
        .order_by(RULE_ORDER, "alarm__name", "id")
    )


def review_progress(items: list[ReviewItem]) -> dict:
    """Decided and total, from items already read."""
    decided = sum(1 for item in items if item.decision)
    return {
        "total": len(items),
        "decided": decided,
        "undecided": len(items) - decided,
        "complete": decided == len(items),
    }
