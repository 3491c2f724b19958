"""The EventBridge webhook (API destination): the token is the credential; the official examples go in."""

import json
from pathlib import Path

import pytest

from incidents.models import Alert, InboundMessage, StateChange
from incidents.services.ingest import inbound_process_pending

pytestmark = pytest.mark.django_db

EVENTS = Path(__file__).parent / "fixtures" / "eventbridge"
TOKEN = "eb-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def token(settings):
    settings.EVENTBRIDGE_TOKEN = TOKEN


def post(client, body, authorization=TOKEN):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/hooks/eventbridge/", data, content_type="application/json", **headers)


def event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_state_change_events_become_state_changes_and_alerts(client, account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for path in sorted(EVENTS.glob("0[1-4]-*.json")):
            assert post(client, json.loads(path.read_text())).status_code == 200
    inbound_process_pending()

    assert StateChange.objects.count() == 4
    assert Alert.objects.filter(closed_at__isnull=True).count() == 4  # each example enters ALARM
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}


def test_a_configuration_change_is_processed_and_a_repeat_is_a_duplicate(
    client, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, event("07-update-of-a-metric-alarm.json"))
        again = post(client, event("07-update-of-a-metric-alarm.json"))
    inbound_process_pending()

    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert InboundMessage.objects.get().status == "processed"
    assert not StateChange.objects.exists()


@pytest.mark.parametrize(("authorization", "status"), [(None, 401), ("wrong", 401), (TOKEN + "x", 401), ("", 401)])
def test_a_call_without_the_token_is_refused_and_nothing_stored(client, authorization, status):
    response = post(client, event("01-state-change-for-a-single-metric-alarm.json"), authorization=authorization)

    assert response.status_code == status and "token" in response.json()["detail"]
    assert not InboundMessage.objects.exists()


def test_without_a_configured_token_every_call_is_refused(client, settings):
    settings.EVENTBRIDGE_TOKEN = ""

    assert post(client, event("01-state-change-for-a-single-metric-alarm.json"), authorization="").status_code == 403


@pytest.mark.parametrize(("body", "status"), [("{oops", 400), ('{"detail-type": "x"}', 400), ("x" * 300_000, 413)])
def test_malformed_events_are_refused(client, body, status):
    assert post(client, body).status_code == status
    assert not InboundMessage.objects.exists()


def test_a_configuration_change_of_a_registered_account_queues_a_refresh_of_its_key(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    from alarms.models import AwsAccount

    account = AwsAccount.objects.create(account_id="123456789012", name="prod", regions=["us-east-1"])
    queued = []
    monkeypatch.setattr("alarms.tasks.sync_account_region.delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, event("07-update-of-a-metric-alarm.json"))
        inbound_process_pending()

    assert queued == [(account.pk, "us-east-1", "alert")]
