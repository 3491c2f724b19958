"""Alerts in the portal and the API: lists with filters in a constant number of queries, the alert page with
its state changes and raw messages, the alarm page's alerts panel; markup stays text."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from alarms.models import Alarm, Service, Team
from alarms.tests.local_estate import client_for
from incidents.ingest.cloudwatch_message import AlarmStateReport
from incidents.models import Alert, InboundMessage
from incidents.services.episodes import state_change_record

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def fire(alarm: Alarm, at: datetime, minutes: int | None = 5, source="sns:m") -> None:
    def report(state, when):
        return AlarmStateReport(arn=alarm.arn, name=alarm.name, account_id=alarm.account.account_id,
                                region=alarm.region, at=when, new_state=state, reason=f"went {state}")  # fmt: skip

    state_change_record(alarm_id=alarm.pk, report=report("ALARM", at), source=f"{source}-{at.timestamp()}")
    if minutes is not None:
        state_change_record(alarm_id=alarm.pk, report=report("OK", at + timedelta(minutes=minutes)), source=source)


@pytest.fixture
def estate(catalog, make_alarms):
    search = Service.objects.create(
        slug="search", name="Search", team=Team.objects.create(slug="storefront", name="Storefront")
    )
    (checkout,) = make_alarms(
        catalog["account"], 1, prefix="checkout", service=catalog["service"], owner_team=catalog["team"]
    )
    (query,) = make_alarms(catalog["account"], 1, prefix="search", service=search, owner_team=search.team)
    fire(checkout, T0)
    fire(checkout, T0 + timedelta(hours=2), minutes=None)  # still open
    fire(query, T0 + timedelta(hours=1))
    return {**catalog, "checkout": checkout, "query": query}


def test_the_api_lists_alerts_newest_first_with_the_contract_fields(estate, viewer):
    items = client_for(viewer).get("/api/v1/alerts/").json()["results"]

    assert [i["opened_at"] for i in items] == ["2026-11-30T11:00:00Z", "2026-11-30T10:00:00Z", "2026-11-30T09:00:00Z"]
    assert set(items[0]) >= {"id", "alarm_arn", "opened_at", "closed_at", "incident", "outcome", "outcome_inferred"}
    assert (items[0]["alarm_arn"], items[0]["closed_at"], items[0]["outcome"]) == (estate["checkout"].arn, None, None)


@pytest.mark.parametrize(
    ("query", "count"),
    [({"open": "true"}, 1), ({"open": "false"}, 2), ({"team": "storefront"}, 1), ({"service": "checkout"}, 2)],
)
def test_the_api_filters_alerts(estate, viewer, query, count):
    assert client_for(viewer).get("/api/v1/alerts/", query).json()["count"] == count


def test_the_api_filters_by_alarm_arn_and_lists_an_alarms_state_changes(estate, viewer):
    api = client_for(viewer)

    assert api.get("/api/v1/alerts/", {"alarm_arn": estate["query"].arn}).json()["count"] == 1
    changes = api.get(f"/api/v1/alarms/{estate['checkout'].pk}/state-changes/").json()["results"]
    assert [c["new_state"] for c in changes] == ["ALARM", "OK", "ALARM"]  # newest first
    assert api.get("/api/v1/alarms/999999/state-changes/").status_code == 404


def test_alerts_need_a_login(client, estate):
    assert client.get("/api/v1/alerts/").status_code in (401, 403)
    assert "/accounts/login/" in client.get("/alerts/").url


def test_the_alert_list_runs_the_same_queries_for_three_alerts_as_for_thirty(
    estate, client, viewer, django_assert_max_num_queries
):
    client.force_login(viewer)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("alert-list"))
    for day in range(27):
        fire(estate["query"], T0 + timedelta(days=day + 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("alert-list")).content.decode()
    assert page.count('href="/alerts/') >= 30


def test_the_alert_page_shows_its_state_changes_and_raw_messages_as_text(estate, client, viewer):
    alarm = estate["checkout"]
    Alarm.objects.filter(pk=alarm.pk).update(name="<script>alert(1)</script>")
    InboundMessage.objects.create(source="sns", message_id=f"m-{T0.timestamp()}", kind="Notification",
                                  body='{"Message": "<b>raw</b>"}', received_at=T0)  # fmt: skip
    client.force_login(viewer)
    alert = Alert.objects.get(alarm=alarm, opened_at=T0)

    page = client.get(reverse("alert-detail", args=[alert.pk])).content.decode()

    assert "went ALARM" in page and "went OK" in page
    assert "&lt;b&gt;raw&lt;/b&gt;" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_alarm_page_shows_its_recent_alerts_and_a_timeline(estate, client, viewer):
    client.force_login(viewer)

    page = client.get(reverse("alarm-detail", args=[estate["checkout"].pk])).content.decode()

    assert 'id="alarm-alerts"' in page and "<svg" in page
    assert page.count('href="/alerts/') >= 2


def test_an_alarms_alerts_follow_it_across_replacement(estate, viewer, make_alarms):
    old = estate["checkout"]
    (new,) = make_alarms(estate["account"], 1, prefix="checkout-v2")
    Alarm.objects.filter(pk=old.pk).update(replaced_by=new, deleted_at=T0 + timedelta(days=1))
    fire(new, T0 + timedelta(days=2))

    items = client_for(viewer).get("/api/v1/alerts/", {"alarm_arn": new.arn}).json()["results"]

    assert sorted(i["alarm_arn"] for i in items) == sorted([old.arn, old.arn, new.arn])


def test_the_alert_filters_offer_any_rather_than_blanks_or_unknown(estate, client, viewer):
    client.force_login(viewer)

    form = client.get(reverse("alert-list")).content.decode().split('id="alert-filters"')[1].split("</form>")[0]

    assert ">Any<" in form and "Unknown" not in form and "---------" not in form
