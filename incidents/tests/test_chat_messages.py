"""Chat messages as Slack would render them: untrusted text is inert wherever it appears, the buttons carry the
alert, the state, incident and budget lines say where things stand, and only http(s) runbooks are linked."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from alarms.models import Alarm, AwsAccount, Service, Team
from incidents.chat import messages
from incidents.models import Alert, Incident
from incidents.services.chat import Budget

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EVIL = "<!channel> *boom* <https://evil|click> <@U123> & _it_ ~x~ `code`"
BASE = "https://okami.example.com"


def unsaved_alert(*, name=EVIL, reason=EVIL, runbook="https://wiki.example.com/runbooks/checkout", team=True,
                  channel="#payments-alerts", **fields) -> Alert:  # fmt: skip
    """An alert with its relations in memory, as the service selects them: the builders read nothing more."""
    account = AwsAccount(pk=1, account_id="111111111111", name="prod")
    owner = Team(pk=7, slug="payments", name=EVIL, chat_channel=channel) if team else None
    alarm = Alarm(
        pk=42, arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:{name}", account=account, region="eu-west-1",
        name=name, tier="page", service=Service(pk=3, slug="checkout", name=EVIL), owner_team=owner,
        purpose_detects=EVIL, purpose_customer_impact="Checkout fails", purpose_action="Roll back",
        runbook_url=runbook,
    )  # fmt: skip
    return Alert(pk=1001, alarm=alarm, opened_at=T0, reason=reason, **fields)


def mrkdwn_texts(blocks) -> list[str]:
    """Every text Slack parses as mrkdwn (a text object without a type is mrkdwn only where Slack says so;
    ours always say)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def assert_inert(message):
    """Nothing from the data is live: no mention, link or formatting in mrkdwn or in the notification text."""
    for text in [message.text, *mrkdwn_texts(message.blocks)]:
        for live in ("<!channel>", "<@U123>", "<https://evil", "*boom*", "_it_", "~x~", "`code`"):
            assert live not in text, (live, text)
    # The plain_text objects carry it as it was (Slack shows it literally): nothing was lost.
    assert EVIL in json.dumps(message.blocks, ensure_ascii=False) or "boom" in json.dumps(message.blocks)


def buttons(message) -> list[dict]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_an_alarm_named_with_markup_renders_inert_in_every_block():
    message = messages.alert_message(unsaved_alert(), budget=Budget(3, 15), base_url=BASE)

    assert_inert(message)
    assert "&lt;!channel&gt;" in message.text
    header = message.blocks[0]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert header["text"]["text"].startswith("ALARM: <!channel> *boom*")  # shown literally, never parsed


def test_thread_fallback_and_digest_messages_are_inert_too():
    alert = unsaved_alert(team=False)
    rows = [messages.DigestRow(name=EVIL, count=4, url=messages.alarm_url(42, BASE))]

    for message in (
        messages.thread_message(alert, base_url=BASE),
        messages.alert_message(alert, budget=None, base_url=BASE),
        messages.digest_message(Team(slug="payments", name=EVIL), rows, day=date(2026, 11, 30), base_url=BASE),
        messages.test_message(Team(slug="payments", name=EVIL)),
    ):
        assert_inert(message)


def test_six_buttons_carry_the_alert_id_until_a_person_records_an_outcome():
    open_alert = messages.alert_message(unsaved_alert(), budget=Budget(1, 15), base_url=BASE)
    inferred = messages.alert_message(
        unsaved_alert(outcome="transient", outcome_inferred=True), budget=Budget(1, 15), base_url=BASE
    )
    labelled = messages.alert_message(
        unsaved_alert(outcome="actioned", outcome_by_name="eddie", outcome_at=T0), budget=Budget(1, 15), base_url=BASE
    )

    assert [b["action_id"] for b in buttons(open_alert)] == [
        "okami_ack", "okami_actioned", "okami_customer_impact", "okami_no_action", "okami_transient",
        "okami_false_positive",
    ]  # fmt: skip
    assert {b["value"] for b in buttons(open_alert)} == {"1001"}
    assert [b["text"]["text"] for b in buttons(open_alert)] == [
        "Acknowledge", "Actioned", "Customer impact", "No action needed", "Transient", "False positive",
    ]  # fmt: skip
    assert len(buttons(inferred)) == 6
    assert buttons(labelled) == []
    assert "Actioned, by eddie" in json.dumps(labelled.blocks)
    assert "Transient (inferred)" in json.dumps(inferred.blocks)


def test_an_acknowledged_alert_says_who_and_drops_its_acknowledge_button():
    alert = unsaved_alert(acknowledged_at=T0 + timedelta(minutes=2), acknowledged_by_name="vera")

    message = messages.alert_message(alert, budget=Budget(1, 15), base_url=BASE)

    assert "acknowledged by vera" in json.dumps(message.blocks)
    assert "okami_ack" not in [b["action_id"] for b in buttons(message)]


def test_the_state_incident_and_budget_lines():
    incident = Incident(pk=12, title="Checkout: api 5XX", opened_at=T0, last_alert_at=T0)
    closed = unsaved_alert(closed_at=T0 + timedelta(minutes=9), incident=incident)

    message = messages.alert_message(closed, budget=Budget(16, 15), base_url=BASE)
    shown = json.dumps(message.blocks)

    assert message.blocks[0]["text"]["text"].startswith("Resolved: ")
    assert "Closed at 2026-11-30 09:09" in shown
    assert "Incident #12 (open, customer impact: unknown): Checkout: api 5XX" in shown
    assert "16 of 15 page notifications this week (over budget)" in shown
    assert "3 of 15 page notifications this week" in json.dumps(
        messages.alert_message(unsaved_alert(), budget=Budget(3, 15), base_url=BASE).blocks
    )


@pytest.mark.parametrize(
    ("runbook", "linked"),
    [
        ("https://wiki.example.com/runbooks/checkout", "https://wiki.example.com/runbooks/checkout"),
        ("http://wiki.internal/run book|x>y", "http://wiki.internal/run%20book%7Cx%3Ey"),
        ("javascript:alert(1)", None),
        ("ftp://files.example.com/runbook", None),
        ("", None),
    ],
)
def test_the_runbook_is_linked_only_when_it_is_http(runbook, linked):
    message = messages.alert_message(unsaved_alert(runbook=runbook), budget=Budget(1, 15), base_url=BASE)
    links = " ".join(mrkdwn_texts(message.blocks))

    assert f"<{BASE}/alerts/1001/|Open the alert>" in links
    if linked:
        assert f"<{linked}|Runbook>" in links
    else:
        assert "|Runbook>" not in links


def test_an_unowned_alarm_asks_for_an_owner_and_a_team_without_channel_for_a_channel():
    unowned = messages.alert_message(unsaved_alert(team=False), budget=None, base_url=BASE)
    silent = messages.alert_message(unsaved_alert(channel=""), budget=Budget(1, 15), base_url=BASE)
    routed = messages.alert_message(unsaved_alert(), budget=Budget(1, 15), base_url=BASE)

    assert f"<{BASE}/alarms/42/|Assign an owner>" in mrkdwn_texts(unowned.blocks)
    assert "This alarm has no owner team." in json.dumps(unowned.blocks)
    assert "page notifications" not in json.dumps(unowned.blocks)
    assert "has no chat channel" in json.dumps(silent.blocks)
    assert "Assign an owner" not in json.dumps(routed.blocks)


def test_the_purpose_falls_back_to_the_suggestion_and_says_so():
    alert = unsaved_alert()
    alarm = alert.alarm
    alarm.purpose_detects = alarm.purpose_customer_impact = alarm.purpose_action = ""
    alarm.suggested_detects = "5XX responses of the API"

    shown = json.dumps(messages.alert_message(alert, budget=Budget(1, 15), base_url=BASE).blocks)

    assert "Purpose (suggested, not confirmed)" in shown and "Detects: 5XX responses of the API" in shown


def test_a_digest_lists_alarms_by_count_with_links_and_stays_within_slack_limits():
    rows = [messages.DigestRow(name=f"queue-{i}-age", count=i, url=messages.alarm_url(i, BASE)) for i in range(1, 80)]

    message = messages.digest_message(Team(slug="payments", name="Payments"), rows, day=date(2026, 11, 30),
                                      base_url=BASE)  # fmt: skip
    listing = message.blocks[1]["text"]["text"]

    assert listing.splitlines()[0] == f"79 alerts: <{BASE}/alarms/79/|queue-79-age>"
    assert listing.splitlines()[-1].startswith("and ") and len(listing) <= messages.SECTION_MAX
    assert "3160 from 79 alarms" in message.text
