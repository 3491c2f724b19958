"""The demo estate's past: alarms the local AWS made a minute ago get the ages their story implies, so that the
first reviews list the stuck, muted and orphaned ones too."""

from datetime import UTC, datetime, timedelta

import pytest

from alarms.models import Alarm, AwsAccount, Service, Team
from alarms.review.services.rules import candidates
from incidents.models import Alert
from portal.demo.aging import MUTED_AGES, NO_DATA_AGES, demo_age_estate

NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)
PURPOSE = {"purpose_detects": "d", "purpose_customer_impact": "c", "purpose_action": "a"}


@pytest.fixture
def estate(db):
    account = AwsAccount.objects.create(account_id="111111111111", name="shop", regions=["eu-west-1"])
    team = Team.objects.create(slug="payments", name="Payments")
    service = Service.objects.create(slug="checkout", name="Checkout", team=team)

    def alarm(name, **fields):
        return Alarm.objects.create(
            arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:{name}", account=account, region="eu-west-1",
            name=name, owner_team=team, service=service, **PURPOSE, **fields,
        )  # fmt: skip

    stuck = alarm("stuck-latency", state="ALARM")
    Alert.objects.create(alarm=stuck, opened_at=NOW - timedelta(days=40))
    alarm("fresh-alarm", state="ALARM")  # in ALARM with no open alert: nothing tells its age
    told = alarm("told-by-aws", state="INSUFFICIENT_DATA", state_transitioned_at=NOW - timedelta(hours=2))
    no_data = [alarm(f"no-data-{i}", state="INSUFFICIENT_DATA") for i in range(40)]
    muted = [alarm(f"muted-{i}", state="OK", actions_enabled=False, actions_disabled_since=NOW) for i in range(40)]
    return {"team": team, "stuck": stuck, "told": told, "no_data": no_data, "muted": muted}


def test_the_story_gives_the_stuck_muted_and_stale_alarms_their_ages(estate):
    done = demo_age_estate(now=NOW)

    assert (done.in_alarm, done.no_data, done.muted) == (1, 40, 40)
    estate["stuck"].refresh_from_db()
    assert estate["stuck"].state_transitioned_at == NOW - timedelta(days=40)
    assert Alarm.objects.get(name="fresh-alarm").state_transitioned_at is None
    estate["told"].refresh_from_db()
    assert estate["told"].state_transitioned_at == NOW - timedelta(hours=2)  # AWS's own time is kept
    found = {(c.rule, Alarm.objects.get(pk=c.alarm_id).name) for c in candidates(team=estate["team"], now=NOW)}
    assert ("stuck", "stuck-latency") in found
    orphaned = {name for rule, name in found if rule == "orphaned"}
    muted = {name for rule, name in found if rule == "muted"}
    # Only the old share is listed: most stale and muted alarms are recent, as in a real estate.
    assert 0 < len(orphaned) < 40 * NO_DATA_AGES[0] * 2.5
    assert 0 < len(muted) < 40 * MUTED_AGES[0] * 3
    assert all(name.startswith("no-data-") for name in orphaned)


def test_ageing_twice_changes_nothing(estate):
    demo_age_estate(now=NOW)
    before = list(Alarm.objects.order_by("pk").values_list("state_transitioned_at", "actions_disabled_since"))

    done = demo_age_estate(now=NOW + timedelta(days=2))

    assert (done.in_alarm, done.no_data, done.muted) == (0, 0, 0)
    after = list(Alarm.objects.order_by("pk").values_list("state_transitioned_at", "actions_disabled_since"))
    assert after == before
