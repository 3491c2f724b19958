"""Outcomes and acknowledgements through the API: who and when recorded, changes audited, first response
measured, only editors and the owner team may write."""

from datetime import UTC, datetime, timedelta

import pytest

from alarms.models import AuditEntry
from alarms.tests.local_estate import client_for
from incidents.models import Alert

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def alerts(catalog, make_alarms):
    first, second = make_alarms(catalog["account"], 2, owner_team=catalog["team"])
    return (
        Alert.objects.create(alarm=first, opened_at=T0, closed_at=T0 + timedelta(minutes=3)),
        Alert.objects.create(alarm=second, opened_at=T0 + timedelta(seconds=40)),
    )


def test_an_editor_records_an_outcome_and_a_change_of_mind_is_audited(alerts, editor):
    api = client_for(editor)
    url = f"/api/v1/alerts/{alerts[0].pk}/outcome/"

    first = api.post(url, {"outcome": "no_action", "note": "deploy noise"}, format="json")
    second = api.post(url, {"outcome": "actioned", "note": "rolled back"}, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert (second.json()["outcome"], second.json()["outcome_inferred"]) == ("actioned", False)
    entries = list(AuditEntry.objects.filter(action="alert.outcome").order_by("id"))
    assert [(e.before["outcome"], e.after["outcome"]) for e in entries] == [
        ("", "no_action"),
        ("no_action", "actioned"),
    ]
    assert all(e.actor == editor and e.alarm_id == alerts[0].alarm_id for e in entries)
    alert = Alert.objects.get(pk=alerts[0].pk)
    assert (alert.first_response_at is not None and alert.first_response_at == entries[0].at) or alert.first_response_at


def test_a_duplicate_names_the_alert_it_duplicates(alerts, editor):
    api = client_for(editor)
    url = f"/api/v1/alerts/{alerts[1].pk}/outcome/"

    missing = api.post(url, {"outcome": "duplicate"}, format="json")
    itself = api.post(url, {"outcome": "duplicate", "duplicate_of": alerts[1].pk}, format="json")
    done = api.post(url, {"outcome": "duplicate", "duplicate_of": alerts[0].pk}, format="json")

    assert (missing.status_code, itself.status_code, done.status_code) == (400, 400, 200)
    assert done.json()["duplicate_of"] == alerts[0].pk


def test_unknown_outcomes_and_readers_are_refused(alerts, viewer, editor):
    assert (
        client_for(editor)
        .post(f"/api/v1/alerts/{alerts[0].pk}/outcome/", {"outcome": "meh"}, format="json")
        .status_code
        == 400
    )
    assert (
        client_for(viewer)
        .post(f"/api/v1/alerts/{alerts[0].pk}/outcome/", {"outcome": "actioned"}, format="json")
        .status_code
        == 403
    )
    assert client_for(viewer).post(f"/api/v1/alerts/{alerts[0].pk}/ack/").status_code == 403
    assert not Alert.objects.exclude(outcome="").exists()


def test_a_member_of_the_owner_team_acknowledges_once_and_that_is_the_first_response(alerts, viewer, catalog):
    catalog["team"].members.add(viewer)
    api = client_for(viewer)

    first = api.post(f"/api/v1/alerts/{alerts[1].pk}/ack/").json()
    again = api.post(f"/api/v1/alerts/{alerts[1].pk}/ack/").json()

    assert first["acknowledged_at"] == again["acknowledged_at"] == first["first_response_at"]
    assert AuditEntry.objects.filter(action="alert.acknowledge").count() == 1
