"""Alerts derived from state changes converge whatever the order and repetition of the reports, including
reports of one instant; a processing error leaves the message to be tried again."""

import itertools
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import OperationalError

from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.models import Alert, InboundMessage, StateChange
from incidents.services.episodes import state_change_record
from incidents.services.ingest import MAX_ATTEMPTS, inbound_process, inbound_process_pending

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def report(alarm, state, minutes):
    return AlarmStateReport(arn=alarm.arn, name=alarm.name, account_id="111111111111", region="eu-west-1",
                            at=T0 + timedelta(minutes=minutes), new_state=state)  # fmt: skip


def episodes(alarm):
    return list(Alert.objects.filter(alarm=alarm).order_by("opened_at").values_list("opened_at", "closed_at"))


CHANGES = [("ALARM", 0), ("OK", 0), ("ALARM", 1), ("OK", 2), ("ALARM", 5)]


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(CHANGES))))[::7])
def test_any_order_of_the_same_changes_gives_the_same_alerts(catalog, make_alarms, order):
    (alarm,) = make_alarms(catalog["account"], 1)

    for i in order:
        state, minute = CHANGES[i]
        state_change_record(alarm_id=alarm.pk, report=report(alarm, state, minute), source=f"sns:{i}")

    assert episodes(alarm) == [
        (T0, T0),  # an ALARM and an OK of one instant: a zero-length alert, whichever arrived first
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)),
        (T0 + timedelta(minutes=5), None),
    ]
    assert StateChange.objects.count() == 5


def test_a_processing_error_leaves_the_message_pending_and_it_is_tried_again(client, signer, account):
    from incidents.tests.test_sns_hook import change, post

    post(client, change(signer, "ALARM", "OK", T0))
    message = InboundMessage.objects.get()

    with mock.patch("incidents.services.ingest.state_change_record", side_effect=OperationalError("deadlock")):
        assert inbound_process(message_pk=message.pk) == "pending"
    message.refresh_from_db()
    assert (message.attempts, message.retry_after is not None, "deadlock" in message.error) == (1, True, True)
    assert inbound_process_pending() == 0  # not due yet

    InboundMessage.objects.filter(pk=message.pk).update(retry_after=None)
    assert inbound_process_pending() == 1
    assert Alert.objects.get().opened_at == T0


def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(client, signer, account):
    from incidents.tests.test_sns_hook import change, post

    post(client, change(signer, "ALARM", "OK", T0))
    message = InboundMessage.objects.get()
    with mock.patch("incidents.services.ingest.state_change_record", side_effect=OperationalError("gone")):
        for _ in range(MAX_ATTEMPTS):
            InboundMessage.objects.filter(pk=message.pk).update(retry_after=None)
            inbound_process_pending()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
