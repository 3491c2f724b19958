"""The demo's first reviews: once the alert history is in, this week's review of every team, so that its
never-acted-on, duplicate and transient alarms show with their evidence from the start.

The platform team's review also takes the alarms nobody claims (strays made by hand in the console).

Beat may have opened them already, before the history arrived (it opens a missed Monday's reviews at once):
such a review, untouched (nothing decided, not signed off), is opened again over the loaded history.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from alarms.models import Team
from alarms.review.models import Review, TeamReviewPolicy
from alarms.review.services.workflow import iso_week, review_open, teams_with_alarms

UNCLAIMED_REVIEWED_BY = "platform"


@dataclass
class DemoReviews:
    teams: int = 0
    items: int = 0
    by_rule: Counter = field(default_factory=Counter)


def demo_open_reviews(*, now=None) -> DemoReviews:
    now = now or timezone.now()
    week = iso_week(now)
    platform = Team.objects.filter(slug=UNCLAIMED_REVIEWED_BY).first()
    if platform is not None:
        TeamReviewPolicy.objects.update_or_create(team=platform, defaults={"reviews_unclaimed": True})
    untouched = (
        Review.objects.filter(week=week, signed_off_at__isnull=True)
        .annotate(decided=Count("items", filter=~Q(items__decision="")))
        .filter(decided=0)
    )
    Review.objects.filter(pk__in=list(untouched.values_list("pk", flat=True))).delete()
    done = DemoReviews()
    for team in teams_with_alarms():
        review, _ = review_open(team=team, week=week, now=now)
        done.teams += 1
        for rule in review.items.values_list("rule", flat=True):
            done.items += 1
            done.by_rule[rule] += 1
    return done
