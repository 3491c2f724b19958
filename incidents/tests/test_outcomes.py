"""Outcomes and acknowledgements through the API and the alert page: who and when recorded, changes audited,
first response measured, only editors and the owner team may write; one outcome for many alerts at once;
every refusal names what is wrong and changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alarms.models import AuditEntry, Team
from alarms.tests.local_estate import client_for
from incidents.choices import Outcome
from incidents.models import Alert, Incident

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


# Every outcome, through the API and through the alert page.

OUTCOMES = [o.value for o in Outcome]


@pytest.fixture
def incident(alerts, catalog):
    """Both alerts belong to one incident: the later one may be marked a duplicate of the earlier on the page."""
    incident = Incident.objects.create(
        service=catalog["service"], title="checkout failing", opened_at=T0, last_alert_at=alerts[1].opened_at
    )
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(incident=incident)
    return incident


@pytest.fixture
def member(viewer, catalog):
    catalog["team"].members.add(viewer)
    return viewer


def _unchanged() -> bool:
    return not Alert.objects.exclude(outcome="").exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_each_outcome_through_the_api(alerts, member, outcome):
    body = {"outcome": outcome, "note": f"said {outcome}"}
    if outcome == Outcome.DUPLICATE:
        body["duplicate_of"] = alerts[0].pk

    response = client_for(member).post(f"/api/v1/alerts/{alerts[1].pk}/outcome/", body, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["outcome"], response.json()["outcome_note"]) == (outcome, f"said {outcome}")
    alert = Alert.objects.get(pk=alerts[1].pk)
    assert (alert.outcome, alert.outcome_by, alert.outcome_inferred) == (outcome, member, False)
    assert alert.duplicate_of_id == (alerts[0].pk if outcome == Outcome.DUPLICATE else None)
    assert AuditEntry.objects.get(action="alert.outcome").after["outcome"] == outcome


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_each_outcome_through_the_alert_page(alerts, incident, member, client, outcome):
    client.force_login(member)
    url = reverse("alert-detail", args=[alerts[1].pk])
    form = {"outcome": outcome, "note": "seen on the page", "duplicate_of": alerts[0].pk}

    response = client.post(url, form)

    assert (response.status_code, response.url) == (302, url)
    alert = Alert.objects.get(pk=alerts[1].pk)
    assert (alert.outcome, alert.outcome_note, alert.outcome_by) == (outcome, "seen on the page", member)
    # The select always sends a value: only a duplicate keeps it.
    assert alert.duplicate_of_id == (alerts[0].pk if outcome == Outcome.DUPLICATE else None)
    page = client.get(url).content.decode()
    assert Outcome(outcome).label in page.split('id="outcome-value"')[1].split("</dd>")[0]
    assert f"by {member.username}" in page


def test_the_alert_page_offers_only_the_incidents_earlier_alerts_as_originals(alerts, incident, member, client):
    client.force_login(member)

    earlier = client.get(reverse("alert-detail", args=[alerts[0].pk])).content.decode()
    later = client.get(reverse("alert-detail", args=[alerts[1].pk])).content.decode()

    assert 'name="duplicate_of"' not in earlier  # nothing opened before it: no original to name
    assert f'<option value="{alerts[0].pk}"' in later.split('name="duplicate_of"')[1].split("</select>")[0]


def test_a_duplicate_on_the_page_needs_an_original_of_its_incident(alerts, incident, member, client, make_alarms):
    (stranger_alarm,) = make_alarms(alerts[0].alarm.account, 1, prefix="elsewhere")
    stranger = Alert.objects.create(alarm=stranger_alarm, opened_at=T0 - timedelta(hours=1))  # no incident
    client.force_login(member)
    url = reverse("alert-detail", args=[alerts[1].pk])

    none_named = client.post(url, {"outcome": "duplicate", "duplicate_of": ""}, follow=True).content.decode()
    outsider = client.post(url, {"outcome": "duplicate", "duplicate_of": stranger.pk}, follow=True).content.decode()

    assert "Nothing changed: Say which alert this one duplicates." in none_named
    assert "Nothing changed: pick one of the incident" in outsider
    assert _unchanged()


def test_people_outside_the_team_see_the_outcome_read_only_and_cannot_post(alerts, viewer, client):
    client.force_login(viewer)
    url = reverse("alert-detail", args=[alerts[0].pk])

    page = client.get(url).content.decode()
    refused = client.post(url, {"outcome": "actioned"})
    ack = client.post(url, {"acknowledge": "1"})

    assert 'id="outcome-value"' in page and 'id="outcome-form"' not in page and 'id="ack-form"' not in page
    assert (refused.status_code, ack.status_code) == (403, 403)
    assert _unchanged() and not Alert.objects.filter(acknowledged_at__isnull=False).exists()


def test_the_alert_page_acknowledges(alerts, member, client):
    client.force_login(member)
    url = reverse("alert-detail", args=[alerts[1].pk])

    assert 'id="ack-form"' in client.get(url).content.decode()
    page = client.post(url, {"acknowledge": "1"}, follow=True).content.decode()

    alert = Alert.objects.get(pk=alerts[1].pk)
    assert (alert.acknowledged_by, alert.first_response_at) == (member, alert.acknowledged_at)
    assert "Acknowledged." in page and 'id="ack-form"' not in page and f"by {member.username}" in page


# Refusals: 400 or 403 naming what is wrong, and nothing changed.


def test_a_duplicate_of_a_later_or_missing_alert_is_refused(alerts, editor):
    api = client_for(editor)
    url = f"/api/v1/alerts/{alerts[0].pk}/outcome/"

    future = api.post(url, {"outcome": "duplicate", "duplicate_of": alerts[1].pk}, format="json")
    missing = api.post(url, {"outcome": "duplicate", "duplicate_of": 999_999}, format="json")
    not_a_duplicate = api.post(url, {"outcome": "actioned", "duplicate_of": alerts[1].pk}, format="json")

    for response in (future, missing, not_a_duplicate):
        assert response.status_code == 400
        assert response.json()["detail"] == "Invalid input." and "duplicate_of" in response.json()["errors"]
    assert "opened no later" in future.json()["errors"]["duplicate_of"][0]
    assert _unchanged()


def test_a_member_of_another_team_cannot_label_and_nothing_changes(alerts, viewer):
    other = Team.objects.create(slug="storefront", name="Storefront")
    other.members.add(viewer)

    response = client_for(viewer).post(f"/api/v1/alerts/{alerts[0].pk}/outcome/", {"outcome": "actioned"})

    assert response.status_code == 403
    assert set(response.json()) == {"detail", "errors"} and "owner team" in response.json()["detail"]
    assert _unchanged()


# Bulk outcomes.


def test_bulk_outcome_labels_every_alert_in_one_go_and_audits_each(alerts, member):
    response = client_for(member).post(
        "/api/v1/alerts/outcome/",
        {"ids": [alerts[0].pk, alerts[1].pk], "outcome": "no_action", "note": "load test"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["labelled"] == 2
    assert {(r["id"], r["outcome"], r["outcome_note"]) for r in response.json()["results"]} == {
        (alerts[0].pk, "no_action", "load test"),
        (alerts[1].pk, "no_action", "load test"),
    }
    assert set(Alert.objects.values_list("outcome_by", "outcome_inferred")) == {(member.pk, False)}
    assert not Alert.objects.filter(first_response_at__isnull=True).exists()
    entries = AuditEntry.objects.filter(action="alert.outcome")
    assert sorted(e.target for e in entries) == sorted(f"alert:{a.pk}" for a in alerts)
    assert {e.actor_id for e in entries} == {member.pk}


def test_bulk_customer_impact_marks_the_incident(alerts, incident, editor):
    response = client_for(editor).post(
        "/api/v1/alerts/outcome/", {"ids": [a.pk for a in alerts], "outcome": "customer_impact"}, format="json"
    )

    assert response.status_code == 200
    incident.refresh_from_db()
    assert (incident.customer_impact, incident.announcement) == ("yes", "needed")
    (entry,) = AuditEntry.objects.filter(action="incident.customer_impact")
    assert (entry.actor, entry.target, entry.before, entry.after) == (
        editor,
        f"incident:{incident.pk}",
        {"customer_impact": "unknown", "announcement": "none"},
        {"customer_impact": "yes", "announcement": "needed"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "duplicate"}, "outcome"),
        ({"outcome": "meh"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"note": "x" * 4001}, "note"),
        ({"ids": []}, "ids"),
        ({"ids": "all"}, "ids"),
        ({"ids": ["first", "second"]}, "ids"),
        ({"ids": "unknown"}, "ids"),
    ],
    ids=[
        "duplicate",
        "unknown-outcome",
        "no-outcome",
        "long-note",
        "no-ids",
        "ids-not-a-list",
        "ids-not-numbers",
        "unknown-id",
    ],
)
def test_bulk_outcome_bad_input_is_a_400_naming_the_field_and_changes_nothing(alerts, editor, body, field):
    request = {"ids": [a.pk for a in alerts], "outcome": "actioned", **body}
    if body.get("ids") == "unknown":
        request["ids"] = [alerts[0].pk, 999_999]

    response = client_for(editor).post("/api/v1/alerts/outcome/", request, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid input." and field in response.json()["errors"], response.json()
    if body.get("ids") == "unknown":
        assert "999999" in response.json()["errors"]["ids"][0]
    assert _unchanged()


def test_bulk_outcome_refuses_alerts_of_another_team_naming_them_and_changes_nothing(alerts, member, make_alarms):
    other = Team.objects.create(slug="storefront", name="Storefront")
    (theirs,) = make_alarms(alerts[0].alarm.account, 1, prefix="search", owner_team=other)
    foreign = Alert.objects.create(alarm=theirs, opened_at=T0)

    response = client_for(member).post(
        "/api/v1/alerts/outcome/", {"ids": [alerts[0].pk, foreign.pk], "outcome": "actioned"}, format="json"
    )

    assert response.status_code == 403
    assert str(foreign.pk) in response.json()["detail"] and str(alerts[0].pk) not in response.json()["detail"]
    assert _unchanged()


def test_a_reader_cannot_bulk_label(alerts, viewer):
    response = client_for(viewer).post(
        "/api/v1/alerts/outcome/", {"ids": [alerts[0].pk], "outcome": "actioned"}, format="json"
    )

    assert response.status_code == 403
    assert _unchanged()


# Filters.


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"outcome": "none"}, ["unlabelled"]),
        ({"outcome": "actioned"}, ["human"]),
        ({"outcome": "transient"}, ["inferred"]),
        ({"inferred": "true"}, ["inferred"]),
        ({"inferred": "yes"}, ["inferred"]),
        ({"inferred": "no"}, ["human", "unlabelled"]),
        ({"outcome": "transient", "inferred": "false"}, []),
        ({"incident": "linked"}, ["human", "inferred"]),
    ],
)
def test_the_api_filters_alerts_by_outcome_inferred_and_incident(
    alerts, incident, viewer, make_alarms, query, expected
):
    human, inferred = alerts
    Alert.objects.filter(pk=human.pk).update(outcome="actioned", outcome_by=viewer)
    Alert.objects.filter(pk=inferred.pk).update(outcome="transient", outcome_inferred=True)
    (alarm,) = make_alarms(human.alarm.account, 1, prefix="quiet")
    names = {
        human.pk: "human",
        inferred.pk: "inferred",
        Alert.objects.create(alarm=alarm, opened_at=T0).pk: "unlabelled",
    }
    if query.get("incident") == "linked":
        query = {"incident": incident.pk}

    response = client_for(viewer).get("/api/v1/alerts/", query)

    assert response.status_code == 200
    assert sorted(names[item["id"]] for item in response.json()["results"]) == expected


@pytest.mark.parametrize("query", [{"inferred": "maybe"}, {"outcome": "meh"}])
def test_an_unknown_filter_value_is_a_400_not_every_alert(alerts, viewer, query):
    response = client_for(viewer).get("/api/v1/alerts/", query)

    assert response.status_code == 400
    assert set(query) <= set(response.json()["errors"])


# Time to first response: the first acknowledgement or human outcome, minus the opening; later ones change nothing.


@pytest.fixture
def clock(monkeypatch):
    now = [T0]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


def test_time_to_first_response_is_the_first_acknowledgement(alerts, member, clock, client):
    api = client_for(member)
    first = alerts[0]  # opened at T0
    clock[0] = T0 + timedelta(seconds=90)
    api.post(f"/api/v1/alerts/{first.pk}/ack/")
    clock[0] = T0 + timedelta(minutes=10)
    api.post(f"/api/v1/alerts/{first.pk}/outcome/", {"outcome": "actioned"}, format="json")
    api.post("/api/v1/alerts/outcome/", {"ids": [first.pk], "outcome": "no_action"}, format="json")

    alert = Alert.objects.get(pk=first.pk)
    assert alert.outcome == "no_action"
    assert (alert.acknowledged_at, alert.first_response_at) == (T0 + timedelta(seconds=90),) * 2
    clock[0] = T0 + timedelta(hours=1)  # reading the page later changes nothing either
    client.force_login(member)
    page = client.get(reverse("alert-detail", args=[first.pk])).content.decode()
    assert "after 1 min 30 s" in page.split('id="first-response"')[1].split("</dd>")[0]


def test_time_to_first_response_is_the_first_human_outcome(alerts, member, clock):
    api = client_for(member)
    second = alerts[1]  # opened at T0 + 40 s
    clock[0] = T0 + timedelta(minutes=5, seconds=40)
    api.post("/api/v1/alerts/outcome/", {"ids": [second.pk], "outcome": "transient"}, format="json")
    clock[0] = T0 + timedelta(minutes=20)
    api.post(f"/api/v1/alerts/{second.pk}/ack/")
    api.post(f"/api/v1/alerts/{second.pk}/outcome/", {"outcome": "actioned"}, format="json")

    alert = Alert.objects.get(pk=second.pk)
    assert alert.acknowledged_at == T0 + timedelta(minutes=20)
    assert alert.first_response_at - alert.opened_at == timedelta(minutes=5)
    assert client_for(member).get(f"/api/v1/alerts/{second.pk}/").json()["first_response_at"] == "2026-11-30T09:05:40Z"


def test_an_inferred_outcome_is_not_a_response(alerts, member):
    Alert.objects.filter(pk=alerts[0].pk).update(outcome="transient", outcome_inferred=True)

    client_for(member).post(f"/api/v1/alerts/{alerts[0].pk}/outcome/", {"outcome": "false_positive"}, format="json")

    alert = Alert.objects.get(pk=alerts[0].pk)
    assert (alert.outcome, alert.outcome_inferred) == ("false_positive", False)
    entry = AuditEntry.objects.get(action="alert.outcome")
    assert (entry.before["outcome"], entry.before["inferred"]) == ("transient", True)
