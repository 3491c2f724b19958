"""The demo's alert traffic: ninety days shaped like a real estate's, the same for a seed, signed so that the
real webhook believes it, and turned into the alerts it describes; the live trickle closes what it opens."""

import json
import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from alarms.models import Alarm
from alarms.tests.conftest import catalog  # noqa: F401 (fixture)
from incidents.models import Alert, InboundMessage, InboundStatus
from incidents.services.ingest import inbound_process_pending
from portal.demo.alert_traffic import (
    API_5XX,
    LAMBDA_ERRORS,
    MANAGED,
    AlertTraffic,
    DemoAlarm,
    alarm_history,
    catalog_alarms,
    topic_arn,
)
from portal.demo.estate import (
    API_ALARMS,
    LAMBDA_ALARMS,
    QUEUE_ALARMS,
    REGIONS,
    SERVICES,
    STREAM_ALARMS,
    TABLE_ALARMS,
    TEAMS,
)
from portal.management.commands.run_demo import alert_environ, demo_topics

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def catalog_alarm(alarm, account, *, topic: str, **fields) -> Alarm:
    """The catalog's row of a demo alarm, as the sync would store it, notifying ``topic`` if it notifies."""
    return Alarm(
        arn=alarm.arn,
        account=account,
        region=alarm.region,
        name=alarm.name,
        namespace=alarm.namespace,
        metric_name=alarm.metric_name,
        dimensions=dict(alarm.dimensions),
        threshold=alarm.threshold,
        state=alarm.state,
        alarm_actions=[topic] if alarm.notifies else [],
        **fields,
    )


def estate_alarms(*, services=SERVICES, seed=1) -> list[DemoAlarm]:
    """The demo estate's alarms as the catalog holds them after the sync (without building it): every kind
    on every resource, a few in ALARM or stale, some without actions."""
    rng = random.Random(seed)
    alarms = []
    for spec in services:
        for region in REGIONS:
            prefix = f"{spec.slug}-{'prod' if region == 'eu-west-1' else 'prod-us'}"
            for kinds, shorts in (
                (LAMBDA_ALARMS, spec.functions),
                (TABLE_ALARMS, spec.tables),
                (QUEUE_ALARMS, spec.queues),
                (STREAM_ALARMS, spec.streams),
                (API_ALARMS, ("api", "internal-api")),
            ):
                for short in shorts:
                    resource = f"{prefix}-{short}"
                    for kind in kinds:
                        if kind.share < 1 and rng.random() >= kind.share:
                            continue
                        name, roll = f"{resource}-{kind.suffix}", rng.random()
                        alarms.append(
                            DemoAlarm(
                                arn=f"arn:aws:cloudwatch:{region}:{spec.account}:alarm:{name}",
                                name=name,
                                namespace=kind.namespace,
                                metric_name=kind.metric.format(resource=resource),
                                dimensions=tuple((k, v.format(resource=resource)) for k, v in kind.dimensions),
                                statistic=kind.statistic,
                                period=kind.period,
                                evaluation_periods=kind.evaluations,
                                threshold=float(rng.choice(kind.thresholds)),
                                state="ALARM" if roll < 0.03 else "INSUFFICIENT_DATA" if roll < 0.1 else "OK",
                                notifies=rng.random() > 0.13,
                                team=spec.team,
                            )
                        )
    return alarms


@pytest.fixture(scope="module")
def estate():
    return estate_alarms()


@pytest.fixture(scope="module")
def history(estate):
    return alarm_history(estate, end=END)


def by_alarm(changes):
    found = defaultdict(list)
    for change in changes:
        found[change.alarm.arn].append(change)
    return found


def episodes(changes):
    """(opened, closed or None) of one alarm's changes in time order."""
    pairs, opened = [], None
    for change in changes:
        if change.new_state == "ALARM":
            opened = change.at
        else:
            pairs.append((opened, change.at))
            opened = None
    return pairs + ([(opened, None)] if opened else [])


# --- the history --------------------------------------------------------------------------------------------


def test_the_history_is_the_same_for_a_seed_and_another_for_another(estate, history):
    again = alarm_history(list(reversed(estate)), end=END)
    other = alarm_history(estate, end=END, seed=8)

    assert again.changes == history.changes
    assert (again.stuck, again.flapping, again.pairs) == (history.stuck, history.flapping, history.pairs)
    assert other.changes != history.changes


def test_most_alarms_never_fire_and_the_total_starts_the_demo_in_reasonable_time(estate, history):
    assert 2000 <= len(history.changes) <= 6000
    assert history.alarms_fired < len(estate) * 0.1
    assert all(END - timedelta(days=90) <= c.at <= END for c in history.changes)
    assert [c.at for c in history.changes] == sorted(c.at for c in history.changes)
    fired = {c.alarm for c in history.changes}
    assert all(alarm.notifies for alarm in fired)  # an alarm without actions notifies nobody
    assert all(alarm.state == "OK" for alarm in fired - {history.stuck})  # stale ones stay stale


def test_each_alarm_alternates_and_says_which_state_it_left(history):
    for changes in by_alarm(history.changes).values():
        states = [c.new_state for c in changes]
        assert states[::2] == ["ALARM"] * len(states[::2]) and states[1::2] == ["OK"] * len(states[1::2])
        assert all(c.old_state == ("OK" if c.new_state == "ALARM" else "ALARM") for c in changes)
        assert len({c.at for c in changes}) == len(changes)


def test_one_alarm_is_stuck_in_alarm_for_weeks(history):
    changes = by_alarm(history.changes)[history.stuck.arn]

    assert [(c.new_state, c.shape) for c in changes] == [("ALARM", "stuck")]
    assert END - changes[0].at > timedelta(days=14)
    assert history.stuck.state == "ALARM"  # the catalog agrees: it is in ALARM now


def test_one_alarm_flaps_every_few_minutes_for_an_hour_a_few_times(history):
    changes = by_alarm(history.changes)[history.flapping.arn]
    sessions, current = [], [changes[0]]
    for change in changes[1:]:
        if change.at - current[-1].at > timedelta(minutes=30):
            sessions.append(current)
            current = []
        current.append(change)
    sessions.append(current)

    assert len(sessions) >= 3
    assert {c.shape for c in changes} == {"flap"}
    for session in sessions:
        assert len(session) >= 10
        assert timedelta(minutes=45) <= session[-1].at - session[0].at <= timedelta(minutes=85)
        assert all(timedelta(minutes=1) <= b.at - a.at <= timedelta(minutes=5) for a, b in pairwise(session))


def test_a_services_lambda_errors_and_api_5xx_fire_within_a_minute_of_each_other(history):
    assert history.pairs
    alarms = {c.alarm.arn: c for c in history.changes}
    openings = defaultdict(list)
    for change in history.changes:
        if change.shape == "pair" and change.new_state == "ALARM":
            openings[change.alarm.arn].append(change.at)
    for function, api in history.pairs:
        assert (function.metric, api.metric) == (LAMBDA_ERRORS, API_5XX)
        assert function.service_key == api.service_key and api.name.endswith("-api-5XXError")
        assert len(openings[function.arn]) >= 3  # about once a week or more
        for at in openings[function.arn]:
            assert any(abs(other - at) < timedelta(minutes=1) for other in openings[api.arn])
    assert set(openings) <= set(alarms)


def test_every_team_has_a_co_firing_pair_for_its_first_review(history):
    teams_with_a_pair = {api.team for _, api in history.pairs}

    assert teams_with_a_pair == {team for team, _, _ in TEAMS}


def test_managed_services_blip_for_a_few_minutes_several_times_a_week_and_now_and_then_longer(history):
    blips = defaultdict(list)
    for arn, changes in by_alarm(history.changes).items():
        for opened, closed in episodes([c for c in changes if c.shape == "blip"]):
            blips[arn].append(closed - opened)
    noisy = {a.arn: a for a in history.noisy}

    assert set(blips) == set(noisy) and len(noisy) >= 20
    assert all(noisy[arn].metric in MANAGED for arn in blips)
    durations = [d for lasting in blips.values() for d in lasting]
    short = [d for d in durations if timedelta(minutes=1) <= d < timedelta(minutes=5)]
    # Most are over within five minutes (transient); about one in five lasts 6 to 14 minutes.
    assert all(d < timedelta(minutes=14) for d in durations)
    assert 0.7 <= len(short) / len(durations) <= 0.9
    weeks = 90 / 7
    assert sum(len(lasting) / weeks >= 2 for lasting in blips.values()) >= 10  # several times a week
    assert max(len(lasting) for lasting in blips.values()) / weeks >= 5  # and one nearly every day


def test_a_few_real_incidents_take_several_alarms_of_one_service_for_half_an_hour_or_more(history):
    assert 3 <= len(history.incidents) <= 8
    changes = by_alarm(history.changes)
    for start, alarms in history.incidents:
        assert len(alarms) >= 2 and len({a.service_key for a in alarms}) == 1
        for alarm in alarms:
            own = episodes([c for c in changes[alarm.arn] if c.shape == "incident"])
            ((opened, closed),) = [e for e in own if timedelta(0) <= e[0] - start <= timedelta(minutes=6)]
            assert timedelta(minutes=20) <= closed - opened <= timedelta(minutes=90)


# --- through the webhook ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-sns-certs")


@pytest.fixture
def webhook(settings, cert_dir):
    from incidents.views.hooks import certificates

    settings.SNS_CERT_DIR = str(cert_dir)
    settings.SNS_CERT_DOWNLOAD = False
    settings.SNS_ALLOWED_TOPIC_ARNS = demo_topics()
    certificates.cache_clear()
    yield
    certificates.cache_clear()


def client_transport(client):
    def post(body, headers):
        answer = client.post("/hooks/sns/", body, content_type=headers["Content-Type"])
        return answer.status_code, answer.content.decode()

    return post


def sample(history):
    """About fifty changes: the stuck alarm, a flapping hour, co-firing pairs, an incident and blips,
    each alarm's first few whole episodes."""
    changes = by_alarm(history.changes)
    chosen = {history.stuck.arn: 1, history.flapping.arn: 12}
    function, api = history.pairs[0]
    chosen.update({function.arn: 4, api.arn: 4})
    for alarm in history.incidents[0][1]:
        chosen.setdefault(alarm.arn, 2 * len([c for c in changes[alarm.arn] if c.shape == "incident"][:1]))
    for alarm in history.noisy:
        if sum(chosen.values()) >= 50:
            break
        chosen.setdefault(alarm.arn, 2)
    picked = [c for arn, count in chosen.items() for c in changes[arn][:count]]
    return sorted(picked, key=lambda c: c.at)


@pytest.mark.django_db
def test_the_envelopes_verify_through_the_webhook_and_become_the_alerts_they_describe(
    catalog,  # noqa: F811 (the fixture)
    client,
    cert_dir,
    webhook,
):
    services = [spec for spec in SERVICES if spec.account == catalog["account"].account_id]
    Alarm.objects.bulk_create(
        catalog_alarm(a, catalog["account"], topic="arn:aws:sns:eu-west-1:111111111111:payments-alerts")
        for a in estate_alarms(services=services)
    )
    history = alarm_history(catalog_alarms(), end=END)
    changes = sample(history)
    traffic = AlertTraffic(cert_dir=cert_dir, transport=client_transport(client), workers=1)
    envelopes = [traffic.envelope(c) for c in changes[:2]]

    result = traffic.send(changes)
    inbound_process_pending()

    assert 40 <= len(changes) <= 60
    assert (result.posted, result.refused, result.failed) == (len(changes), 0, 0)
    assert {e["SignatureVersion"] for e in map(traffic.envelope, changes)} == {"1", "2"}
    assert envelopes == [traffic.envelope(c) for c in changes[:2]]  # the same change, the same message
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}
    expected = {(arn, opened, closed) for arn, cs in by_alarm(changes).items() for opened, closed in episodes(cs)}
    assert set(Alert.objects.values_list("alarm__arn", "opened_at", "closed_at")) == expected
    assert Alert.objects.get(closed_at__isnull=True).alarm.arn == history.stuck.arn
    assert Alert.objects.filter(alarm__arn=history.flapping.arn).count() == 6


@pytest.mark.django_db
def test_a_notification_sent_twice_is_stored_once(client, cert_dir, webhook, history):
    traffic = AlertTraffic(cert_dir=cert_dir, transport=client_transport(client), workers=1)

    assert traffic.send([history.changes[0], history.changes[0]]).posted == 2
    assert InboundMessage.objects.count() == 1


def test_the_children_pin_the_demo_certificate_and_allow_the_demo_topics(estate, tmp_path):
    environ = alert_environ(tmp_path, demo_topics())

    assert environ["SNS_CERT_DIR"] == str(tmp_path) and environ["SNS_CERT_DOWNLOAD"] == "0"
    assert {topic_arn(a.account_id, a.region) for a in estate} == set(environ["SNS_ALLOWED_TOPIC_ARNS"].split(","))


# --- sending ------------------------------------------------------------------------------------------------


def test_a_server_error_is_retried_and_a_refusal_is_not(cert_dir, history):
    answers = {"first": [503, 502, 200], "second": [403]}
    calls = defaultdict(int)

    def transport(body, headers):
        which = "first" if json.loads(body)["MessageId"] == first else "second"
        calls[which] += 1
        return answers[which].pop(0), "no"

    traffic = AlertTraffic(cert_dir=cert_dir, transport=transport, workers=2, backoff=0.001)
    first = traffic.envelope(history.changes[0])["MessageId"]
    result = traffic.send(history.changes[:2])

    assert (result.posted, result.refused, result.failed) == (1, 1, 0)
    assert dict(calls) == {"first": 3, "second": 1}
    assert result.first_problem == "403: no"


def test_the_live_trickle_sends_blips_at_the_real_time_and_closes_them_when_stopped(cert_dir, history):
    sent = []
    stop = threading.Event()

    def transport(body, headers):
        sent.append(json.loads(json.loads(body)["Message"]))
        if len(sent) >= 9:
            stop.set()
        return 200, "{}"

    traffic = AlertTraffic(cert_dir=cert_dir, transport=transport, stop=stop)
    started = datetime.now(UTC) - timedelta(seconds=1)
    count = traffic.trickle(history.noisy[:3], rng=random.Random(1), every=(0.001, 0.01), lasting=(0.001, 0.03))

    assert count == len(sent) >= 9
    per_alarm = defaultdict(list)
    for message in sent:
        per_alarm[message["AlarmArn"]].append((message["OldStateValue"], message["NewStateValue"]))
        assert message["StateChangeTime"] >= started.strftime("%Y-%m-%dT%H:%M:%S")
    assert set(per_alarm) <= {a.arn for a in history.noisy[:3]}
    for states in per_alarm.values():  # every blip opened is closed, none opens twice
        assert states == [("OK", "ALARM"), ("ALARM", "OK")] * (len(states) // 2)


def test_a_few_noisy_alarms_also_had_real_backlogs_in_the_last_two_weeks(history):
    changes = by_alarm(history.changes)
    noisy = {a.arn for a in history.noisy}

    assert 5 <= len(history.backlogs) <= 8
    for alarm in history.backlogs:
        assert alarm.arn in noisy
        own = episodes([c for c in changes[alarm.arn] if c.shape == "backlog"])
        assert own, alarm.name
        for opened, closed in own:
            # long enough that nobody calls it a blip, recent enough for one-minute datapoints to cover it
            assert timedelta(minutes=25) <= closed - opened <= timedelta(minutes=60)
            assert timedelta(days=3) <= END - opened <= timedelta(days=15)
