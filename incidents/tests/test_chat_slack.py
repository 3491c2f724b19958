"""Chat against a local stand-in for Slack's Web API (SLACK_API_URL): alerts come in through the real ingest,
the tasks run when the commit happens (eagerly, in this process), and what Slack received is asserted call by
call. Posted once per alert, updated in place, threaded per incident, retried after Retry-After, never blocking
ingest; ticket-tier alerts only in the digest, info never."""

import json
import logging
from datetime import time, timedelta

import pytest
from celery import signals
from django.core.exceptions import ValidationError
from django.utils import timezone

from alarms.models import Alarm, Service, Team
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.models import Alert, ChatDigest, ChatPost, TeamAlertPolicy
from incidents.services.chat import alert_announce, digests_send, team_test_message
from incidents.services.episodes import state_change_record
from incidents.services.ingest import inbound_process_pending
from incidents.services.outcomes import alert_acknowledge, alert_outcome_record
from incidents.tasks import chat_alert_announce_task
from incidents.tests.test_sns_hook import ARN, change, post
from portal.celery import app as celery_app
from portal.slack_standin import SlackStandIn, channel_id

pytestmark = pytest.mark.django_db

CHANNEL = "#payments-alerts"


@pytest.fixture
def slack(settings):
    standin = SlackStandIn(token="xoxb-test").start()
    settings.SLACK_BOT_TOKEN = "xoxb-test"
    settings.SLACK_API_URL = standin.url
    settings.OKAMI_BASE_URL = "https://okami.example.com"
    yield standin
    standin.stop()


@pytest.fixture(autouse=True)
def eager():
    """Tasks queued after a commit run at once, in this process, retries included (without their wait)."""
    conf = celery_app.conf
    before = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, False
    yield
    conf.task_always_eager, conf.task_eager_propagates = before


@pytest.fixture
def estate(catalog, make_alarms):
    team = catalog["team"]
    team.chat_channel = CHANNEL
    team.save(update_fields=["chat_channel"])
    api, fn = make_alarms(catalog["account"], 2, prefix="checkout", tier="page", service=catalog["service"],
                          owner_team=team)  # fmt: skip
    return {**catalog, "api": api, "fn": fn}


@pytest.fixture
def fire(django_capture_on_commit_callbacks):
    """An alarm going into ALARM (or back to OK) ``minutes`` ago, through the ingest's own service, with what the
    commit queues run."""

    def fire(alarm, *, state="ALARM", minutes=1):
        report = AlarmStateReport(
            arn=alarm.arn, name=alarm.name, account_id="111111111111", region=alarm.region,
            at=timezone.now() - timedelta(minutes=minutes), new_state=state,
            old_state="OK" if state == "ALARM" else "ALARM", reason="Threshold Crossed: 5 datapoints > 1.0",
        )  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            state_change_record(alarm_id=alarm.pk, report=report, source=f"test:{alarm.pk}:{state}:{minutes}")
        return Alert.objects.filter(alarm=alarm).order_by("-opened_at").first()

    return fire


def posts(slack):
    return slack.calls_to("chat.postMessage")


def shown(call) -> str:
    return json.dumps(call.args.get("blocks") or [], ensure_ascii=False)


def test_a_page_alert_is_posted_once_to_its_team_with_what_a_responder_needs(slack, estate, fire):
    alert = fire(estate["api"])
    again = chat_alert_announce_task.apply(args=(alert.pk,)).get()

    assert again == "already"
    (call,) = posts(slack)
    assert call.authorization == "Bearer xoxb-test"
    assert call.args["channel"] == CHANNEL
    assert "checkout-0-Errors" in shown(call) and "Threshold Crossed" in shown(call)
    assert f"<https://okami.example.com/alerts/{alert.pk}/|Open the alert>" in shown(call)
    assert "1 of 15 page notifications this week" in shown(call)
    assert [e["value"] for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        str(alert.pk)
    ] * 6
    chat_post = ChatPost.objects.get(alert=alert)
    assert (chat_post.status, chat_post.channel, chat_post.thread_ts) == ("posted", channel_id(CHANNEL), "")
    assert chat_post.ts == slack.messages[(chat_post.channel, chat_post.ts)].ts


def test_an_outcome_recorded_on_the_web_updates_the_same_message(slack, estate, fire, editor,
                                                                 django_capture_on_commit_callbacks):  # fmt: skip
    alert = fire(estate["api"])
    chat_post = ChatPost.objects.get(alert=alert)

    with django_capture_on_commit_callbacks(execute=True):
        alert_acknowledge(alert=alert, actor=editor)
    with django_capture_on_commit_callbacks(execute=True):
        alert_outcome_record(alert=alert, outcome="actioned", actor=editor, note="rolled back")

    updates = slack.calls_to("chat.update")
    assert [(u.args["channel"], u.args["ts"]) for u in updates] == [(chat_post.channel, chat_post.ts)] * 2
    assert "acknowledged by eddie" in shown(updates[0])
    assert "Actioned, by eddie" in shown(updates[1])
    assert not [b for b in updates[1].args["blocks"] if b["type"] == "actions"]  # no buttons once decided
    assert len(posts(slack)) == 1
    assert ChatPost.objects.get(alert=alert).updated_at is not None


def test_an_alert_closing_updates_its_message(slack, estate, fire):
    alert = fire(estate["api"], minutes=3)
    fire(estate["api"], state="OK", minutes=1)

    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == ChatPost.objects.get(alert=alert).ts
    assert update.args["blocks"][0]["text"]["text"].startswith("Resolved: ")


def test_a_second_alert_of_the_incident_replies_in_the_first_ones_thread(slack, estate, fire):
    first = fire(estate["api"], minutes=2)
    second = fire(estate["fn"], minutes=1)

    assert first.incident_id is not None and second.incident_id == first.incident_id
    top, reply = posts(slack)
    assert "thread_ts" not in top.args
    first_post = ChatPost.objects.get(alert=first)
    assert (reply.args["thread_ts"], reply.args["channel"]) == (first_post.ts, first_post.channel)
    assert "Also firing: checkout-1-Errors" in shown(reply)
    assert ChatPost.objects.get(alert=second).thread_ts == first_post.ts


def test_a_rate_limited_post_is_retried_after_retry_after_and_posted_once(slack, estate, fire):
    retries = []

    def on_retry(request, reason, **kwargs):
        retries.append(reason.when)

    slack.rate_limit(1, retry_after=7)
    signals.task_retry.connect(on_retry, weak=False)
    try:
        alert = fire(estate["api"])
    finally:
        signals.task_retry.disconnect(on_retry)

    assert [c.status for c in slack.calls_to("chat.postMessage", status=None)] == [429, 200]
    assert retries == [7.0]
    assert ChatPost.objects.get(alert=alert).status == "posted"


def test_ticket_and_info_alerts_and_muted_alarms_are_never_posted(slack, estate, fire, make_alarms):
    ticket, info, unset = make_alarms(estate["account"], 3, prefix="quiet", owner_team=estate["team"])
    Alarm.objects.filter(pk=ticket.pk).update(tier="ticket")
    Alarm.objects.filter(pk=info.pk).update(tier="info")
    Alarm.objects.filter(pk=estate["api"].pk).update(actions_enabled=False)

    for alarm in (ticket, info, unset, estate["api"]):
        fire(alarm)

    assert slack.calls == []
    assert not ChatPost.objects.exists()


def test_an_old_or_closed_alert_is_not_news(slack, estate, fire):
    old = fire(estate["api"], minutes=60)  # a late report: opened an hour ago
    assert alert_announce(alert_id=old.pk) == "not fresh"
    assert slack.calls == []


def test_ticket_alerts_go_into_the_team_digest_once_a_day(slack, estate, fire, settings, make_alarms):
    (ticket,) = make_alarms(estate["account"], 1, prefix="orders-queue", tier="ticket", owner_team=estate["team"])
    fire(ticket, minutes=30)
    fire(ticket, state="OK", minutes=20)
    fire(ticket, minutes=10)
    assert posts(slack) == []

    TeamAlertPolicy.objects.create(team=estate["team"], digest_time=time(0, 0))
    sent, again = digests_send(), digests_send()

    assert (sent, again) == (1, 0)
    (digest,) = posts(slack)
    assert digest.args["channel"] == CHANNEL
    assert f"2 alerts: <https://okami.example.com/alarms/{ticket.pk}/|orders-queue-0-Errors>" in shown(digest)
    row = ChatDigest.objects.get()
    assert (row.alerts, row.ts) == (2, digest_ts(slack))


def digest_ts(slack):
    (message,) = slack.messages.values()
    return message.ts


def test_a_digest_waits_for_its_time_and_an_empty_one_is_not_posted(slack, estate, settings):
    TeamAlertPolicy.objects.create(team=estate["team"], digest_time=(timezone.localtime() + timedelta(hours=1)).time())
    settings.OKAMI_DIGEST_TIME = "00:00"
    if timezone.localtime().hour == 23:
        pytest.skip("the team's digest time would be tomorrow")

    assert digests_send() == 0
    assert not ChatDigest.objects.exists()
    TeamAlertPolicy.objects.filter(team=estate["team"]).update(digest_time=None)
    assert digests_send() == 0  # due now, but nothing to say: recorded, not posted
    assert ChatDigest.objects.get().alerts == 0
    assert slack.calls == []


def test_an_unowned_page_alarm_goes_to_the_fallback_channel_asking_for_an_owner(slack, estate, fire, settings):
    settings.OKAMI_CHAT_FALLBACK_CHANNEL = "#alarms-unowned"
    Alarm.objects.filter(pk=estate["api"].pk).update(owner_team=None)
    alarm = Alarm.objects.get(pk=estate["api"].pk)

    fire(alarm)

    (call,) = posts(slack)
    assert call.args["channel"] == "#alarms-unowned"
    assert f"<https://okami.example.com/alarms/{alarm.pk}/|Assign an owner>" in shown(call)
    assert "page notifications this week" not in shown(call)


def test_a_team_without_a_channel_falls_back_too(slack, estate, fire):
    Team.objects.filter(pk=estate["team"].pk).update(chat_channel="")

    fire(estate["api"])

    (call,) = posts(slack)
    assert call.args["channel"] == "#alarms-unowned" and "has no chat channel" in shown(call)


def test_with_slack_down_ingest_succeeds_and_the_claim_is_released_for_the_retry(
    slack, client, signer, account, django_capture_on_commit_callbacks
):
    payments = Team.objects.create(slug="payments", name="Payments", chat_channel=CHANNEL)
    service = Service.objects.create(slug="checkout", name="Checkout", team=payments)
    Alarm.objects.create(arn=ARN, account=account, region="eu-west-1", name="checkout-api-5XX", tier="page",
                         service=service, owner_team=payments)  # fmt: skip
    slack.stop()

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, change(signer, "ALARM", "OK", timezone.now() - timedelta(minutes=1)))
        inbound_process_pending()

    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.is_open and not ChatPost.objects.exists()  # nothing posted, nothing claimed for good

    slack.start()  # Slack is back: the next try (the task's retry) posts it, once
    assert chat_alert_announce_task.apply(args=(alert.pk,)).get() == "posted"
    assert len(posts(slack)) == 1


def test_a_refused_post_is_failed_and_never_posted_again(slack, estate, fire, settings):
    settings.SLACK_BOT_TOKEN = "xoxb-revoked"

    alert = fire(estate["api"])
    settings.SLACK_BOT_TOKEN = "xoxb-test"

    chat_post = ChatPost.objects.get(alert=alert)
    assert (chat_post.status, chat_post.error) == ("failed", "Slack refused: invalid_auth")
    assert alert_announce(alert_id=alert.pk) == "already"
    assert [c.authorization for c in posts(slack)] == ["Bearer xoxb-revoked"]  # tried once, refused


def test_without_a_token_the_message_goes_to_the_log(estate, fire, settings, caplog):
    settings.SLACK_BOT_TOKEN = ""

    with caplog.at_level(logging.INFO, logger="okami.chat"):
        alert = fire(estate["api"])

    assert f"chat post to {CHANNEL}" in caplog.text and "ALARM: checkout-0-Errors" in caplog.text
    assert ChatPost.objects.get(alert=alert).status == "posted"


def test_a_test_message_goes_to_the_team_channel(slack, estate):
    posted = team_test_message(team=estate["team"], actor=None)

    (call,) = posts(slack)
    assert (call.args["channel"], posted.channel) == (CHANNEL, channel_id(CHANNEL))
    estate["team"].chat_channel = ""
    with pytest.raises(ValidationError, match="chat_channel"):
        team_test_message(team=estate["team"], actor=None)


def test_a_post_answered_by_a_gateway_error_is_never_posted_again(slack, estate, fire):
    """A 502 after Slack did the work cannot be told from one before it: the post is not repeated."""
    slack.fail(1, 502, after_effect=True)

    alert = fire(estate["api"])

    assert len(slack.messages) == 1  # Slack posted it once, whatever the client saw
    assert ChatPost.objects.get(alert=alert).status == "failed"
    assert alert_announce(alert_id=alert.pk) == "already"
    assert len(slack.calls_to("chat.postMessage", status=None)) == 1


def test_an_update_answered_by_a_gateway_error_is_tried_again(slack, estate, fire, editor,
                                                              django_capture_on_commit_callbacks):  # fmt: skip
    alert = fire(estate["api"])
    slack.fail(1, 503, after_effect=False)

    with django_capture_on_commit_callbacks(execute=True):
        alert_outcome_record(alert=alert, outcome="actioned", actor=editor)

    assert [c.status for c in slack.calls_to("chat.update", status=None)] == [503, 200]


def test_a_lost_announcement_is_found_by_the_sweep_while_it_is_news(slack, estate, fire, settings):
    from incidents.services.chat import announcements_missing
    from incidents.tasks import chat_announce_sweep_task

    settings.SLACK_BOT_TOKEN = ""  # as if the task never ran: no claim, no message
    alert = fire(estate["api"])
    ChatPost.objects.all().delete()
    settings.SLACK_BOT_TOKEN = "xoxb-test"
    assert announcements_missing() == [alert.pk]
    assert announcements_missing(now=alert.opened_at + timedelta(hours=1)) == []  # no longer news

    assert chat_announce_sweep_task.apply().get() == 1

    assert len(posts(slack)) == 1 and announcements_missing() == []


def test_a_refresh_waits_while_another_updates_the_same_message(slack, estate, fire):
    """Two refreshes of one message never run at once: the second waits its turn, then shows the latest state."""
    from django.core.cache import cache

    from incidents.chat.notifier import ChatError
    from incidents.services.chat import alert_message_refresh

    alert = fire(estate["api"])
    cache.add(f"okami:chat-refresh:{alert.pk}", 1)  # another worker is updating it

    with pytest.raises(ChatError) as waiting:
        alert_message_refresh(alert_id=alert.pk)
    cache.delete(f"okami:chat-refresh:{alert.pk}")

    assert waiting.value.retry_after and not slack.calls_to("chat.update")
    assert alert_message_refresh(alert_id=alert.pk) == "updated"


def test_another_teams_alarm_in_the_incident_tells_its_own_team(slack, estate, fire, make_alarms):
    platform = Team.objects.create(slug="platform", name="Platform", chat_channel="#platform-alerts")
    (gateway,) = make_alarms(estate["account"], 1, prefix="edge", tier="page", service=estate["service"],
                             owner_team=platform)  # fmt: skip

    first = fire(estate["api"], minutes=2)
    theirs = fire(gateway, minutes=1)

    assert theirs.incident_id == first.incident_id
    assert [(c.args["channel"], "thread_ts" in c.args) for c in posts(slack)] == [
        (CHANNEL, False),
        ("#platform-alerts", False),
    ]
