from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alarms.models import Team
from alarms.review.models import Review, ReviewItem
from alarms.review.services.workflow import iso_week, review_open, reviews_open_due
from alarms.review.tasks import reviews_open_task
from alarms.review.tests.planted import EXPECTED, NOW, WEEK, plant


@pytest.fixture
def planted(catalog):
    return plant(catalog)


def items(review) -> set[tuple[str, str]]:
    return set(review.items.values_list("alarm__name", "rule"))


@pytest.mark.parametrize(
    ("value", "week"),
    [
        ("2026-W11", "2026-W11"),
        (" 2020-W53 ", "2020-W53"),
        (date(2026, 1, 1), "2026-W01"),
        (date(2027, 1, 1), "2026-W53"),
        (datetime(2026, 3, 15, 23, 30, tzinfo=UTC), "2026-W11"),
    ],
)
def test_iso_week_reads_dates_and_checks_strings(value, week):
    assert iso_week(value) == week


def test_iso_week_follows_the_portals_time_zone(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert iso_week(datetime(2026, 3, 15, 23, 30, tzinfo=UTC)) == "2026-W12"  # already Monday in Paris


@pytest.mark.parametrize("value", ["2026-11", "2026-W1", "2026W11", "26-W11", "2026-W00", "2021-W53", "2026-W54", ""])
def test_iso_week_refuses_anything_else(value):
    with pytest.raises(ValueError, match="ISO week"):
        iso_week(value)


@pytest.mark.django_db
def test_opening_snapshots_the_candidates_once(planted, catalog):
    review, created = review_open(team=catalog["team"], week=WEEK, now=NOW)
    assert created and review.week == WEEK and review.opened_at == NOW and review.lookback_days == 90
    wanted = {(name, rule) for name, rules in EXPECTED.items() for rule in rules}
    assert items(review) == wanted
    duplicate = review.items.get(rule="duplicate")
    assert duplicate.evidence["partner_alarm_name"] == "api-5xx"
    assert duplicate.suggestion["keep_alarm_name"] == "api-5xx"

    ReviewItem.objects.filter(review=review, rule="no_purpose").delete()  # a snapshot is not recomputed
    again, created = review_open(team=catalog["team"], week="2026-W11", now=NOW + timedelta(days=1))
    assert (again.pk, created, again.opened_at) == (review.pk, False, NOW)
    assert items(again) == wanted - {("mystery", "no_purpose")}


@pytest.mark.django_db
def test_the_command_opens_once_and_prints_items_per_rule(planted, catalog, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    out = StringIO()
    call_command("open_weekly_review", "--team", "payments", "--week", WEEK, stdout=out)
    first = out.getvalue()
    assert "payments 2026-W11: opened, 11 items" in first
    assert "duplicate 1" in first and "orphaned 2" in first and "transient 1" in first
    review = Review.objects.get()
    wanted = items(review)

    out = StringIO()
    call_command("open_weekly_review", "--team", "payments", "--week", WEEK, stdout=out)
    assert "payments 2026-W11: already open, 11 items" in out.getvalue()
    assert Review.objects.count() == 1 and items(Review.objects.get()) == wanted


@pytest.mark.django_db
def test_the_command_without_options_opens_this_week_for_every_team_with_alarms(planted, catalog, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    Team.objects.create(slug="idle", name="Idle")  # no alarms: no review
    out = StringIO()
    call_command("open_weekly_review", stdout=out)
    assert set(Review.objects.values_list("team__slug", "week")) == {("payments", WEEK), ("search", WEEK)}
    assert "search 2026-W11: opened, 2 items (no_purpose 1, orphaned 1)" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("week", ["2026-W54", "2026-11", "next"])
def test_the_command_refuses_a_bad_week(catalog, week):
    with pytest.raises(CommandError, match=f"--week '{week}'"):
        call_command("open_weekly_review", "--week", week, stdout=StringIO())
    assert not Review.objects.exists()


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_team(catalog):
    with pytest.raises(CommandError, match="--team 'nobody'"):
        call_command("open_weekly_review", "--team", "nobody", stdout=StringIO())


@pytest.mark.django_db
def test_reviews_open_on_monday_from_the_review_time_or_later_that_week(planted, settings):
    settings.OKAMI_REVIEW_TIME = "09:00"
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert reviews_open_due(now=monday - timedelta(hours=1)) == 0
    assert not Review.objects.exists()
    assert reviews_open_due(now=monday) == 2
    assert reviews_open_due(now=monday + timedelta(days=2)) == 0
    assert set(Review.objects.values_list("team__slug", "week")) == {("payments", WEEK), ("search", WEEK)}
    assert reviews_open_due(now=monday - timedelta(days=1)) == 2  # Sunday: last week's, missed so far


@pytest.mark.django_db
def test_a_missed_monday_opens_later_in_the_week_in_the_portals_time_zone(planted, settings):
    settings.OKAMI_REVIEW_TIME = "09:00"
    settings.TIME_ZONE = "Europe/Paris"  # UTC+1 in March
    assert reviews_open_due(now=datetime(2026, 3, 9, 7, 30, tzinfo=UTC)) == 0
    assert reviews_open_due(now=datetime(2026, 3, 9, 8, 0, tzinfo=UTC)) == 2
    assert reviews_open_due(now=datetime(2026, 3, 15, 23, 30, tzinfo=UTC)) == 0  # W12's Monday, 00:30 in Paris
    assert reviews_open_due(now=datetime(2026, 3, 19, 12, 0, tzinfo=UTC)) == 2  # Thursday of W12, missed Monday
    assert Review.objects.filter(week="2026-W12").count() == 2


@pytest.mark.django_db
def test_the_task_opens_the_due_reviews(planted, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    assert reviews_open_task() == 2
    assert reviews_open_task() == 0
