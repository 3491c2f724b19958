"""The demo's outcomes: a month of the demo's alert history, recorded into alerts and incidents as the worker
records it, then labelled by the inference and by the demo's people, the last days left for the inbox."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from alarms.models import Alarm, AuditEntry, AwsAccount, Service, Team
from incidents.choices import CustomerImpact, Outcome
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.models import Alert, Incident
from incidents.services.episodes import state_change_record
from incidents.services.outcomes import ACK_ACTION, OUTCOME_ACTION
from portal.demo.alert_traffic import SERVICE_PREFIX, DemoAlertTraffic, SendResult, alarm_history, catalog_alarms
from portal.demo.estate import ACCOUNTS, REGIONS, SERVICES, TEAMS
from portal.demo.outcomes import demo_label_outcomes
from portal.demo.people import create_demo_users, join_demo_teams
from portal.tests.test_demo_traffic import catalog_alarm, estate_alarms

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAYS = 30  # a month of the ninety holds every shape
KEEP = 3
CUTOFF = END - timedelta(days=KEEP)
ACCOUNT = "111111111111"  # the shop's account: services of three teams, two of them the editor's
HUMAN_FIELDS = ("outcome", "outcome_note", "outcome_inferred", "duplicate_of", "outcome_by", "outcome_at",
                "acknowledged_by", "acknowledged_at", "first_response_at")  # fmt: skip


def demo_catalog() -> None:
    """The estate's alarms of one account as the sync and the first hour leave them: in their services, owned by
    their teams, the editor a member of two of them."""
    account = AwsAccount.objects.create(account_id=ACCOUNT, name=ACCOUNTS[ACCOUNT], regions=list(REGIONS))
    teams = {slug: Team.objects.create(slug=slug, name=name, chat_channel=channel) for slug, name, channel in TEAMS}
    specs = [spec for spec in SERVICES if spec.account == ACCOUNT]
    services = {s.slug: Service.objects.create(slug=s.slug, name=s.name, team=teams[s.team]) for s in specs}
    alarms = []
    for alarm in estate_alarms(services=specs):
        service = services[SERVICE_PREFIX.match(alarm.name).group("service")]
        topic = f"arn:aws:sns:{alarm.region}:{ACCOUNT}:{service.team.slug}-alerts"
        alarms.append(catalog_alarm(alarm, account, topic=topic, service=service, owner_team=service.team))
    Alarm.objects.bulk_create(alarms)
    create_demo_users()
    join_demo_teams()


def record(changes) -> None:
    """What the worker does with each notification the demo posts (the webhook is test_demo_traffic's)."""
    alarm_ids = dict(Alarm.objects.values_list("arn", "pk"))
    for number, change in enumerate(changes):
        alarm = change.alarm
        report = AlarmStateReport(
            arn=alarm.arn,
            name=alarm.name,
            account_id=alarm.account_id,
            region=alarm.region,
            at=change.at,
            new_state=change.new_state,
            old_state=change.old_state,
        )
        state_change_record(alarm_id=alarm_ids[alarm.arn], report=report, source=f"sns:demo-{number}")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Built once for the module (recording a month takes seconds), flushed after it; the tests that write run
    in their own transaction, rolled back."""
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():  # one commit, not one per notification
                demo_catalog()
                history = alarm_history(catalog_alarms(), end=END, days=DAYS)
                record(history.changes)
            figures = demo_label_outcomes(now=END, keep_unlabelled_days=KEEP)
            yield SimpleNamespace(history=history, figures=figures)
        finally:
            call_command("flush", interactive=False, verbosity=0)


def alert_of(alarm, at) -> Alert:
    return Alert.objects.select_related("outcome_by", "acknowledged_by").get(alarm__arn=alarm.arn, opened_at=at)


def openings(history, shape: str) -> dict[str, list[datetime]]:
    found = defaultdict(list)
    for change in history.changes:
        if change.shape == shape and change.new_state == "ALARM":
            found[change.alarm.arn].append(change.at)
    return found


def snapshot() -> dict:
    return {
        "alerts": list(Alert.objects.order_by("pk").values("pk", "incident", *HUMAN_FIELDS)),
        "incidents": list(Incident.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.count(),
    }


@pytest.mark.django_db
def test_most_older_alerts_have_an_outcome_and_the_last_days_are_left_to_the_inbox(demo):
    older, recent = Alert.objects.filter(opened_at__lt=CUTOFF), Alert.objects.filter(opened_at__gte=CUTOFF)

    assert older.count() > 300
    assert older.exclude(outcome="").count() >= 0.9 * older.count()
    # The people labelled none of the recent alerts; the inference's labels aside, they wait in the inbox.
    assert not recent.filter(outcome_by__isnull=False).exists()
    assert not recent.filter(acknowledged_at__isnull=False).exists()
    assert demo.figures.left_in_inbox == recent.filter(outcome="").count() >= 1
    assert demo.figures.by_people == Alert.objects.filter(outcome_by__isnull=False).count() >= 20
    assert demo.figures.inferred_transient > demo.figures.inferred_duplicate > 10


@pytest.mark.django_db
def test_lambda_errors_and_api_5xx_pairs_sit_in_one_incident_the_second_a_duplicate_of_the_first(demo):
    fired = openings(demo.history, "pair")
    twins = 0
    for function, api in demo.history.pairs:
        for at in fired[function.arn]:
            near = sorted(fired[api.arn], key=lambda o: abs(o - at))[:1]
            if not near or abs(near[0] - at) > timedelta(minutes=1) or max(at, near[0]) > CUTOFF:
                continue
            other = near[0]
            first, second = sorted((alert_of(function, at), alert_of(api, other)), key=lambda a: a.opened_at)

            assert first.incident_id is not None and first.incident_id == second.incident_id
            assert (second.outcome, second.outcome_inferred, second.outcome_by) == (Outcome.DUPLICATE, True, None)
            assert second.duplicate_of.incident_id == first.incident_id
            assert second.duplicate_of.opened_at <= second.opened_at
            twins += second.duplicate_of_id == first.pk
            # The first recovered by itself: inferred when it was quick, else said by a person.
            assert first.outcome == Outcome.TRANSIENT
    assert twins >= 10


@pytest.mark.django_db
def test_a_real_incident_had_customer_impact_and_its_other_alerts_were_actioned_or_duplicates(demo):
    checked = 0
    for start, alarms in demo.history.incidents:
        if start > CUTOFF:
            continue
        window = (start, start + timedelta(minutes=6))
        arns = [alarm.arn for alarm in alarms]
        alerts = list(Alert.objects.filter(alarm__arn__in=arns, opened_at__range=window).order_by("opened_at", "pk"))
        lead, others = alerts[0], alerts[1:]

        assert len({a.incident_id for a in alerts}) == 1
        assert lead.outcome == Outcome.CUSTOMER_IMPACT and lead.outcome_by is not None and lead.outcome_note
        assert Incident.objects.get(pk=lead.incident_id).customer_impact == CustomerImpact.YES
        for alert in others:
            assert alert.outcome in (Outcome.ACTIONED, Outcome.DUPLICATE)
            if alert.outcome == Outcome.DUPLICATE and not alert.outcome_inferred:
                assert alert.duplicate_of_id == lead.pk
            if not alert.outcome_inferred:  # the one on call answered all of them
                assert alert.outcome_by == lead.outcome_by
                assert alert.acknowledged_at - alert.opened_at <= timedelta(minutes=5)
        checked += 1
    assert checked >= 3


def test_a_noisy_alarm_s_backlog_was_acted_on_while_its_blips_were_not(demo):
    checked = 0
    for alarm in demo.history.backlogs:
        backlogs = [at for at in openings(demo.history, "backlog")[alarm.arn] if at < CUTOFF]
        blips = [at for at in openings(demo.history, "blip")[alarm.arn] if at < CUTOFF]
        for at in backlogs:
            alert = alert_of(alarm, at)
            assert alert.outcome in (Outcome.ACTIONED, Outcome.CUSTOMER_IMPACT) and alert.outcome_by is not None
            checked += 1
        assert all(alert_of(alarm, at).outcome not in (Outcome.ACTIONED, Outcome.CUSTOMER_IMPACT) for at in blips)
    assert checked >= 5


@pytest.mark.django_db
def test_the_stuck_alert_is_acknowledged_and_left_open_and_flapping_sessions_are_judged_by_their_first(demo):
    (stuck,) = Alert.objects.filter(alarm__arn=demo.history.stuck.arn)
    flaps = list(Alert.objects.filter(alarm__arn=demo.history.flapping.arn, opened_at__lt=CUTOFF).order_by("opened_at"))
    sessions = [flaps[0]] + [b for a, b in pairwise(flaps) if b.opened_at - a.opened_at > timedelta(minutes=30)]

    assert stuck.closed_at is None and stuck.outcome == "" and stuck.acknowledged_by is not None
    assert timedelta(0) < stuck.acknowledged_at - stuck.opened_at <= timedelta(minutes=15)
    assert len(sessions) >= 2
    for alert in flaps:
        if alert in sessions:
            assert alert.outcome in (Outcome.FALSE_POSITIVE, Outcome.NO_ACTION) and alert.outcome_by is not None
        else:
            assert (alert.outcome, alert.outcome_inferred) == (Outcome.TRANSIENT, True)


@pytest.mark.django_db
def test_people_answer_for_their_teams_within_minutes_and_every_label_is_audited(demo):
    answered = Alert.objects.filter(outcome_by__isnull=False) | Alert.objects.filter(acknowledged_at__isnull=False)
    members = defaultdict(set)
    for team_id, user_id in get_user_model().objects.filter(teams__isnull=False).values_list("teams", "pk"):
        members[team_id].add(user_id)
    responders = set(get_user_model().objects.filter(username__in=("editor", "admin")).values_list("pk", flat=True))
    audited = set(AuditEntry.objects.values_list("action", "target", "actor_id"))

    assert answered.count() >= 20
    for alert in answered.select_related("alarm"):
        people = {alert.outcome_by_id, alert.acknowledged_by_id} - {None}
        assert people <= (members[alert.alarm.owner_team_id] or responders)
        moments = [m for m in (alert.acknowledged_at, alert.outcome_at) if m is not None]
        assert alert.first_response_at == min(moments)
        # Minutes, not the weeks between the history and the moment the demo recorded them.
        if alert.acknowledged_by_id:
            assert timedelta(0) < alert.acknowledged_at - alert.opened_at <= timedelta(minutes=15)
            assert (ACK_ACTION, f"alert:{alert.pk}", alert.acknowledged_by_id) in audited
        if alert.outcome_by_id:
            assert timedelta(0) < alert.outcome_at - max(alert.closed_at, alert.acknowledged_at or alert.opened_at)
            assert alert.outcome_at - alert.closed_at <= timedelta(minutes=30)
            assert (OUTCOME_ACTION, f"alert:{alert.pk}", alert.outcome_by_id) in audited


@pytest.mark.django_db
def test_running_it_again_changes_nothing(demo):
    before = snapshot()

    figures = demo_label_outcomes(now=END, keep_unlabelled_days=KEEP)

    assert snapshot() == before
    assert figures == demo.figures


@pytest.mark.django_db
def test_the_same_alerts_get_the_same_labels_from_the_same_people_at_the_same_moments(demo):
    human = Alert.objects.filter(outcome_by__isnull=False) | Alert.objects.filter(acknowledged_at__isnull=False)
    before = snapshot()
    human.filter(outcome_inferred=False).update(outcome="", outcome_note="", duplicate_of=None, outcome_by=None)
    human.update(outcome_at=None, acknowledged_by=None, acknowledged_at=None, first_response_at=None)
    AuditEntry.objects.all().delete()
    Incident.objects.update(customer_impact=CustomerImpact.UNKNOWN, announcement="none")

    demo_label_outcomes(now=END, keep_unlabelled_days=KEEP)

    after = snapshot()
    assert after["alerts"] == before["alerts"] and after["incidents"] == before["incidents"]


@pytest.mark.django_db
def test_the_first_reviews_list_the_never_acted_on_duplicate_and_transient_alarms(demo):
    from alarms.review.models import Review
    from alarms.review.services.workflow import iso_week, teams_with_alarms
    from portal.demo.reviews import demo_open_reviews

    early = Review.objects.create(team=Team.objects.first(), week=iso_week(END), opened_at=END, lookback_days=90)

    done = demo_open_reviews(now=END)

    assert done.teams == teams_with_alarms().count() >= 2
    assert {"never_acted_on", "duplicate", "transient"} <= set(done.by_rule)
    assert Review.objects.count() == done.teams and not Review.objects.filter(pk=early.pk).exists()
    assert demo_open_reviews(now=END).items == done.items  # and once opened, kept


# --- the hook in the demo -----------------------------------------------------------------------------------


@pytest.fixture
def traffic(tmp_path, monkeypatch):
    """The demo's traffic on an empty catalog, its posting stubbed and the worker's progress decided by a test."""
    said, calls = [], []
    demo_traffic = DemoAlertTraffic(
        url="http://127.0.0.1:9/hooks/sns/",
        cert_dir=tmp_path,
        topics=["arn:aws:sns:eu-west-1:111111111111:okami-demo-alarms"],
        say=said.append,
        reminder="reminder",
        after_history=lambda: calls.append("labelled"),
    )
    monkeypatch.setattr(demo_traffic.traffic, "send", lambda changes: SendResult(posted=len(changes)))
    return SimpleNamespace(demo=demo_traffic, said=said, calls=calls)


@pytest.mark.django_db
@pytest.mark.parametrize("processed", [True, False])
def test_the_demo_labels_once_the_worker_has_processed_the_history(traffic, monkeypatch, processed):
    monkeypatch.setattr(traffic.demo, "_await_processing", lambda started: processed)

    assert traffic.demo._load() is not None
    assert traffic.calls == (["labelled"] if processed else [])  # never on a half-processed history


@pytest.mark.django_db
def test_a_failed_labelling_leaves_the_demo_running(traffic, monkeypatch):
    monkeypatch.setattr(traffic.demo, "_await_processing", lambda started: True)

    def fail():
        raise RuntimeError("boom")

    traffic.demo.after_history = fail

    assert traffic.demo._load() is not None
    assert any("failed" in line for line in traffic.said) and traffic.said[-1] == "reminder"
