"""Buttons clicked in Slack (``POST /hooks/slack/actions/``): Slack's published signing example verifies and its
tampered variants do not; a real ``block_actions`` click records the same outcome, with the same audit, as the
web; unlinked Slack users are recorded by name, people of other teams are refused, nothing is recorded twice."""

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.test import Client
from slack_sdk.signature import SignatureVerifier

from alarms.models import AuditEntry, Team
from alarms.tests.local_estate import client_for
from incidents.models import Alert, ChatIdentity
from incidents.services.chat_actions import slack_request_problem

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "slack"
VECTOR = json.loads((FIXTURES / "signature-vector.json").read_text())
CLICK = json.loads((FIXTURES / "block-actions-payload.json").read_text())["payload"]
URL = "/hooks/slack/actions/"
SECRET = "slack-signing-secret-for-tests"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class FrozenClock:
    def __init__(self, now: float):
        self.value = now

    def now(self) -> float:
        return self.value


@pytest.fixture(autouse=True)
def signing_secret(settings):
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_BOT_TOKEN = ""


@pytest.fixture
def ephemerals(monkeypatch):
    """The ephemeral replies enqueued, as (channel, user, text)."""
    from incidents.tasks import chat_ephemeral_task

    sent = []
    monkeypatch.setattr(chat_ephemeral_task, "delay", lambda *args: sent.append(args))
    return sent


@pytest.fixture
def alerts(catalog, make_alarms):
    first, second = make_alarms(catalog["account"], 2, owner_team=catalog["team"])
    return (
        Alert.objects.create(alarm=first, opened_at=T0),
        Alert.objects.create(alarm=second, opened_at=T0 + timedelta(seconds=40), closed_at=T0 + timedelta(hours=1)),
    )


@pytest.fixture
def member(catalog, django_user_model):
    """A payments engineer whose Slack account (the one of the captured click) is linked."""
    user = django_user_model.objects.create_user("pat", email="pat@example.com", password="pw-pat-12345")
    catalog["team"].members.add(user)
    ChatIdentity.objects.create(user=user, slack_user_id=CLICK["user"]["id"])
    return user


def click(action_id: str, alert_id, *, user: dict | None = None, action_ts: str | None = None) -> dict:
    """The captured block_actions payload with our button in it."""
    payload = copy.deepcopy(CLICK)
    payload["actions"][0].update(action_id=action_id, value=str(alert_id))
    if user is not None:
        payload["user"] = user
    if action_ts is not None:
        payload["actions"][0]["action_ts"] = action_ts
    return payload


def form(payload) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def signed(body: str, *, secret: str = SECRET, timestamp: str | None = None) -> dict:
    timestamp = timestamp or str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp, "HTTP_X_SLACK_SIGNATURE": signature}


def post(client, body: str, headers: dict | None = None):
    headers = signed(body) if headers is None else headers
    return client.post(URL, body, content_type="application/x-www-form-urlencoded", **headers)


def nothing_recorded() -> bool:
    labelled = Alert.objects.exclude(outcome="") | Alert.objects.filter(acknowledged_at__isnull=False)
    return not labelled.exists() and not AuditEntry.objects.exists()


# --- The signature -------------------------------------------------------------------------------------------


def test_slacks_published_example_verifies():
    at = int(VECTOR["timestamp"])
    verifier = SignatureVerifier(VECTOR["signing_secret"], clock=FrozenClock(at + 30))

    assert (
        verifier.generate_signature(timestamp=VECTOR["timestamp"], body=VECTOR["body"]) == VECTOR["expected_signature"]
    )
    assert verifier.is_valid_request(VECTOR["body"], VECTOR["headers"])
    assert (
        slack_request_problem(
            body=VECTOR["body"].encode(),
            timestamp=VECTOR["timestamp"],
            signature=VECTOR["expected_signature"],
            secret=VECTOR["signing_secret"],
            now=at + 30,
        )
        == ""
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": VECTOR["body"].replace("roadrunner", "wile.e.coyote")}, "does not match"),
        ({"body": VECTOR["body"] + "&x=1"}, "does not match"),
        ({"timestamp": str(int(VECTOR["timestamp"]) + 1)}, "does not match"),
        ({"timestamp": str(int(VECTOR["timestamp"]) - 301)}, "5 minutes"),
        ({"timestamp": "1531420618.5"}, "not a Unix time"),
        ({"signature": VECTOR["expected_signature"][:-1] + "0"}, "does not match"),
        ({"signature": VECTOR["expected_signature"].replace("v0=", "v1=")}, "does not match"),
        ({"signature": ""}, "missing"),
        ({"timestamp": None}, "missing"),
        ({"secret": "8f742231b10e8888abcd99yyyzzz85a6"}, "does not match"),
    ],
)
def test_tampered_variants_of_the_published_example_fail(change, reason):
    request = {
        "body": VECTOR["body"],
        "timestamp": VECTOR["timestamp"],
        "signature": VECTOR["expected_signature"],
        "secret": VECTOR["signing_secret"],
    } | change
    request["body"] = request["body"].encode()

    assert reason in slack_request_problem(**request, now=int(VECTOR["timestamp"]) + 30)


def test_the_endpoint_verifies_the_published_example_at_its_own_time(client, settings, monkeypatch):
    settings.SLACK_SIGNING_SECRET = VECTOR["signing_secret"]
    headers = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in VECTOR["headers"].items()}
    now = float(VECTOR["timestamp"]) + 60

    stale = post(client, VECTOR["body"], headers)
    monkeypatch.setattr("incidents.services.chat_actions.time", SimpleNamespace(time=lambda: now))
    verified = post(client, VECTOR["body"], headers)
    tampered = post(client, VECTOR["body"].replace("U2CERLKJA", "U2CERLKJB"), headers)

    assert (stale.status_code, "5 minutes" in stale.json()["detail"]) == (401, True)
    # A slash command, not an interaction: verified, then refused for what it carries.
    assert (verified.status_code, verified.json()["detail"]) == (400, "the payload field is missing")
    assert (tampered.status_code, "does not match" in tampered.json()["detail"]) == (401, True)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (lambda body: {}, "missing"),
        (lambda body: signed(body, secret="another-secret"), "does not match"),
        (lambda body: signed(body, timestamp=str(int(time.time()) - 301)), "5 minutes"),
        (lambda body: signed(body, timestamp=str(int(time.time()) + 301)), "5 minutes"),
        (lambda body: signed(body + "&x=1"), "does not match"),
        (lambda body: signed(body) | {"HTTP_X_SLACK_REQUEST_TIMESTAMP": str(int(time.time()) - 1)}, "does not match"),
        (lambda body: signed(body) | {"HTTP_X_SLACK_SIGNATURE": "v0=" + "0" * 64}, "does not match"),
    ],
)
def test_a_click_without_a_good_signature_is_refused_and_nothing_recorded(
    client, alerts, member, ephemerals, headers, reason
):
    body = form(click("okami_actioned", alerts[0].pk))

    response = post(client, body, headers(body))

    assert response.status_code == 401 and reason in response.json()["detail"]
    assert nothing_recorded() and not ephemerals


def test_without_a_signing_secret_the_endpoint_is_off(client, settings, alerts, member):
    settings.SLACK_SIGNING_SECRET = ""
    body = form(click("okami_actioned", alerts[0].pk))

    response = post(client, body, signed(body, secret="anything"))

    assert response.status_code == 403 and "SLACK_SIGNING_SECRET" in response.json()["detail"]
    assert nothing_recorded()


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ("payload=%7Bnot+json", 400, "the payload is not JSON"),
        (form("[1, 2]"), 400, "the payload is not a JSON object"),
        ("text=hello", 400, "the payload field is missing"),
        (form({"type": "block_actions", "user": {"id": "W111"}, "actions": []}), 400, "the payload carries no action"),
        (form(click("okami_actioned", "12; drop table")), 400, "the action's value is not an alert id"),
        (form(click("okami_actioned", 1) | {"user": "W111"}), 400, "the payload names no user"),
    ],
)
def test_malformed_payloads_are_refused(client, alerts, member, body, status, detail):
    response = post(client, body)

    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert nothing_recorded()


def test_an_oversized_body_is_refused_before_it_is_read(client, settings, alerts, member):
    settings.OKAMI_WEBHOOK_MAX_BYTES = 1024
    body = form(click("okami_actioned", alerts[0].pk) | {"padding": "x" * 2000})

    response = post(client, body)

    assert response.status_code == 413 and "1024 bytes" in response.json()["detail"]
    assert nothing_recorded()


# --- What a click records ------------------------------------------------------------------------------------


def test_a_real_click_records_the_outcome_with_the_same_audit_as_the_web(
    client, alerts, member, ephemerals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form(click("okami_actioned", alerts[0].pk)))
    web = client_for(member).post(f"/api/v1/alerts/{alerts[1].pk}/outcome/", {"outcome": "actioned"}, format="json")

    assert (response.status_code, response.content, web.status_code) == (200, b"", 200)
    alert = Alert.objects.get(pk=alerts[0].pk)
    assert (alert.outcome, alert.outcome_inferred, alert.outcome_by, alert.outcome_by_name) == (
        "actioned", False, member, "pat",
    )  # fmt: skip
    assert alert.outcome_at is not None and alert.first_response_at == alert.outcome_at
    from_chat, from_web = AuditEntry.objects.filter(action="alert.outcome").order_by("id")
    assert (from_chat.target, from_web.target) == (f"alert:{alerts[0].pk}", f"alert:{alerts[1].pk}")
    same = ("actor", "actor_name", "action", "before", "after")
    assert [getattr(from_chat, field) for field in same] == [getattr(from_web, field) for field in same]
    assert from_chat.after == {"outcome": "actioned", "note": "", "duplicate_of": None, "inferred": False, "by": "pat"}
    assert not ephemerals  # a recorded click shows in the message itself


def test_a_click_acknowledges_an_open_alert_once(
    client, alerts, member, ephemerals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, form(click("okami_ack", alerts[0].pk, action_ts="1596530385.1")))
        again = post(client, form(click("okami_ack", alerts[0].pk, action_ts="1596530399.2")))

    assert (first.status_code, again.status_code) == (200, 200)
    alert = Alert.objects.get(pk=alerts[0].pk)
    assert (alert.acknowledged_by, alert.acknowledged_by_name) == (member, "pat")
    (entry,) = AuditEntry.objects.filter(action="alert.acknowledge")
    assert entry.actor == member
    assert [text for _channel, _user, text in ephemerals] == [f"{alert.alarm.name} was already acknowledged."]


def test_a_closed_alert_is_not_acknowledged_but_may_still_be_labelled(
    client, alerts, member, ephemerals, django_capture_on_commit_callbacks
):
    closed = alerts[1]
    with django_capture_on_commit_callbacks(execute=True):
        ack = post(client, form(click("okami_ack", closed.pk)))
        label = post(client, form(click("okami_transient", closed.pk)))

    assert (ack.status_code, label.status_code) == (200, 200)
    closed.refresh_from_db()
    assert (closed.acknowledged_at, closed.outcome) == (None, "transient")
    assert ephemerals == [("C111", "W111", f"{closed.alarm.name} already recovered: nothing to acknowledge.")]


def test_an_unlinked_slack_user_is_recorded_and_shown_by_their_slack_name(
    client, alerts, ephemerals, viewer, django_capture_on_commit_callbacks
):
    stranger = {"id": "W999", "username": "road<runner>", "name": "road<runner>", "team_id": "T111"}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form(click("okami_no_action", alerts[0].pk, user=stranger)))

    assert response.status_code == 200
    alert = Alert.objects.get(pk=alerts[0].pk)
    assert (alert.outcome, alert.outcome_by, alert.outcome_by_name) == (
        "no_action", None, "road<runner> (Slack, not linked)",
    )  # fmt: skip
    entry = AuditEntry.objects.get(action="alert.outcome")
    assert (entry.actor, entry.actor_name, entry.after["by"]) == (None, "slack:road<runner>", alert.outcome_by_name)
    assert not ChatIdentity.objects.exists()
    # The name comes from the chat: quoted back inert, never as markup.
    assert ephemerals == [
        ("C111", "W999", "Recorded as road&lt;runner&gt;: your Slack account is not linked to an Okami account.")
    ]
    browser = Client()
    browser.force_login(viewer)
    page = browser.get(f"/alerts/{alert.pk}/")
    assert "by road&lt;runner&gt; (Slack, not linked)" in page.content.decode()


def test_a_slack_user_is_linked_by_the_email_the_payload_carries(
    client, alerts, catalog, django_user_model, django_capture_on_commit_callbacks
):
    user = django_user_model.objects.create_user("sam", email="Sam@Example.com", password="pw-sam-12345")
    catalog["team"].members.add(user)
    slack_user = {"id": "W222", "username": "sam", "email": "sam@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form(click("okami_false_positive", alerts[0].pk, user=slack_user)))

    assert response.status_code == 200
    assert Alert.objects.get(pk=alerts[0].pk).outcome_by == user
    assert ChatIdentity.objects.get(slack_user_id="W222").user == user


def test_someone_of_another_team_gets_an_ephemeral_refusal_and_nothing_is_recorded(
    client, alerts, django_user_model, ephemerals, django_capture_on_commit_callbacks
):
    outsider = django_user_model.objects.create_user("olga", password="pw-olga-12345")
    Team.objects.create(slug="search", name="Search").members.add(outsider)
    ChatIdentity.objects.create(user=outsider, slack_user_id="W333")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form(click("okami_actioned", alerts[0].pk, user={"id": "W333", "username": "olga"})))

    assert response.status_code == 200
    assert nothing_recorded()
    ((channel, user, text),) = ephemerals
    assert (channel, user) == ("C111", "W333")
    assert "owner team (Payments)" in text and "nothing was recorded" in text


def test_a_replayed_click_is_recorded_once_and_cannot_undo_a_later_one(
    client, alerts, member, ephemerals, django_capture_on_commit_callbacks
):
    first = form(click("okami_actioned", alerts[0].pk, action_ts="1596530385.194939"))
    later = form(click("okami_no_action", alerts[0].pk, action_ts="1596530390.000001"))
    first_headers = signed(first)
    with django_capture_on_commit_callbacks(execute=True):
        responses = [post(client, first, first_headers), post(client, first, first_headers)]
        recorded_at = Alert.objects.get(pk=alerts[0].pk).outcome_at
        responses += [post(client, later), post(client, first, first_headers)]

    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    alert = Alert.objects.get(pk=alerts[0].pk)
    assert alert.outcome == "no_action" and alert.outcome_at > recorded_at
    entries = AuditEntry.objects.filter(action="alert.outcome").order_by("id")
    assert [(e.before["outcome"], e.after["outcome"]) for e in entries] == [("", "actioned"), ("actioned", "no_action")]
    assert not ephemerals


def test_the_same_label_again_keeps_the_note_written_on_the_web(
    client, alerts, member, ephemerals, django_capture_on_commit_callbacks
):
    client_for(member).post(
        f"/api/v1/alerts/{alerts[0].pk}/outcome/", {"outcome": "actioned", "note": "rolled back"}, format="json"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form(click("okami_actioned", alerts[0].pk)))

    assert response.status_code == 200
    assert Alert.objects.get(pk=alerts[0].pk).outcome_note == "rolled back"
    assert AuditEntry.objects.filter(action="alert.outcome").count() == 1
    assert [text for _c, _u, text in ephemerals] == [
        f"{alerts[0].alarm.name} is already labelled Actioned: someone did something."
    ]


def test_a_click_on_an_unknown_alert_gets_a_polite_reply(
    client, alerts, member, ephemerals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form(click("okami_actioned", 987654321)))

    assert response.status_code == 200
    assert nothing_recorded()
    assert ephemerals == [("C111", "W111", "This alert no longer exists in Okami: nothing was recorded.")]


def test_buttons_and_interactions_that_are_not_ours_are_acknowledged_and_ignored(client, alerts, member, ephemerals):
    other_button = post(client, form(click("a", alerts[0].pk)))
    shortcut = post(client, form({"type": "shortcut", "callback_id": "x", "user": {"id": "W111"}}))

    assert (other_button.status_code, shortcut.status_code) == (200, 200)
    assert nothing_recorded() and not ephemerals


def test_the_ephemeral_task_sends_through_the_notifier(caplog):
    from incidents.tasks import chat_ephemeral_task

    with caplog.at_level("INFO", logger="okami.chat"):
        assert chat_ephemeral_task.apply(args=("C111", "W111", "hello")).get() == "sent"

    assert "chat to W111 only, in C111: hello" in caplog.text


def test_a_slack_user_is_linked_by_the_email_slack_knows_for_them(
    client, alerts, catalog, django_user_model, django_capture_on_commit_callbacks, settings
):
    """Real clicks carry no e-mail: the portal asks Slack (users.info) and links the account it names."""
    from portal.slack_standin import SlackStandIn

    standin = SlackStandIn(token="xoxb-test").start()
    settings.SLACK_BOT_TOKEN, settings.SLACK_API_URL = "xoxb-test", standin.url
    standin.emails["W333"] = "kim@example.com"
    user = django_user_model.objects.create_user("kim", email="kim@example.com", password="pw-kim-12345")
    catalog["team"].members.add(user)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, form(click("okami_actioned", alerts[0].pk, user={"id": "W333", "name": "kim"})))
    finally:
        standin.stop()

    assert response.status_code == 200
    assert Alert.objects.get(pk=alerts[0].pk).outcome_by == user
    assert ChatIdentity.objects.get(slack_user_id="W333").user == user
    assert [c.args["user"] for c in standin.calls_to("users.info")] == ["W333"]
