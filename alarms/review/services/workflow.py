"""Opening the weekly review: one review per team and ISO week, its items snapshotted once when it opens."""

import re
from collections import Counter
from datetime import date, datetime, time
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alarms.models import Alarm, Team
from alarms.review.models import Review, ReviewItem
from alarms.review.services.rules import UNCLAIMED, candidates
from alarms.review.tasks import review_items_replay_task

ISO_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


def iso_week(value: str | date | datetime) -> str:
    """The ISO week ("2026-W07") of a date, of an aware datetime in the portal's time zone, or of a string
    already in that form, checked: a malformed string or a week its year does not have raises ValueError."""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        year, week, _ = value.isocalendar()
        return f"{year}-W{week:02d}"
    match = ISO_WEEK_RE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not an ISO week: write it YYYY-Www, e.g. 2026-W07.")
    year, week = int(match[1]), int(match[2])
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO week: {year} has no week {week}.") from None
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    """The Monday that starts an ISO week."""
    week = iso_week(week)
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def review_open(*, team: Team, week: str, now: datetime | None = None) -> tuple[Review, bool]:
    """Open the team's review of ``week`` (idempotent): the first call creates it with a snapshot of the
    candidates at ``now``; later calls return it unchanged. ``(review, created)``."""
    week = iso_week(week)
    now = now or timezone.now()
    with transaction.atomic():
        review, created = Review.objects.get_or_create(
            team=team,
            week=week,
            defaults={"opened_at": now, "lookback_days": settings.OKAMI_REVIEW_LOOKBACK_DAYS},
        )
        if created:
            items = [
                ReviewItem(
                    review=review,
                    alarm_id=candidate.alarm_id,
                    rule=candidate.rule,
                    evidence=candidate.evidence,
                    suggestion=candidate.suggestion,
                )
                for candidate in candidates(team=team, now=now)
            ]
            ReviewItem.objects.bulk_create(items, ignore_conflicts=True)
            # Replaying the metrics of its transient and noisy items talks to AWS: after commit, in a worker.
            transaction.on_commit(partial(review_items_replay_task.delay, review.pk))
    return review, created


def review_item_counts(*, review: Review) -> dict[str, int]:
    """How many items of each rule the review holds."""
    return dict(Counter(review.items.values_list("rule", flat=True)))


def teams_with_alarms():
    """Teams that own live alarms, or whose services hold live alarms without owner, or whose review takes the
    unclaimed alarms while there are some."""
    owned = Alarm.objects.filter(owner_team=OuterRef("pk"), deleted_at__isnull=True)
    unowned = Alarm.objects.filter(service__team=OuterRef("pk"), owner_team__isnull=True, deleted_at__isnull=True)
    unclaimed = Alarm.objects.filter(UNCLAIMED, deleted_at__isnull=True)
    takes_unclaimed = Q(review_policy__reviews_unclaimed=True) & Q(Exists(unclaimed))
    return Team.objects.filter(Q(Exists(owned)) | Q(Exists(unowned)) | takes_unclaimed).order_by("slug")


def review_due_at(*, week: str) -> datetime:
    """When a week's reviews open: its Monday at OKAMI_REVIEW_TIME ("HH:MM"), in the portal's time zone."""
    hours, minutes = (int(part) for part in settings.OKAMI_REVIEW_TIME.split(":")[:2])
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(week_monday(week), time(hours, minutes), tzinfo=zone)


def reviews_open_due(*, now: datetime | None = None) -> int:
    """Open this week's review of every team with alarms once it is due (Monday from OKAMI_REVIEW_TIME, or any
    later day of the week when Monday's run was missed). Idempotent; returns how many reviews it opened."""
    now = now or timezone.now()
    week = iso_week(now)
    if now < review_due_at(week=week):
        return 0
    done = set(Review.objects.filter(week=week).values_list("team_id", flat=True))
    opened = 0
    for team in teams_with_alarms().exclude(pk__in=done):
        _, created = review_open(team=team, week=week, now=now)
        opened += created
    return opened
