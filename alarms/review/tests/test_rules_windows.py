"""The review's time windows at their edges: co-firing within the window (inclusive) and state changes within a
sliding span (exclusive), the same on both databases."""

from datetime import timedelta

import pytest

from alarms.models import Service
from alarms.review.services.rules import candidates
from alarms.review.tests.planted import NOW, alerts, make_alarm
from incidents import selectors
from incidents.models import StateChange

pytestmark = pytest.mark.django_db

LOOKBACK = {"since": NOW - timedelta(days=90), "until": NOW}
FIVE_MINUTES = timedelta(minutes=5)
SECOND = timedelta(seconds=1)
DAYS = [timedelta(days=d, hours=3) for d in (10, 20, 30, 40)]


def rules_of(team, alarm) -> set[str]:
    return {c.rule for c in candidates(team=team, now=NOW) if c.alarm_id == alarm.pk}


@pytest.fixture
def edge(catalog):
    """An API alarm at the edge of checkout, with four alerts a few days apart."""
    api = make_alarm(catalog["account"], "api-5xx", team=catalog["team"], service=catalog["service"],
                     namespace="AWS/ApiGateway", signal_kind="symptom", period=60)  # fmt: skip
    alerts(api, *[(ago, timedelta(minutes=2), "actioned") for ago in DAYS])
    return api


def lambda_alarm(catalog, name, *, offset, service=None):
    """A Lambda alarm whose alerts open ``offset`` after each of the API alarm's (before, when negative)."""
    alarm = make_alarm(catalog["account"], name, team=catalog["team"], service=service or catalog["service"],
                       namespace="AWS/Lambda", signal_kind="cause", period=60)  # fmt: skip
    alerts(alarm, *[(ago - offset, timedelta(minutes=2), "no_action") for ago in DAYS])
    return alarm


def test_an_alert_exactly_the_window_away_cofires_and_one_second_more_does_not(catalog, edge):
    at_edge = lambda_alarm(catalog, "fn-at-edge", offset=FIVE_MINUTES)
    beyond = lambda_alarm(catalog, "fn-beyond", offset=-(FIVE_MINUTES + SECOND))
    found = selectors.alarm_cofiring(alarm_ids=[edge.pk, at_edge.pk, beyond.pk], window=FIVE_MINUTES, **LOOKBACK)
    assert found[at_edge.pk] == selectors.Cofiring(alerts=4, with_any=4, partner_id=edge.pk, with_partner=4)
    assert found[edge.pk] == selectors.Cofiring(alerts=4, with_any=4, partner_id=at_edge.pk, with_partner=4)
    # 5 min 1 s before the API's alerts, 10 min 1 s before the other Lambda's: alone
    assert found[beyond.pk] == selectors.Cofiring(alerts=4, with_any=0, partner_id=None, with_partner=0)
    team = catalog["team"]
    assert "duplicate" in rules_of(team, at_edge)
    assert "duplicate" not in rules_of(team, beyond)


def test_only_live_alarms_of_the_same_service_are_partners(catalog, edge):
    ledger = Service.objects.create(slug="ledger", name="Ledger", team=catalog["team"])
    elsewhere = lambda_alarm(catalog, "fn-ledger", offset=SECOND, service=ledger)
    deleted = lambda_alarm(catalog, "fn-deleted", offset=2 * SECOND)
    deleted.deleted_at = NOW - timedelta(days=1)
    deleted.save(update_fields=["deleted_at"])
    found = selectors.alarm_cofiring(alarm_ids=[edge.pk, elsewhere.pk], window=FIVE_MINUTES, **LOOKBACK)
    assert found[edge.pk] == selectors.Cofiring(alerts=4, with_any=0, partner_id=None, with_partner=0)
    assert found[elsewhere.pk].with_any == 0


def test_a_partner_alert_before_the_lookback_still_counts_and_ties_go_to_the_older_alarm(catalog):
    account, team, checkout = catalog["account"], catalog["team"], catalog["service"]
    first, second, third = (
        make_alarm(account, name, team=team, service=checkout, period=60) for name in ("first", "second", "third")
    )
    since = LOOKBACK["since"]
    # third's alerts open a minute after the lookback starts and later; first's a minute before it and the
    # same later ones as second's, so first and second tie for third's partner on three alerts each
    later = [timedelta(days=d) for d in (30, 60)]
    alerts(third, (NOW - since - timedelta(minutes=1), SECOND, ""), *[(ago, SECOND, "") for ago in later])
    alerts(first, (NOW - since + timedelta(minutes=1), SECOND, ""), *[(ago + SECOND, SECOND, "") for ago in later])
    alerts(second, (NOW - since - timedelta(minutes=2), SECOND, ""), *[(ago - SECOND, SECOND, "") for ago in later])
    found = selectors.alarm_cofiring(alarm_ids=[third.pk, first.pk], window=FIVE_MINUTES, **LOOKBACK)
    assert found[third.pk] == selectors.Cofiring(alerts=3, with_any=3, partner_id=first.pk, with_partner=3)
    assert found[first.pk] == selectors.Cofiring(alerts=2, with_any=2, partner_id=second.pk, with_partner=2)


def changes(alarm, *offsets, start=NOW - timedelta(days=2)):
    StateChange.objects.bulk_create(
        StateChange(alarm=alarm, at=start + offset, new_state=("ALARM", "OK")[i % 2])
        for i, offset in enumerate(offsets)
    )


def minutes(*values):
    return [timedelta(minutes=m) for m in values]


def bursts(alarm, periods=20):
    return selectors.alarm_state_change_counts(alarm_ids=[alarm.pk], periods=periods, **LOOKBACK)[alarm.pk]


def test_a_change_exactly_a_span_later_is_outside_it_and_one_second_sooner_inside(catalog):
    team, account = catalog["team"], catalog["account"]
    exact = make_alarm(account, "exact", team=team, period=60)  # 20 periods: 20 minutes
    changes(exact, *minutes(0, 10, 20, 30))
    assert bursts(exact) == selectors.StateChangeBursts(changes=4, max_in_30_minutes=3, max_in_periods=2)
    sooner = make_alarm(account, "sooner", team=team, period=60)
    changes(sooner, *minutes(0, 10), timedelta(minutes=20) - SECOND, timedelta(minutes=30) - SECOND)
    assert bursts(sooner) == selectors.StateChangeBursts(changes=4, max_in_30_minutes=4, max_in_periods=3)


def test_the_flapping_rule_at_the_30_minute_edge(catalog):
    team, account = catalog["team"], catalog["account"]
    # period 300: 20 periods are 100 minutes, where three changes stay under the rule's four
    exact = make_alarm(account, "exact", team=team, period=300)
    changes(exact, *minutes(0, 15, 30))
    sooner = make_alarm(account, "sooner", team=team, period=300)
    changes(sooner, *minutes(0, 15), timedelta(minutes=30) - SECOND)
    assert "flapping" not in rules_of(team, exact)
    assert "flapping" in rules_of(team, sooner)


def test_changes_at_one_instant_all_count_and_only_the_window_counts(catalog):
    team, account = catalog["team"], catalog["account"]
    composite = make_alarm(account, "composite", team=team, alarm_type="CompositeAlarm")  # no period
    start = LOOKBACK["since"] + timedelta(minutes=10)
    StateChange.objects.bulk_create(
        [
            StateChange(alarm=composite, at=start - timedelta(minutes=15), new_state="ALARM"),  # before the window
            StateChange(alarm=composite, at=start, new_state="ALARM"),
            StateChange(alarm=composite, at=start, new_state="OK"),
            StateChange(alarm=composite, at=start + timedelta(minutes=1), new_state="ALARM"),
            StateChange(alarm=composite, at=NOW, new_state="OK"),  # at the window's end: outside
        ]
    )
    assert bursts(composite) == selectors.StateChangeBursts(changes=3, max_in_30_minutes=3, max_in_periods=0)
    assert "flapping" in rules_of(team, composite)
