"""Ownership pages: bulk assignment from the list, rules with a dry run, the coverage page."""

import pytest

from alarms.models import Alarm, AuditEntry, MappingRule

pytestmark = pytest.mark.django_db


def test_bulk_assign_selected_alarms(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 5)
    chosen = list(Alarm.objects.order_by("id").values_list("id", flat=True)[:3])
    client.force_login(editor)

    response = client.post(
        "/alarms/bulk/",
        {
            "scope": "selected",
            "alarms": chosen,
            "owner_team": catalog["team"].pk,
            "tier": "ticket",
            "query": "state=OK",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/alarms/?state=OK"
    assert set(Alarm.objects.filter(owner_team=catalog["team"], tier="ticket").values_list("id", flat=True)) == set(
        chosen
    )
    assert AuditEntry.objects.filter(action="alarm.bulk_assign").count() == 3


def test_bulk_assign_every_alarm_matching_the_filters(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 4, prefix="search")
    make_alarms(catalog["account"], 2, prefix="other")
    client.force_login(editor)

    asked = {"scope": "filtered", "service": catalog["service"].pk, "query": "search=search"}

    confirm = client.post("/alarms/bulk/", asked)

    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Assign 4 alarms?" in page and "Search: <strong>search</strong>" in page
    assert not Alarm.objects.filter(service__isnull=False).exists()  # nothing before the confirmation

    done = client.post("/alarms/bulk/", {**asked, "confirmed_count": 4}, follow=True)

    assert "Updated 4 of 4 alarms" in done.content.decode()
    assert Alarm.objects.filter(service=catalog["service"]).count() == 4
    assert not Alarm.objects.filter(name__startswith="other", service__isnull=False).exists()


def test_a_confirmation_that_no_longer_matches_the_filters_writes_nothing(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 4, prefix="search")
    client.force_login(editor)
    make_alarms(catalog["account"], 1, prefix="search-new")  # a sync added one after the person confirmed 4

    again = client.post(
        "/alarms/bulk/",
        {"scope": "filtered", "service": catalog["service"].pk, "query": "search=search", "confirmed_count": 4},
    )

    assert "not the 4 you confirmed" in again.content.decode()
    assert not Alarm.objects.filter(service__isnull=False).exists()


@pytest.mark.parametrize(
    "query",
    [
        "owner_team=no-such-team",
        "state=BURNING",
        "account_id=999999999999",
        "orphaned=maybe",
        "has_purpose=yes",
        "no_owner=on",
        "servce=checkout",
    ],
)
def test_an_invalid_or_stale_filter_is_an_error_never_a_wider_selection(client, editor, catalog, make_alarms, query):
    make_alarms(catalog["account"], 3)
    client.force_login(editor)

    response = client.post(
        "/alarms/bulk/",
        {"scope": "filtered", "service": catalog["service"].pk, "query": query, "confirmed_count": 3},
        follow=True,
    )

    assert "These filters are not valid" in response.content.decode()
    assert not Alarm.objects.filter(service__isnull=False).exists()


def test_bulk_assign_needs_the_editor_permission(client, viewer, catalog, make_alarms):
    make_alarms(catalog["account"], 2)
    client.force_login(viewer)
    ids = list(Alarm.objects.values_list("id", flat=True))

    assert client.post("/alarms/bulk/", {"scope": "selected", "alarms": ids, "tier": "page"}).status_code == 403
    assert not Alarm.objects.filter(tier="page").exists()
    assert 'id="bulk-form"' not in client.get("/alarms/").content.decode()


def test_rule_preview_then_save(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 3, prefix="checkout-prod")
    client.force_login(editor)
    form = {
        "position": 10,
        "name": "checkout",
        "enabled": "on",
        "match": "name_prefix",
        "pattern": "checkout-prod",
        "set_service": catalog["service"].pk,
    }

    preview = client.post("/rules/new/", {**form, "preview": "1"})

    assert preview.status_code == 200
    assert preview.context["preview"].matches == 3
    assert "would reassign" in preview.content.decode()
    assert not MappingRule.objects.exists()

    saved = client.post("/rules/new/", {**form, "save": "1"})
    assert saved.status_code == 302
    assert MappingRule.objects.get().pattern == "checkout-prod"
    client.post("/rules/apply/")
    assert Alarm.objects.filter(service=catalog["service"]).count() == 3


def test_bad_regex_is_a_form_error(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 1)
    client.force_login(editor)

    response = client.post(
        "/rules/new/",
        {
            "position": 1,
            "name": "bad",
            "enabled": "on",
            "match": "name_regex",
            "pattern": "(oops",
            "service_from_value": "on",
            "save": "1",
        },
    )

    assert response.status_code == 200
    assert "Not a valid regular expression" in response.content.decode()
    assert not MappingRule.objects.exists()


def test_coverage_page_names_services_without_a_symptom_alarm(client, viewer, catalog, make_alarms):
    make_alarms(catalog["account"], 2, service=catalog["service"], signal_kind="cause", tier="page")
    client.force_login(viewer)

    body = client.get("/coverage/").content.decode()

    assert "Without a symptom" in body
    assert ">Checkout</a>" in body.split('id="uncovered"')[1].split("</div>")[0]
