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

    client.post("/alarms/bulk/", {"scope": "filtered", "service": catalog["service"].pk, "query": "search=search"})

    assert Alarm.objects.filter(service=catalog["service"]).count() == 4
    assert not Alarm.objects.filter(name__startswith="other", service__isnull=False).exists()


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
