import json
from datetime import timedelta

import pytest

from alarms.models import Alarm, Team
from alarms.review.models import Review, ReviewItem, TeamReviewPolicy
from alarms.review.services.rules import candidates, review_thresholds, transient_setting
from alarms.review.tests.planted import EXPECTED, NOW, alerts, make_alarm, plant

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted(catalog):
    return plant(catalog)


def found(team, now=NOW) -> dict[str, set[str]]:
    names = dict(Alarm.objects.values_list("pk", "name"))
    result: dict[str, set[str]] = {}
    for candidate in candidates(team=team, now=now):
        result.setdefault(names[candidate.alarm_id], set()).add(candidate.rule)
    return result


def expected(**changes) -> dict[str, set[str]]:
    rules = {name: set(rules) for name, rules in EXPECTED.items()}
    for name, change in changes.items():
        rules[name.replace("_", "-")] = change
    return {name: rules for name, rules in rules.items() if rules}


def by_rule(team, rule, now=NOW):
    return {c.alarm_id: c for c in candidates(team=team, now=now) if c.rule == rule}


def test_the_planted_history_yields_exactly_the_planted_candidates(planted, catalog):
    assert found(catalog["team"]) == expected()


def test_evidence_and_suggestions_are_json_and_carry_the_common_figures(planted, catalog):
    for candidate in candidates(team=catalog["team"], now=NOW):
        assert json.loads(json.dumps(candidate.evidence)) == candidate.evidence
        assert json.loads(json.dumps(candidate.suggestion)) == candidate.suggestion
        assert {"alerts", "weekly", "actioned", "customer_impact", "self_resolved_share"} <= set(candidate.evidence)
        assert candidate.suggestion["action"] and candidate.suggestion["text"]
    never = by_rule(catalog["team"], "never_acted_on")[planted["table-throttles"].pk]
    assert never.evidence["alerts"] == 4 and never.evidence["no_action"] == 3 and never.evidence["unlabelled"] == 1
    assert sum(week["alerts"] for week in never.evidence["weekly"]) == 4
    assert all(week["week"].startswith("2026-W") for week in never.evidence["weekly"])
    assert never.suggestion["action"] == "remove"


def test_the_duplicate_is_the_lambda_alarm_and_the_api_alarm_is_kept(planted, catalog):
    duplicates = by_rule(catalog["team"], "duplicate")
    assert list(duplicates) == [planted["lambda-errors"].pk]
    candidate = duplicates[planted["lambda-errors"].pk]
    assert candidate.evidence["partner_alarm_id"] == planted["api-5xx"].pk
    assert candidate.evidence["partner_alarm_name"] == "api-5xx"
    assert candidate.evidence["partner_share"] == 1.0
    assert candidate.suggestion["keep_alarm_id"] == planted["api-5xx"].pk
    assert candidate.suggestion["action"] == "merge"


def test_the_duplicate_says_when_the_alarm_to_keep_was_never_acted_on_either(planted, catalog):
    from incidents.models import Alert

    kept = by_rule(catalog["team"], "duplicate")[planted["lambda-errors"].pk]
    assert kept.evidence["partner_never_acted_on"] is False
    assert "either" not in kept.suggestion["text"]

    Alert.objects.filter(alarm__in=[planted["api-5xx"], planted["lambda-errors"]]).update(outcome="no_action")
    candidate = by_rule(catalog["team"], "duplicate")[planted["lambda-errors"].pk]

    assert candidate.evidence["partner_never_acted_on"] is True
    assert "Nobody acted on an alert of api-5xx either" in candidate.suggestion["text"]
    assert planted["api-5xx"].pk in by_rule(catalog["team"], "never_acted_on")  # its own item says what to do


def test_an_edge_alarm_is_kept_over_a_lambda_even_when_neither_says_symptom(planted, catalog):
    Alarm.objects.filter(pk__in=[planted["api-5xx"].pk, planted["lambda-errors"].pk]).update(signal_kind="")
    assert list(by_rule(catalog["team"], "duplicate")) == [planted["lambda-errors"].pk]


def test_a_symptom_is_kept_over_a_cause_whatever_the_namespace(planted, catalog):
    Alarm.objects.filter(pk=planted["api-5xx"].pk).update(signal_kind="cause")
    Alarm.objects.filter(pk=planted["lambda-errors"].pk).update(signal_kind="symptom")
    duplicates = by_rule(catalog["team"], "duplicate")
    assert list(duplicates) == [planted["api-5xx"].pk]
    assert duplicates[planted["api-5xx"].pk].suggestion["keep_alarm_id"] == planted["lambda-errors"].pk


def test_the_transient_suggestion_is_the_hand_computed_one(planted, catalog):
    # Period 60 s; alerts of 30, 70, 100, 150, 200 s untouched, real ones of 250 s and 900 s. The real alerts
    # lasted 4 and 15 whole periods: M = 4 keeps both and suppresses the five shorter ones; N = max(4, 1).
    candidate = by_rule(catalog["team"], "transient")[planted["queue-depth"].pk]
    assert candidate.evidence["self_resolved"] == 5 and candidate.evidence["alerts"] == 7
    suggestion = candidate.suggestion
    assert suggestion["action"] == "tune"
    assert (suggestion["datapoints_to_alarm"], suggestion["evaluation_periods"]) == (4, 4)
    assert suggestion["alerts_removed"] == 5
    assert suggestion["current"] == {"datapoints_to_alarm": 1, "evaluation_periods": 1}
    assert "4 of 4" in suggestion["text"]


@pytest.mark.parametrize(
    ("histogram", "current", "wanted"),
    [
        ({0: (3, 0), 1: (2, 0), 2: (1, 1), 10: (1, 1)}, (1, 1), (2, 2, 5)),  # real alerts from 2 periods
        ({0: (3, 0), 1: (2, 0), 2: (1, 0)}, (1, 3), (3, 3, 6)),  # nobody acted: smallest M removing all, cap 5
        ({0: (3, 0), 7: (2, 0)}, (1, 1), None),  # M = 1 removes all it can under 5: no more than today
        ({0: (3, 0), 1: (1, 1)}, (1, 1), None),  # keeping the real alert allows no more than today's M
    ],
)
def test_transient_setting_cases(histogram, current, wanted):
    alarm = Alarm(period=60, datapoints_to_alarm=current[0], evaluation_periods=current[1])
    setting = transient_setting(alarm=alarm, histogram=histogram)
    if wanted is None:
        assert setting is None
    else:
        assert (setting["datapoints_to_alarm"], setting["evaluation_periods"], setting["alerts_removed"]) == wanted


def test_stuck_says_warn_then_act(planted, catalog):
    candidate = by_rule(catalog["team"], "stuck")[planted["stuck-latency"].pk]
    assert candidate.evidence["days_in_state"] == 10 and candidate.evidence["level"] == "warn"
    TeamReviewPolicy.objects.create(team=catalog["team"], rules={"stuck": {"act_days": 7}})
    candidate = by_rule(catalog["team"], "stuck")[planted["stuck-latency"].pk]
    assert candidate.evidence["level"] == "act" and candidate.suggestion["action"] == "fix_or_remove"


def test_muted_and_orphaned_evidence(planted, catalog):
    muted = by_rule(catalog["team"], "muted")[planted["muted-errors"].pk]
    assert muted.evidence["days_muted"] == 70 and muted.suggestion["action"] == "re_enable_or_remove"
    orphaned = by_rule(catalog["team"], "orphaned")
    assert orphaned[planted["gone-function"].pk].evidence["resource_gone"] is True
    assert orphaned[planted["no-data-stream"].pk].evidence["days_in_state"] == 20


def test_muted_falls_back_on_the_configuration_date(planted, catalog):
    Alarm.objects.filter(pk=planted["muted-errors"].pk).update(
        actions_disabled_since=None, configuration_updated_at=NOW - timedelta(days=61)
    )
    muted = by_rule(catalog["team"], "muted")[planted["muted-errors"].pk]
    assert muted.evidence["days_muted"] == 61 and muted.evidence["muted_since_source"] == "configuration_updated_at"


@pytest.mark.parametrize(
    ("rules", "changes"),
    [
        ({"never_acted_on": {"min_alerts": 5}}, {"table_throttles": set()}),
        ({"duplicate": {"window_seconds": 30}}, {"lambda_errors": set()}),
        ({"duplicate": {"min_alerts": 6}}, {"lambda_errors": set()}),
        ({"transient": {"share": 0.8}}, {"queue_depth": set()}),
        ({"transient": {"resolve_seconds": 60}}, {"queue_depth": set()}),
        ({"flapping": {"changes_in_30_minutes": 4}}, {"flappy": set()}),
        ({"flapping": {"changes": 2}}, {}),  # 2 changes within 20 periods: still flapping, now by both
        ({"noisy": {"per_week": 25}}, {"chatty": set()}),
        ({"noisy": {"top_share": 0.5, "per_week": 25}}, {}),  # the noisiest half of the estate's 13 alarms
        ({"stuck": {"warn_days": 15}}, {"stuck_latency": set()}),
        ({"muted": {"days": 90}}, {"muted_errors": set()}),
        ({"orphaned": {"insufficient_days": 30}}, {"no_data_stream": set()}),
        ({"unowned": {"enabled": False}}, {"unowned_5xx": set()}),
        ({"no_purpose": {"enabled": False}}, {"mystery": set()}),
        ({"never_acted_on": {"min_alerts": 1}}, {"api_5xx": set()}),  # real alerts: never a candidate
        (  # 20-minute alerts nobody answered count as self-resolved within 25 minutes
            {"transient": {"resolve_seconds": 1500}},
            {"api_5xx": {"transient"}, "lambda_errors": {"duplicate", "transient"}, "chatty": {"noisy", "transient"}},
        ),
    ],
)
def test_each_threshold_of_a_team_policy_changes_the_result(planted, catalog, rules, changes):
    TeamReviewPolicy.objects.create(team=catalog["team"], rules=rules)
    assert found(catalog["team"]) == expected(**changes)


def test_settings_set_the_thresholds_and_a_team_policy_overrides_them(planted, catalog, settings):
    settings.OKAMI_REVIEW_RULES = {**settings.OKAMI_REVIEW_RULES, "stuck": {"warn_days": 15, "act_days": 60}}
    assert found(catalog["team"]) == expected(stuck_latency=set())
    TeamReviewPolicy.objects.create(team=catalog["team"], rules={"stuck": {"warn_days": 3}})
    assert found(catalog["team"]) == expected()
    thresholds = review_thresholds(team=catalog["team"])
    assert thresholds["stuck"] == {"enabled": True, "warn_days": 3, "act_days": 60}


def test_a_policy_ignores_unknown_rules_keys_and_values(catalog):
    policy = {"nope": {"x": 1}, "stuck": {"warn_days": "soon", "bogus": 3, "enabled": "no"}, "muted": 5}
    assert review_thresholds(policy=policy)["stuck"] == {"enabled": True, "warn_days": 5, "act_days": 60}


def test_another_teams_review_covers_its_own_alarms_only(planted, catalog):

    assert found(Team.objects.get(slug="search")) == {"searchers": {"orphaned", "no_purpose"}}


def test_only_alarms_that_notify_people_are_listed_for_their_missing_purpose(planted, settings):
    search = Team.objects.get(slug="search")
    assert "quiet-no-purpose" not in found(search)  # fires never, pages nobody: coverage shows it, not the review

    settings.OKAMI_REVIEW_RULES = {**settings.OKAMI_REVIEW_RULES, "no_purpose": {"min_alerts": 0}}

    assert found(search)["quiet-no-purpose"] == {"no_purpose"}


def test_a_team_without_alarms_has_no_candidates(catalog):
    assert candidates(team=catalog["team"], now=NOW) == []


def test_candidates_take_a_constant_number_of_queries(planted, catalog, django_assert_max_num_queries):
    for i in range(10):  # more alarms of every kind change nothing
        make_alarm(catalog["account"], f"extra-{i}", team=catalog["team"], purpose=False, orphaned=True, tier="page")
    with django_assert_max_num_queries(14):
        result = candidates(team=catalog["team"], now=NOW)
    assert len(result) == sum(len(rules) for rules in EXPECTED.values()) + 20


# Re-review: a decided alarm stays out until its date or new evidence.


def decide(alarm, *, rule, decided_at, rereview_on=None, team):
    review = Review.objects.create(team=team, week="2026-W09", opened_at=decided_at, lookback_days=90)
    ReviewItem.objects.create(
        review=review, alarm=alarm, rule=rule, decision="keep", reason="r", rereview_on=rereview_on,
        decided_at=decided_at,
    )  # fmt: skip


def test_a_decided_alarm_stays_out_until_its_rereview_date(planted, catalog):
    team, throttles = catalog["team"], planted["table-throttles"]
    decide(throttles, rule="never_acted_on", decided_at=NOW - timedelta(days=7),
           rereview_on=(NOW + timedelta(days=30)).date(), team=team)  # fmt: skip
    assert "table-throttles" not in found(team)
    assert "table-throttles" not in found(team, NOW + timedelta(days=29))
    assert found(team, NOW + timedelta(days=30))["table-throttles"] == {"never_acted_on"}


def test_a_decided_alarm_comes_back_with_an_alert_nobody_acted_on(planted, catalog):
    team, mystery = catalog["team"], planted["mystery"]
    decide(mystery, rule="no_purpose", decided_at=NOW - timedelta(days=7), team=team)
    assert "mystery" not in found(team)
    alerts(mystery, (timedelta(days=10), timedelta(hours=1), ""))  # before the decision: not new
    alerts(mystery, (timedelta(days=3), timedelta(hours=1), "actioned"))  # acted on: no new evidence
    assert "mystery" not in found(team)
    alerts(mystery, (timedelta(days=2), timedelta(hours=1), "false_positive"))
    assert found(team)["mystery"] == {"no_purpose"}


def test_an_undecided_item_of_an_earlier_review_hides_nothing(planted, catalog):
    review = Review.objects.create(team=catalog["team"], week="2026-W09", opened_at=NOW, lookback_days=90)
    ReviewItem.objects.create(review=review, alarm=planted["mystery"], rule="no_purpose")
    assert found(catalog["team"]) == expected()


def test_deleted_alarms_are_never_candidates(planted, catalog):
    Alarm.objects.filter(pk=planted["mystery"].pk).update(deleted_at=NOW)
    assert found(catalog["team"]) == expected(mystery=set())


# The alert statistics the rules read (incidents.selectors), checked by hand: one query each.


def test_alert_stats_by_hand(planted, django_assert_num_queries):
    from incidents import selectors

    queue = planted["queue-depth"]
    alerts(queue, (timedelta(seconds=100), None, ""))  # still open: 100 s in ALARM so far
    with django_assert_num_queries(1):
        stats = selectors.alarm_alert_stats(
            alarm_ids=[queue.pk], since=NOW - timedelta(days=90), until=NOW, resolve_within=timedelta(seconds=300)
        )[queue.pk]
    assert (stats.alerts, stats.actioned, stats.transient, stats.unlabelled, stats.open) == (8, 2, 3, 3, 1)
    assert stats.self_resolved == 5 and stats.responded == 2 and stats.real == 2
    assert stats.alarm_seconds == pytest.approx(30 + 70 + 100 + 150 + 200 + 250 + 900 + 100, abs=0.01)
    assert stats.mean_duration_seconds == pytest.approx(1800 / 8, abs=0.01)
    assert stats.mean_first_response_seconds == pytest.approx(60, abs=0.01)
    assert stats.first_alert_at == NOW - timedelta(days=37)
    assert stats.last_unactioned_alert_at == NOW - timedelta(seconds=100)


def test_alarm_seconds_are_clipped_to_the_window(planted):
    from incidents import selectors

    chatty = planted["chatty"]  # the newest alert opened an hour before NOW and lasted 20 minutes
    until = NOW - timedelta(minutes=50)
    stats = selectors.alarm_alert_stats(
        alarm_ids=[chatty.pk], since=NOW - timedelta(hours=2), until=until, resolve_within=timedelta(0)
    )[chatty.pk]
    assert stats.alerts == 1 and stats.alarm_seconds == pytest.approx(600, abs=0.01)


def test_cofiring_by_hand(planted, django_assert_num_queries):
    from incidents import selectors

    api, fn, unowned = planted["api-5xx"], planted["lambda-errors"], planted["unowned-5xx"]
    # unowned-5xx (same service) fires with two of the API alarm's alerts, four minutes after them
    alerts(unowned, *[(timedelta(days=d, hours=3) - timedelta(minutes=4), timedelta(minutes=5), "") for d in (11, 20)])
    with django_assert_num_queries(1):
        cofiring = selectors.alarm_cofiring(
            alarm_ids=[api.pk, fn.pk, unowned.pk], since=NOW - timedelta(days=90), until=NOW,
            window=timedelta(minutes=5),
        )  # fmt: skip
    assert cofiring[api.pk] == selectors.Cofiring(alerts=5, with_any=5, partner_id=fn.pk, with_partner=5)
    # the Lambda's alerts open a minute before the API's: 3 minutes from unowned's, within the window too
    assert cofiring[fn.pk] == selectors.Cofiring(alerts=5, with_any=5, partner_id=api.pk, with_partner=5)
    assert cofiring[unowned.pk].partner_id in (api.pk, fn.pk) and cofiring[unowned.pk].partner_share == 1.0
    narrow = selectors.alarm_cofiring(
        alarm_ids=[unowned.pk], since=NOW - timedelta(days=90), until=NOW, window=timedelta(minutes=3, seconds=30)
    )
    assert narrow[unowned.pk] == selectors.Cofiring(alerts=2, with_any=2, partner_id=fn.pk, with_partner=2)


def test_state_change_bursts_by_hand(planted, django_assert_num_queries):
    from incidents import selectors
    from incidents.models import StateChange

    flappy = planted["flappy"]
    start = NOW - timedelta(days=2)
    # five changes (the planted ones are older than the window) at 0, 4, 8, 31 and 32 minutes: 4 within 30
    # minutes (4 to 32), 3 within 20 periods of 60 s (0 to 8), all 5 within 40 periods
    StateChange.objects.bulk_create(
        StateChange(alarm=flappy, at=start + timedelta(minutes=m), new_state=("ALARM", "OK")[i % 2])
        for i, m in enumerate((0, 4, 8, 31, 32))
    )
    with django_assert_num_queries(1):
        bursts = selectors.alarm_state_change_counts(
            alarm_ids=[flappy.pk], since=NOW - timedelta(days=3), until=NOW, periods=20
        )
    assert bursts[flappy.pk] == selectors.StateChangeBursts(changes=5, max_in_30_minutes=4, max_in_periods=3)
    assert selectors.alarm_state_change_counts(alarm_ids=[flappy.pk], since=NOW - timedelta(days=3), until=NOW,
                                               periods=40)[flappy.pk].max_in_periods == 5  # fmt: skip


def test_weekly_alerts_and_periods_by_hand(planted):
    from incidents import selectors

    queue = planted["queue-depth"]
    window = {"alarm_ids": [queue.pk], "since": NOW - timedelta(days=90), "until": NOW}
    # opened 37..31 days before Wednesday 2026-03-11: Monday 2026-02-02 to Sunday 2026-02-08, week 6;
    # lasted 30, 70, 100, 150, 200, 250 and 900 s: 0, 1, 1, 2, 3, 4 and 15 (capped at 10) whole minutes
    weekly = selectors.alarm_weekly_alerts(**window)[queue.pk]
    assert weekly == {"2026-W06": 7}
    assert selectors.alarm_alert_periods(**window)[queue.pk] == {0: (1, 0), 1: (2, 0), 2: (1, 0), 3: (1, 0),
                                                                  4: (1, 1), 10: (1, 1)}  # fmt: skip
