"""The SNS webhook end to end: signed envelopes in, stored once, state changes and alerts out; bad input
refused with a reason and nothing stored."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError

from alarms.models import Alarm, AwsAccount
from incidents.models import Alert, InboundMessage, StateChange
from incidents.services.ingest import inbound_process_pending
from incidents.tests.conftest import TOPIC
from portal.demo.sns_signer import alarm_message

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
ARN = "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:checkout-api-5XX"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def post(client, envelope, **extra):
    body = envelope if isinstance(envelope, (str, bytes)) else json.dumps(envelope)
    return client.post("/hooks/sns/", body, content_type="text/plain", **extra)


def change(signer, state, old, at, *, arn=ARN, **kwargs):
    message = alarm_message(arn=arn, name=arn.rsplit(":", 1)[-1], new_state=state, old_state=old, at=at)
    return signer.envelope(topic_arn=TOPIC, message=message, **kwargs)


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Post envelopes, then do what the worker does with each queued message."""

    def post_all(*envelopes):
        with django_capture_on_commit_callbacks(execute=True):
            responses = [post(client, e) for e in envelopes]
        inbound_process_pending()
        return responses

    return post_all


def test_an_alarm_firing_and_recovering_makes_one_closed_alert(signer, account, deliver):
    responses = deliver(
        change(signer, "ALARM", "OK", T0), change(signer, "OK", "ALARM", T0 + timedelta(minutes=7), version="2"),
    )  # fmt: skip

    assert [r.status_code for r in responses] == [200, 200]
    alert = Alert.objects.get()
    assert (alert.opened_at, alert.closed_at) == (T0, T0 + timedelta(minutes=7))
    assert alert.alarm.arn == ARN and alert.alarm.account == account  # a placeholder until the next sync


def test_a_message_delivered_three_times_is_stored_and_counted_once(signer, account, deliver):
    envelope = change(signer, "ALARM", "OK", T0)

    responses = deliver(envelope, envelope, envelope)

    assert [r.json()["duplicate"] for r in responses] == [False, True, True]
    assert (InboundMessage.objects.count(), StateChange.objects.count(), Alert.objects.count()) == (1, 1, 1)


def test_the_same_change_from_two_messages_is_one_state_change_with_both_sources(signer, account, deliver):
    deliver(change(signer, "ALARM", "OK", T0), change(signer, "ALARM", "OK", T0))

    assert len(StateChange.objects.get().sources) == 2


def test_an_ok_delivered_before_its_alarm_gives_the_right_episode(signer, account, deliver):
    deliver(
        change(signer, "OK", "ALARM", T0 + timedelta(minutes=5)), change(signer, "ALARM", "OK", T0),
        change(signer, "ALARM", "OK", T0 + timedelta(minutes=30)),
    )  # fmt: skip

    episodes = list(Alert.objects.order_by("opened_at").values_list("opened_at", "closed_at"))
    assert episodes == [(T0, T0 + timedelta(minutes=5)), (T0 + timedelta(minutes=30), None)]


def test_an_alarm_of_an_account_not_registered_yet_is_kept_under_an_unknown_account(signer, deliver):
    arn = "arn:aws:cloudwatch:eu-west-1:999999999999:alarm:central-Errors"

    deliver(change(signer, "ALARM", "OK", T0, arn=arn))

    unknown = AwsAccount.objects.get(account_id="999999999999")
    assert (unknown.registered, unknown.enabled) == (False, False)
    assert Alert.objects.get().alarm.arn == arn


def test_aws_signed_envelopes_verify_and_are_stored_even_when_not_about_an_alarm(settings, deliver):
    envelope = json.loads((FIXTURES / "sns" / "aws-sdk-java-v2" / "test-notification-with-subject.json").read_text())
    settings.SNS_CERT_DIR = str(FIXTURES / "sns" / "pinned")
    settings.SNS_ALLOWED_TOPIC_ARNS = [envelope["TopicArn"]]
    from incidents.views.hooks import certificates

    certificates.cache_clear()
    responses = deliver(envelope)
    certificates.cache_clear()

    assert responses[0].status_code == 200
    assert InboundMessage.objects.get().status == "ignored"  # "Hello world" is no alarm


def test_a_subscription_confirmation_is_stored_and_not_confirmed_when_confirming_is_off(client, signer, settings):
    settings.SNS_CONFIRM_SUBSCRIPTIONS = False

    response = post(client, signer.envelope(topic_arn=TOPIC, message="confirm", kind="SubscriptionConfirmation"))

    assert response.status_code == 200
    assert InboundMessage.objects.get().error == "not confirmed: confirmation is off"


# --- Bad input: a 4xx with a reason, nothing stored -----------------------------------------------------


def tampered(envelope, **changes):
    return {**envelope, **changes}


@pytest.mark.parametrize(
    ("mutate", "status", "reason"),
    [
        (lambda e: tampered(e, Message=e["Message"].replace("ALARM", "OK", 1)), 403, "does not match"),
        (lambda e: tampered(e, Subject="[ALARM] other"), 403, "does not match"),
        (lambda e: tampered(e, Timestamp="2026-11-30T09:00:01.000Z"), 403, "does not match"),
        (lambda e: tampered(e, SignatureVersion="3"), 403, "SignatureVersion"),
        (lambda e: tampered(e, SigningCertURL=e["SigningCertURL"].replace("https", "http")), 403, "https"),
        (lambda e: tampered(e, SigningCertURL="https://sns.evil.com/x.pem"), 403, "SNS host"),
        (lambda e: tampered(e, SigningCertURL="https://sns.us-east-1.amazonaws.com.evil.com/x.pem"), 403, "SNS host"),
        (
            lambda e: tampered(e, SigningCertURL="https://s3.amazonaws.com/b/SimpleNotificationService-x.pem"),
            403,
            "SNS host",
        ),
        (lambda e: tampered(e, SigningCertURL=e["SigningCertURL"][:-4] + ".crt"), 403, ".pem"),
        (lambda e: tampered(e, TopicArn="arn:aws:sns:eu-west-1:111111111111:other"), 403, "topic not allowed"),
        (lambda e: tampered(e, Type="Gossip"), 400, "Type"),
        (lambda e: "{not json", 400, "not JSON"),
        (lambda e: "[1, 2]", 400, "JSON object"),
        (lambda e: json.dumps({**e, "Message": "x" * 300_000}), 413, "over"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_nothing_is_stored(client, signer, account, mutate, status, reason):
    envelope = change(signer, "ALARM", "OK", T0, subject="ALARM: checkout")

    response = post(client, mutate(envelope))

    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert not InboundMessage.objects.exists() and not Alarm.objects.exists()


def test_another_messages_signature_is_refused(client, signer, account):
    one, other = change(signer, "ALARM", "OK", T0), change(signer, "OK", "ALARM", T0)

    response = post(client, {**one, "Signature": other["Signature"]})

    assert response.status_code == 403 and not InboundMessage.objects.exists()


def test_alarm_names_with_markup_are_stored_as_text(signer, account, deliver):
    arn = "arn:aws:cloudwatch:eu-west-1:111111111111:alarm:<img src=x onerror=alert(1)>"

    deliver(change(signer, "ALARM", "OK", T0, arn=arn))

    assert Alarm.objects.get().name == "<img src=x onerror=alert(1)>"


# --- Durability -------------------------------------------------------------------------------------------


def test_with_the_database_down_the_hook_answers_503_so_sns_retries(client, signer, account):
    with mock.patch("incidents.services.ingest._insert", side_effect=OperationalError("server closed the connection")):
        response = post(client, change(signer, "ALARM", "OK", T0))

    assert response.status_code == 503
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_message_is_stored_answered_and_swept_later(client, signer, account, settings):
    from portal.celery import app

    previous = app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_publish_retry
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens there
    app.conf.broker_transport_options = {"max_retries": 0}
    app.conf.task_publish_retry = False
    app.pool.force_close_all()
    try:
        response = post(client, change(signer, "ALARM", "OK", T0))
    finally:
        app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_publish_retry = previous
        app.pool.force_close_all()

    assert response.status_code == 200
    assert InboundMessage.objects.get().status == "pending"
    assert inbound_process_pending() == 1
    assert Alert.objects.get().opened_at == T0


def test_unknown_accounts_are_listed_on_the_sync_runs_page(signer, deliver, client, viewer):
    arn = "arn:aws:cloudwatch:eu-west-1:999999999999:alarm:central-Errors"
    deliver(change(signer, "ALARM", "OK", T0, arn=arn))
    client.force_login(viewer)

    page = client.get("/sync-runs/").content.decode()

    assert 'id="unknown-accounts"' in page and "999999999999" in page


def test_the_hooks_answer_posts_only_and_set_no_cookie(client, signer, account):
    assert client.get("/hooks/sns/").status_code == 405
    assert client.get("/hooks/eventbridge/").status_code == 405

    response = post(client, change(signer, "ALARM", "OK", T0))

    assert response.status_code == 200 and not response.cookies  # no session, no CSRF: a signed delivery


def test_a_subscription_is_confirmed_by_fetching_its_subscribe_url_on_an_sns_host_only(client, signer, monkeypatch):
    fetched = []

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, size):
            return b"<ConfirmSubscriptionResponse/>"

    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: fetched.append(url) or Answer())
    good = signer.envelope(topic_arn=TOPIC, message="confirm", kind="SubscriptionConfirmation")
    evil_url = "https://sns.evil.com/?Action=ConfirmSubscription"
    evil = signer.envelope(topic_arn=TOPIC, message="confirm", kind="SubscriptionConfirmation", subscribe_url=evil_url)

    assert post(client, good).status_code == 200 and post(client, evil).status_code == 200

    assert fetched == [good["SubscribeURL"]]  # the other was stored, and not fetched
    statuses = dict(InboundMessage.objects.values_list("message_id", "status"))
    assert statuses == {good["MessageId"]: "processed", evil["MessageId"]: "ignored"}
    assert "SNS host" in InboundMessage.objects.get(message_id=evil["MessageId"]).error
