"""Incidents by hand: merging and splitting (alerts and notes move, bounds follow, one open incident per service
holds, everything audited), editing and notes, time to first response, and the incident pages and API: lists
filtered in a constant number of queries, readers read, only editors and the service's team write."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alarms.models import AuditEntry, Service, Team
from alarms.tests.local_estate import client_for
from incidents import selectors
from incidents.choices import Outcome
from incidents.models import Alert, Incident, IncidentNote
from incidents.services.incidents import incident_merge, incident_split

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def make_incident(service, opened: datetime, *, closed: datetime | None = None, title: str = "") -> Incident:
    return Incident.objects.create(
        service=service,
        title=title or f"{service.name} at {opened:%H:%M}",
        opened_at=opened,
        last_alert_at=opened,
        closed_at=closed,
    )


def make_alert(alarm, incident, opened: datetime, closed: datetime | None = None, **fields) -> Alert:
    return Alert.objects.create(alarm=alarm, incident=incident, opened_at=opened, closed_at=closed, **fields)


@pytest.fixture
def estate(catalog, make_alarms):
    """Checkout (team payments) with three alarms; Search (team storefront) with one."""
    search = Service.objects.create(
        slug="search", name="Search", team=Team.objects.create(slug="storefront", name="Storefront")
    )
    alarms = make_alarms(
        catalog["account"], 3, prefix="checkout", service=catalog["service"], owner_team=catalog["team"]
    )
    (query,) = make_alarms(catalog["account"], 1, prefix="search", service=search, owner_team=search.team)
    return {**catalog, "search": search, "alarms": alarms, "query": query}


@pytest.fixture
def two_closed(estate):
    """Two closed incidents of checkout an hour apart, one alert each, a note on the first."""
    first_alarm, second_alarm, _ = estate["alarms"]
    earlier = make_incident(estate["service"], T0, closed=minutes(5))
    later = make_incident(estate["service"], minutes(60), closed=minutes(70))
    a = make_alert(first_alarm, earlier, T0, minutes(5))
    b = make_alert(second_alarm, later, minutes(60), minutes(70))
    IncidentNote.objects.create(incident=earlier, author_name="eddie", at=minutes(2), text="rolling back")
    return {"earlier": earlier, "later": later, "a": a, "b": b}


# Merge


def test_a_merge_moves_alerts_and_notes_deletes_the_source_spans_both_and_is_audited(two_closed, editor):
    earlier, later = two_closed["earlier"], two_closed["later"]

    response = client_for(editor).post(f"/api/v1/incidents/{earlier.pk}/merge/", {"into": later.pk}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == later.pk
    assert [a["id"] for a in body["alerts"]] == [two_closed["a"].pk, two_closed["b"].pk]
    assert [n["text"] for n in body["notes"]] == ["rolling back"]
    assert not Incident.objects.filter(pk=earlier.pk).exists()
    later.refresh_from_db()
    assert (later.opened_at, later.last_alert_at, later.closed_at) == (T0, minutes(60), minutes(70))
    entries = {e.target: e for e in AuditEntry.objects.filter(action="incident.merge")}
    assert set(entries) == {f"incident:{earlier.pk}", f"incident:{later.pk}"}
    assert entries[f"incident:{earlier.pk}"].after == {"merged_into": later.pk}
    assert entries[f"incident:{later.pk}"].after["alerts"] == [two_closed["a"].pk]
    assert all(e.actor == editor for e in entries.values())


def test_a_merge_into_itself_is_a_400_naming_into_and_changes_nothing(two_closed, editor):
    earlier = two_closed["earlier"]

    response = client_for(editor).post(f"/api/v1/incidents/{earlier.pk}/merge/", {"into": earlier.pk}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"} and "into" in response.json()["errors"]
    assert Alert.objects.get(pk=two_closed["a"].pk).incident_id == earlier.pk
    assert Incident.objects.count() == 2 and not AuditEntry.objects.exists()


def test_a_merge_into_an_unknown_incident_is_a_400_naming_into(two_closed, editor):
    response = client_for(editor).post(
        f"/api/v1/incidents/{two_closed['earlier'].pk}/merge/", {"into": 999999}, format="json"
    )

    assert response.status_code == 400 and "into" in response.json()["errors"]


def test_readers_may_not_merge_but_the_services_team_may(two_closed, viewer, estate):
    url = f"/api/v1/incidents/{two_closed['earlier'].pk}/merge/"

    refused = client_for(viewer).post(url, {"into": two_closed["later"].pk}, format="json")
    assert refused.status_code == 403 and refused.json()["errors"] == {}
    assert Incident.objects.count() == 2

    estate["team"].members.add(viewer)
    assert client_for(viewer).post(url, {"into": two_closed["later"].pk}, format="json").status_code == 200


def test_merging_the_open_incident_into_a_closed_one_reopens_it(estate):
    first_alarm, second_alarm, _ = estate["alarms"]
    closed = make_incident(estate["service"], T0, closed=minutes(5))
    make_alert(first_alarm, closed, T0, minutes(5))
    current = make_incident(estate["service"], minutes(40))
    make_alert(second_alarm, current, minutes(40))

    into = incident_merge(source=current, into=closed, actor=None)

    assert into.closed_at is None and into.last_alert_at == minutes(40)
    assert list(Incident.objects.filter(service=estate["service"], closed_at__isnull=True)) == [into]
    assert set(into.alerts.values_list("alarm_id", flat=True)) == {first_alarm.pk, second_alarm.pk}


def test_a_merge_that_would_open_a_second_incident_of_a_service_is_refused(estate):
    first_alarm, _, _ = estate["alarms"]
    open_search = make_incident(estate["search"], T0)
    make_alert(estate["query"], open_search, T0)
    closed_search = make_incident(estate["search"], T0 - timedelta(days=1), closed=T0 - timedelta(hours=23))
    open_checkout = make_incident(estate["service"], minutes(1))
    make_alert(first_alarm, open_checkout, minutes(1))

    with pytest.raises(ValidationError) as refused:
        incident_merge(source=open_checkout, into=closed_search, actor=None)

    assert "into" in refused.value.message_dict
    assert Incident.objects.filter(pk=open_checkout.pk, closed_at__isnull=True).exists()
    assert Incident.objects.get(pk=closed_search.pk).closed_at is not None


def test_the_merged_incident_keeps_what_people_said_about_either_part(two_closed, editor):
    Incident.objects.filter(pk=two_closed["earlier"].pk).update(customer_impact="yes", announcement="sent")

    into = incident_merge(source=two_closed["earlier"], into=two_closed["later"], actor=editor)

    assert (into.customer_impact, into.announcement) == ("yes", "sent")


# Split


@pytest.fixture
def busy(estate):
    """An open incident of checkout: two closed alerts, then one still open half an hour later."""
    a1, a2, a3 = estate["alarms"]
    incident = make_incident(estate["service"], T0, title="Checkout errors")
    Incident.objects.filter(pk=incident.pk).update(last_alert_at=minutes(30))
    alerts = [
        make_alert(a1, incident, T0, minutes(5), outcome=Outcome.CUSTOMER_IMPACT),
        make_alert(a2, incident, minutes(3), minutes(8)),
        make_alert(a3, incident, minutes(30)),
    ]
    return {"incident": Incident.objects.get(pk=incident.pk), "alerts": alerts}


def test_a_split_makes_a_new_incident_of_those_alerts_and_recomputes_the_rest(busy, editor):
    first, second, third = busy["alerts"]

    response = client_for(editor).post(
        f"/api/v1/incidents/{busy['incident'].pk}/split/", {"alerts": [first.pk, second.pk]}, format="json"
    )

    assert response.status_code == 201
    new = Incident.objects.get(pk=response.json()["id"])
    assert set(new.alerts.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert (new.opened_at, new.last_alert_at, new.closed_at) == (T0, minutes(3), minutes(8))
    assert new.title == "Checkout errors (split)" and new.service_id == busy["incident"].service_id
    assert (new.customer_impact, new.announcement) == ("yes", "needed")  # its alert affected customers
    rest = Incident.objects.get(pk=busy["incident"].pk)
    assert (rest.opened_at, rest.last_alert_at, rest.closed_at) == (minutes(30), minutes(30), None)
    assert list(rest.alerts.values_list("pk", flat=True)) == [third.pk]
    entries = {e.target: e for e in AuditEntry.objects.filter(action="incident.split")}
    assert entries[f"incident:{rest.pk}"].after["split_into"] == new.pk
    assert entries[f"incident:{new.pk}"].after["alerts"] == [first.pk, second.pk]


def test_splitting_off_the_open_alert_closes_what_remains_and_the_new_part_is_open(busy, editor):
    third = busy["alerts"][2]

    new = incident_split(incident=busy["incident"], alert_ids=[third.pk], actor=editor, title="Card provider down")

    rest = Incident.objects.get(pk=busy["incident"].pk)
    assert (rest.closed_at, rest.last_alert_at) == (minutes(8), minutes(3))
    assert (new.title, new.closed_at, new.opened_at) == ("Card provider down", None, minutes(30))
    assert Incident.objects.filter(service=busy["incident"].service, closed_at__isnull=True).get() == new


def test_a_split_leaving_an_open_alert_on_both_sides_is_refused(busy, editor):
    second = busy["alerts"][1]
    Alert.objects.filter(pk=second.pk).update(closed_at=None)

    response = client_for(editor).post(
        f"/api/v1/incidents/{busy['incident'].pk}/split/", {"alerts": [second.pk]}, format="json"
    )

    assert response.status_code == 400 and "alerts" in response.json()["errors"]
    assert Incident.objects.count() == 1 and not AuditEntry.objects.exists()
    assert Alert.objects.filter(incident=busy["incident"]).count() == 3


@pytest.mark.parametrize("which", ["all", "foreign", "none"])
def test_a_split_takes_some_but_not_all_of_the_incidents_own_alerts(busy, estate, editor, which):
    other = make_incident(estate["search"], T0, closed=minutes(5))
    foreign = make_alert(estate["query"], other, T0, minutes(5))
    chosen = {
        "all": [a.pk for a in busy["alerts"]],
        "foreign": [busy["alerts"][0].pk, foreign.pk],
        "none": [],
    }[which]

    response = client_for(editor).post(
        f"/api/v1/incidents/{busy['incident'].pk}/split/", {"alerts": chosen}, format="json"
    )

    assert response.status_code == 400 and "alerts" in response.json()["errors"]
    assert Incident.objects.count() == 2 and Alert.objects.get(pk=foreign.pk).incident_id == other.pk


# Edits, notes, first response


def test_edits_are_audited_and_checked(busy, editor, viewer, estate):
    url = f"/api/v1/incidents/{busy['incident'].pk}/"
    api = client_for(editor)

    done = api.patch(url, {"title": "Card payments failing", "customer_impact": "yes"}, format="json")
    wrong = api.patch(url, {"announcement": "maybe"}, format="json")

    assert done.status_code == 200
    assert (done.json()["title"], done.json()["customer_impact"], done.json()["announcement"]) == (
        "Card payments failing",
        "yes",
        "none",
    )
    assert wrong.status_code == 400 and "announcement" in wrong.json()["errors"]
    entry = AuditEntry.objects.get(action="incident.update")
    assert (entry.target, entry.actor) == (f"incident:{busy['incident'].pk}", editor)
    assert entry.before == {"title": "Checkout errors", "customer_impact": "unknown"}
    assert entry.after == {"title": "Card payments failing", "customer_impact": "yes"}
    assert client_for(viewer).patch(url, {"title": "mine"}, format="json").status_code == 403
    assert client_for(viewer).put(url, {"title": "x"}, format="json").status_code in (403, 405)
    estate["team"].members.add(viewer)
    assert client_for(viewer).patch(url, {"announcement": "sent"}, format="json").json()["announcement"] == "sent"


def test_notes_are_recorded_with_their_author_and_capped(busy, editor):
    url = f"/api/v1/incidents/{busy['incident'].pk}/notes/"
    api = client_for(editor)

    added = api.post(url, {"text": "  provider confirms an outage  "}, format="json")
    empty = api.post(url, {"text": "   "}, format="json")
    long = api.post(url, {"text": "x" * 4001}, format="json")

    assert added.status_code == 201
    assert (added.json()["author"], added.json()["text"]) == ("eddie", "provider confirms an outage")
    assert (empty.status_code, long.status_code) == (400, 400) and "text" in long.json()["errors"]
    assert IncidentNote.objects.get().author == editor
    assert AuditEntry.objects.filter(action="incident.note").count() == 1


def test_time_to_first_response_is_the_earliest_response_among_its_alerts_since_it_opened(busy, viewer):
    first, second, _ = busy["alerts"]
    Alert.objects.filter(pk=first.pk).update(first_response_at=minutes(4))
    Alert.objects.filter(pk=second.pk).update(first_response_at=minutes(2.5))
    quiet = make_incident(busy["incident"].service, T0 - timedelta(days=1), closed=T0 - timedelta(hours=23))

    items = {i["id"]: i for i in client_for(viewer).get("/api/v1/incidents/").json()["results"]}

    assert items[busy["incident"].pk]["first_response_at"] == "2026-11-30T09:02:30Z"
    assert items[busy["incident"].pk]["time_to_first_response_seconds"] == 150
    assert (items[quiet.pk]["first_response_at"], items[quiet.pk]["time_to_first_response_seconds"]) == (None, None)
    assert selectors.incident_list().get(pk=busy["incident"].pk).time_to_first_response == timedelta(seconds=150)


def test_the_timeline_tells_what_happened_in_order(busy, editor):
    first, _, third = busy["alerts"]
    Alert.objects.filter(pk=first.pk).update(acknowledged_by=editor, acknowledged_at=minutes(1), outcome_by=editor,
                                             outcome_at=minutes(6))  # fmt: skip
    Alert.objects.filter(pk=busy["alerts"][1].pk).update(
        outcome="transient", outcome_inferred=True, outcome_at=minutes(9)
    )
    IncidentNote.objects.create(incident=busy["incident"], author_name="eddie", at=minutes(7), text="provider ok")

    timeline = selectors.incident_timeline(busy["incident"])

    assert [(e.at, e.kind, e.who) for e in timeline] == [
        (T0, "opened", ""),
        (minutes(1), "acknowledged", "eddie"),
        (minutes(3), "opened", ""),
        (minutes(5), "closed", ""),
        (minutes(6), "outcome", "eddie"),
        (minutes(7), "note", "eddie"),
        (minutes(8), "closed", ""),
        (minutes(9), "outcome", ""),
        (minutes(30), "opened", ""),
    ]
    assert timeline[-2].inferred and timeline[-1].alert_id == third.pk


# Lists and pages


@pytest.fixture
def spread(estate):
    """Checkout: one open incident with impact, one closed; Search: one closed."""
    first_alarm, second_alarm, _ = estate["alarms"]
    current = make_incident(estate["service"], minutes(60))
    Incident.objects.filter(pk=current.pk).update(customer_impact="yes")
    make_alert(first_alarm, current, minutes(60))
    make_alert(second_alarm, current, minutes(61), minutes(65))
    make_incident(estate["service"], T0, closed=minutes(10))
    search = make_incident(estate["search"], minutes(20), closed=minutes(25))
    make_alert(estate["query"], search, minutes(20), minutes(25))
    return estate


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ({}, 3),
        ({"service": "checkout"}, 2),
        ({"team": "storefront"}, 1),
        ({"open": "true"}, 1),
        ({"open": "false"}, 2),
        ({"customer_impact": "yes"}, 1),
        ({"customer_impact": "unknown", "team": "payments"}, 1),
    ],
)
def test_the_api_filters_incidents(spread, viewer, query, count):
    assert client_for(viewer).get("/api/v1/incidents/", query).json()["count"] == count


def test_the_api_list_and_detail_have_the_contract_fields(spread, viewer):
    api = client_for(viewer)

    items = api.get("/api/v1/incidents/").json()["results"]
    detail = api.get(f"/api/v1/incidents/{items[0]['id']}/").json()

    assert set(items[0]) == {
        "id", "title", "service", "team", "opened_at", "last_alert_at", "closed_at", "customer_impact",
        "announcement", "alert_count", "open_alert_count", "first_response_at", "time_to_first_response_seconds",
    }  # fmt: skip
    assert (items[0]["service"], items[0]["team"], items[0]["alert_count"], items[0]["open_alert_count"]) == (
        "checkout",
        "payments",
        2,
        1,
    )
    assert set(detail) == set(items[0]) | {"alerts", "notes"}
    assert [a["opened_at"] for a in detail["alerts"]] == ["2026-11-30T10:00:00Z", "2026-11-30T10:01:00Z"]
    assert detail["alerts"][0]["incident"] == items[0]["id"] and detail["notes"] == []
    assert api.get("/api/v1/incidents/", {"open": "perhaps"}).status_code == 400


def test_incidents_need_a_login(client, spread):
    assert client.get("/api/v1/incidents/").status_code in (401, 403)
    assert "/accounts/login/" in client.get(reverse("incident-list")).url


def _many_incidents(service, alarms, count: int, *, start: datetime) -> None:
    for n in range(count):
        opened = start + timedelta(hours=n)
        incident = make_incident(service, opened, closed=opened + timedelta(minutes=20))
        for alarm in alarms[:2]:
            make_alert(alarm, incident, opened, opened + timedelta(minutes=5), first_response_at=opened)


def test_the_incident_list_page_and_api_run_the_same_queries_for_three_incidents_as_for_thirty(estate, client, viewer):
    client.force_login(viewer)
    api = client_for(viewer)
    _many_incidents(estate["service"], estate["alarms"], 3, start=T0 - timedelta(days=10))
    with CaptureQueriesContext(connection) as page_few:
        client.get(reverse("incident-list"), {"service": "checkout"})
    with CaptureQueriesContext(connection) as api_few:
        api.get("/api/v1/incidents/", {"service": "checkout"})
    _many_incidents(estate["service"], estate["alarms"], 27, start=T0 - timedelta(days=5))

    with CaptureQueriesContext(connection) as page_many:
        page = client.get(reverse("incident-list"), {"service": "checkout"}).content.decode()
    with CaptureQueriesContext(connection) as api_many:
        items = api.get("/api/v1/incidents/", {"service": "checkout"}).json()

    assert len(page_many) == len(page_few) and len(api_many) == len(api_few)
    assert page.count('href="/incidents/') >= 30 and items["count"] == 30


def test_the_incident_page_runs_the_same_queries_for_three_alerts_as_for_thirty(estate, client, editor):
    client.force_login(editor)
    incident = make_incident(estate["service"], T0 - timedelta(days=40), closed=T0)
    alarm = estate["alarms"][0]
    for n in range(3):
        make_alert(alarm, incident, T0 - timedelta(days=40 - n), T0 - timedelta(days=40 - n, minutes=-5),
                   acknowledged_by=editor, acknowledged_at=T0 - timedelta(days=40 - n, minutes=-1))  # fmt: skip
    url = reverse("incident-detail", args=[incident.pk])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(3, 30):
        make_alert(alarm, incident, T0 - timedelta(days=40 - n), T0 - timedelta(days=40 - n, minutes=-5),
                   acknowledged_by=editor, acknowledged_at=T0 - timedelta(days=40 - n, minutes=-1))  # fmt: skip

    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()

    assert len(many) == len(few)
    assert page.count('name="alerts"') == 30 and page.count("acknowledged</span>") == 30


def test_the_incident_page_shows_forms_to_the_team_and_only_the_record_to_readers(busy, client, viewer, estate):
    IncidentNote.objects.create(incident=busy["incident"], author_name="eddie", at=minutes(7), text="<b>ok</b>")
    url = reverse("incident-detail", args=[busy["incident"].pk])
    client.force_login(viewer)

    read_only = client.get(url).content.decode()
    estate["team"].members.add(viewer)
    editable = client.get(url).content.decode()

    assert "Checkout errors" in read_only and "&lt;b&gt;ok&lt;/b&gt;" in read_only and "<b>ok</b>" not in read_only
    assert 'id="incident-timeline"' in read_only and 'id="merge-form"' not in read_only
    assert 'name="alerts"' not in read_only and 'id="note-form"' not in read_only
    assert all(f'id="{form}"' in editable for form in ("incident-edit", "note-form", "merge-form", "split-form"))


def test_the_incident_list_page_filters_and_offers_any(spread, client, viewer):
    client.force_login(viewer)

    page = client.get(reverse("incident-list"), {"open": "true"}).content.decode()

    form = page.split('id="incident-filters"')[1].split("</form>")[0]
    assert ">Any<" in form and "---------" not in form
    table = page.split('id="incident-table"')[1]
    assert table.count('href="/incidents/') == 1 and "Yes</span>" in table


def test_the_page_posts_one_change_each_and_says_what_happened(busy, estate, client, editor, viewer):
    url = reverse("incident-detail", args=[busy["incident"].pk])
    yesterday = make_incident(estate["service"], T0 - timedelta(days=1), closed=T0 - timedelta(hours=23))
    make_alert(estate["alarms"][0], yesterday, T0 - timedelta(days=1), T0 - timedelta(hours=23))
    client.force_login(editor)

    saved = client.post(url, {"action": "update", "title": "Cards", "customer_impact": "no", "announcement": "none"})
    noted = client.post(url, {"action": "note", "text": "looking"}, follow=True).content.decode()
    itself = client.post(url, {"action": "merge", "into_id": str(busy["incident"].pk)}, follow=True).content.decode()
    split = client.post(url, {"action": "split", "alerts": [str(busy["alerts"][0].pk)]})

    assert saved.status_code == 302 and Incident.objects.get(pk=busy["incident"].pk).title == "Cards"
    assert "Note added." in noted and "looking" in noted
    assert "cannot be merged into itself" in itself and "Nothing was changed." in itself
    assert Incident.objects.filter(pk=busy["incident"].pk).exists()
    new = Incident.objects.exclude(pk__in=[busy["incident"].pk, yesterday.pk]).get()
    assert split.url == reverse("incident-detail", args=[new.pk]) and new.alerts.get() == busy["alerts"][0]
    merged = client.post(reverse("incident-detail", args=[yesterday.pk]), {"action": "merge", "into": new.pk})
    assert merged.url == reverse("incident-detail", args=[new.pk])
    assert not Incident.objects.filter(pk=yesterday.pk).exists() and new.alerts.count() == 2

    client.force_login(viewer)
    assert client.post(url, {"action": "note", "text": "mine"}).status_code == 403
    assert IncidentNote.objects.filter(text="mine").count() == 0
