"""The server-rendered pages: login everywhere, filters, sorting, escaping, audited edits, pinned queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alarms.models import Alarm, AuditEntry, SyncRun
from alarms.services.sync import sync_run_claim
from alarms.tests.factories import AlarmFactory, AwsAccountFactory, SyncRunFactory, TeamFactory

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
    assert "Sync now" not in client.get("/sync-runs/").content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post("/sync-runs/now/").status_code == 403
    assert callbacks == []

    client.force_login(admin_user)
    assert "Sync now" in client.get("/sync-runs/").content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/sync-runs/now/", follow=True)
    assert response.redirect_chain == [("/sync-runs/", 302)]
    assert "queued" in response.content.decode()
    assert len(callbacks) == 1


def test_sync_now_records_who_pressed_it_whatever_the_length_of_their_name(
    client, django_user_model, catalog, monkeypatch
):
    # User names from a single sign-on directory reach Django's limit of 150 characters.
    long_name = "a-very-long-user-name-from-the-single-sign-on-directory-".ljust(150, "x")
    client.force_login(django_user_model.objects.create_user(long_name, is_staff=True))
    claimed = []

    def claim_now(*, triggered_by):  # what the worker does first with the queued task
        claimed.append(sync_run_claim(account=catalog["account"], region="eu-west-1", triggered_by=triggered_by))

    monkeypatch.setattr("alarms.views.catalog.enqueue_sync", claim_now)

    client.post("/sync-runs/now/")

    assert claimed[0] is not None
    assert SyncRun.objects.get().triggered_by == f"web:{long_name}"


def test_pages_keep_the_filters_when_sorting_and_paging(client, viewer, catalog, make_alarms):
    make_alarms(catalog["account"], 60, prefix="burning", state="ALARM")
    make_alarms(catalog["account"], 3, prefix="calm")
    client.force_login(viewer)

    first = client.get("/alarms/?state=ALARM&ordering=-name")
    body = first.content.decode()
    assert first.context["page"].paginator.count == 60
    assert len(first.context["page"]) == 50
    assert 'href="?state=ALARM&amp;ordering=-name&amp;page=2"' in body
    assert 'href="?state=ALARM&amp;ordering=name"' in body  # the Name header reverses the order, filter kept

    second = client.get("/alarms/?state=ALARM&ordering=-name&page=2")
    assert len(second.context["page"]) == 10
    assert names(second) <= {f"burning-{i}-Errors" for i in range(60)}


def test_filter_form_says_any_for_a_blank_choice(client, viewer, catalog):
    client.force_login(viewer)
    body = client.get("/alarms/?no_owner=true").content.decode()

    assert "---------" not in body
    assert "Unknown" not in body
    assert '<option value="true" selected>Yes</option>' in body


def test_dashboard_links_each_count_to_the_filtered_list(client, viewer, catalog, make_alarms):
    make_alarms(catalog["account"], 2, prefix="owned", owner_team=catalog["team"], state="ALARM")
    make_alarms(catalog["account"], 3, prefix="stray")
    SyncRunFactory(account=catalog["account"], status="failed", error="ThrottlingException: Rate exceeded")
    client.force_login(viewer)

    response = client.get("/")
    body = response.content.decode()

    assert response.context["summary"].total == 5
    assert 'href="/alarms/?owner_team=payments">Payments</a>' in body
    assert 'href="/alarms/?no_owner=true">No owner</a>' in body
    assert 'href="/alarms/?state=ALARM"' in body
    assert "badge-red" in body and "failed" in body
    for link in ("/alarms/?owner_team=payments", "/alarms/?no_owner=true", "/alarms/?state=ALARM"):
        assert client.get(link).context["page"].paginator.count in (2, 3)


def test_alarm_detail_shows_the_whole_definition(client, viewer):
    account = AwsAccountFactory()
    alarm = AlarmFactory(
        account=account,
        name="orders-api-latency-p99",
        metric_name="",
        metrics=[{"Id": "e1", "Expression": "m1 / m2 * 100", "ReturnData": True}],
        tags={"team": "payments"},
        stack_name="orders-api-prod",
    )
    composite = AlarmFactory(
        account=account, alarm_type="composite", alarm_rule='ALARM("orders-api-latency-p99") AND ALARM("db-cpu")'
    )
    gone = AlarmFactory(account=account, deleted_at=alarm.state_updated_at)
    client.force_login(viewer)

    body = client.get(f"/alarms/{alarm.pk}/").content.decode()
    assert "&quot;Expression&quot;: &quot;m1 / m2 * 100&quot;" in body  # JSON, indented and escaped
    assert 'title="GreaterThanOrEqualToThreshold">≥</span> 1.0' in body
    assert "orders-api-prod" in body
    assert "arn:aws:sns:eu-west-1:111111111111:ops-alerts" in body
    assert (
        "ALARM(&quot;orders-api-latency-p99&quot;) AND ALARM(&quot;db-cpu&quot;)"
        in client.get(f"/alarms/{composite.pk}/").content.decode()
    )
    assert "Deleted in AWS" in client.get(f"/alarms/{gone.pk}/").content.decode()
    assert "Deleted in AWS" not in body


def test_sync_run_list_shows_counts_duration_and_a_truncated_error(client, admin_user):
    SyncRunFactory(duration_ms=2340, api_calls=7)
    SyncRunFactory(status="failed", duration_ms=None, error="AccessDenied: " + "x" * 300)
    client.force_login(admin_user)  # the full error is for staff; others read its summary

    response = client.get("/sync-runs/?status=failed")
    body = response.content.decode()

    assert len(response.context["page"]) == 1
    assert "badge-red" in body
    assert "AccessDenied: xxx" in body and "x" * 100 + "</td>" not in body
    assert "2.3 s" in client.get("/sync-runs/").content.decode()


def test_service_detail_lists_its_live_alarms(client, viewer, catalog):
    service = catalog["service"]
    AlarmFactory(account=catalog["account"], name="checkout-5xx", service=service, state="ALARM")
    AlarmFactory(
        account=catalog["account"], name="checkout-old", service=service, deleted_at=catalog["team"].created_at
    )
    AlarmFactory(account=catalog["account"], name="search-5xx", owner_team=TeamFactory(slug="storefront"))
    client.force_login(viewer)

    assert names(client.get("/services/checkout/")) == {"checkout-5xx"}
    services = client.get("/services/").context["services"]
    assert [(s.slug, s.alarm_count, s.alarm_firing) for s in services] == [("checkout", 1, 1)]
