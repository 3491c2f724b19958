"""The server-rendered pages: login everywhere, filters, sorting, escaping, audited edits, pinned queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alarms.models import Alarm, AuditEntry, SyncRun

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/alarms/",
    "/services/",
    "/sync-runs/",
    "/services/checkout/",
    "/alarms/1/",
    "/alarms/1/governance/",
    "/rules/",
    "/rules/new/",
    "/coverage/",
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def names(response) -> set[str]:
    return {alarm.name for alarm in response.context["page"]}


def test_alarm_list_filters_and_sorts(client, viewer, catalog, make_alarms):
    account = catalog["account"]
    make_alarms(account, 3, prefix="calm")
    make_alarms(account, 2, prefix="burning", state="ALARM", owner_team=catalog["team"], service=catalog["service"])
    make_alarms(account, 1, prefix="east", region="us-east-1")
    client.force_login(viewer)

    assert names(client.get("/alarms/?state=ALARM")) == {"burning-0-Errors", "burning-1-Errors"}
    assert names(client.get("/alarms/?owner_team=payments")) == {"burning-0-Errors", "burning-1-Errors"}
    assert len(names(client.get("/alarms/?no_owner=true"))) == 4
    assert names(client.get("/alarms/?search=east")) == {"east-0-Errors"}
    assert names(client.get("/alarms/?region=us-east-1&account_id=111111111111")) == {"east-0-Errors"}
    descending = [a.name for a in client.get("/alarms/?ordering=-name").context["page"]]
    assert descending == sorted(descending, reverse=True)


def test_alarm_list_runs_the_same_queries_for_5_or_120_alarms(client, viewer, catalog, make_alarms):
    client.force_login(viewer)
    make_alarms(catalog["account"], 5, owner_team=catalog["team"], service=catalog["service"])
    with CaptureQueriesContext(connection) as few:
        assert client.get("/alarms/").status_code == 200
    make_alarms(catalog["account"], 115, prefix="more", owner_team=catalog["team"], service=catalog["service"])
    with CaptureQueriesContext(connection) as many:
        assert client.get("/alarms/").status_code == 200
    assert len(many) == len(few) <= 12


def test_dashboard_and_services_run_a_constant_number_of_queries(client, viewer, catalog, make_alarms):
    client.force_login(viewer)
    make_alarms(catalog["account"], 5, service=catalog["service"])
    counts = []
    for extra in (0, 60):
        make_alarms(catalog["account"], extra, prefix=f"extra{extra}", service=catalog["service"])
        with CaptureQueriesContext(connection) as queries:
            for url in ("/", "/services/", "/services/checkout/"):
                assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_markup_in_alarm_names_is_escaped(client, viewer, catalog):
    Alarm.objects.create(
        arn="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:<script>alert(1)</script>",
        account=catalog["account"],
        region="eu-west-1",
        name="<script>alert(1)</script>",
        description="<img src=x onerror=alert(2)>",
        tags={"<b>team</b>": "<i>x</i>"},
    )
    client.force_login(viewer)

    for url in ("/alarms/", f"/alarms/{Alarm.objects.get().pk}/"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<img src=x" not in body


def test_editor_changes_governance_and_it_is_audited(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 1)
    alarm = Alarm.objects.get()
    client.force_login(editor)
    assert client.get(f"/alarms/{alarm.pk}/governance/").status_code == 200

    response = client.post(
        f"/alarms/{alarm.pk}/governance/",
        {
            "service": catalog["service"].pk,
            "owner_team": catalog["team"].pk,
            "purpose_detects": "Checkout API returns 5xx",
            "purpose_customer_impact": "Customers cannot pay",
            "purpose_action": "Fail over the payment provider",
            "runbook_url": "https://runbooks.example.com/checkout",
            "signal_kind": "symptom",
            "tier": "page",
        },
    )

    assert response.status_code == 302
    alarm.refresh_from_db()
    assert (alarm.service, alarm.owner_team, alarm.tier, alarm.service_source) == (
        catalog["service"],
        catalog["team"],
        "page",
        "manual",
    )
    entry = AuditEntry.objects.get(alarm=alarm)
    assert entry.actor == editor
    assert entry.before["tier"] == ""
    assert entry.after["tier"] == "page"
    assert "Customers cannot pay" in client.get(f"/alarms/{alarm.pk}/").content.decode()


def test_invalid_governance_form_shows_errors_and_changes_nothing(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 1)
    alarm = Alarm.objects.get()
    client.force_login(editor)

    response = client.post(f"/alarms/{alarm.pk}/governance/", {"runbook_url": "javascript:alert(1)", "tier": "loud"})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"runbook_url", "tier"}
    assert not AuditEntry.objects.exists()


def test_viewer_cannot_edit_governance(client, viewer, catalog, make_alarms):
    make_alarms(catalog["account"], 1)
    alarm = Alarm.objects.get()
    client.force_login(viewer)

    assert client.get(f"/alarms/{alarm.pk}/governance/").status_code == 403
    assert client.post(f"/alarms/{alarm.pk}/governance/", {"tier": "page"}).status_code == 403
    alarm.refresh_from_db()
    assert alarm.tier == ""
    assert "Edit</a>" not in client.get(f"/alarms/{alarm.pk}/").content.decode()


def test_sync_now_is_for_staff(client, viewer, admin_user, catalog, django_capture_on_commit_callbacks):
    client.force_login(viewer)
    assert client.post("/sync-runs/now/").status_code == 302  # to the login page of the staff check
    assert not SyncRun.objects.exists()

    client.force_login(admin_user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/sync-runs/now/")
    assert response.status_code == 302
    assert len(callbacks) == 1
