"""Alarms nobody claims (no owner, no service of a team) are reviewed by the one team whose policy takes them,
and by nobody else."""

import pytest

from alarms.models import Service, Team
from alarms.review.models import TeamReviewPolicy
from alarms.review.services.rules import candidates
from alarms.review.services.workflow import teams_with_alarms
from alarms.review.tests.planted import NOW, make_alarm

pytestmark = pytest.mark.django_db
TOPIC = ["arn:aws:sns:eu-west-1:111111111111:alerts"]


def unowned_names(team):
    return {c.alarm_id for c in candidates(team=team, now=NOW) if c.rule == "unowned"}


def test_the_team_that_takes_unclaimed_alarms_reviews_them_and_no_other_team_does(catalog):
    account, team = catalog["account"], catalog["team"]
    platform = Team.objects.create(slug="platform", name="Platform")
    make_alarm(account, "platform-owned", team=platform)
    orphan_service = Service.objects.create(slug="legacy", name="Legacy")  # a service of no team
    stray = make_alarm(account, "Untitled alarm 3", alarm_actions=TOPIC)
    on_legacy = make_alarm(account, "legacy-import-errors", service=orphan_service, alarm_actions=TOPIC)
    make_alarm(account, "CPU high (copy)")  # tells nobody: on /coverage/, not in a review
    claimed = make_alarm(account, "checkout-errors", service=catalog["service"], alarm_actions=TOPIC)

    assert unowned_names(platform) == set()
    assert platform in teams_with_alarms()

    TeamReviewPolicy.objects.create(team=platform, reviews_unclaimed=True)

    assert unowned_names(platform) == {stray.pk, on_legacy.pk}
    assert unowned_names(team) == {claimed.pk}
    assert list(teams_with_alarms()) == sorted([team, platform], key=lambda t: t.slug)


def test_a_team_with_no_alarms_of_its_own_still_gets_a_review_of_the_unclaimed(catalog):
    triage = Team.objects.create(slug="sre", name="SRE")
    TeamReviewPolicy.objects.create(team=triage, reviews_unclaimed=True)
    assert triage not in teams_with_alarms()

    stray = make_alarm(catalog["account"], "jsmith-debug-5xx", alarm_actions=TOPIC)

    assert triage in teams_with_alarms()
    assert unowned_names(triage) == {stray.pk}
