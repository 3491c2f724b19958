"""Ownership through the API: bulk assignment, mapping rules with dry-run, resources and coverage."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms.choices import ResourceKind
from alarms.models import Alarm, AuditEntry, MappingRule, Resource, Service, Team
from alarms.tests.local_estate import client_for

pytestmark = pytest.mark.django_db


def test_bulk_assignment_of_1000_alarms_in_one_request_with_constant_queries(catalog, editor, make_alarms):
    api = client_for(editor)
    make_alarms(catalog["account"], 10, prefix="few")
    few = list(Alarm.objects.values_list("id", flat=True))
    with CaptureQueriesContext(connection) as small:
        response = api.post("/api/v1/alarms/bulk-assign/", {"alarms": few, "owner_team": "payments"}, format="json")
    assert response.json() == {"changed": 10}

    make_alarms(catalog["account"], 1000, prefix="many")
    many = list(Alarm.objects.filter(name__startswith="many").values_list("id", flat=True))
    with CaptureQueriesContext(connection) as large:
        response = api.post(
            "/api/v1/alarms/bulk-assign/",
            {"alarms": many, "owner_team": "payments", "service": "checkout", "tier": "ticket"},
            format="json",
        )

    assert response.status_code == 200
    assert response.json() == {"changed": 1000}
    assert Alarm.objects.filter(owner_team=catalog["team"], service=catalog["service"], tier="ticket").count() == 1000
    assert Alarm.objects.filter(name__startswith="many", owner_team_source="manual").count() == 1000
    assert AuditEntry.objects.filter(action="alarm.bulk_assign").count() == 1010
    # Per batch of 500: one locking read, one update, the audit insert (SQLite splits big inserts).
    assert len(large) <= len(small) + 2 * 6
    entry = AuditEntry.objects.filter(action="alarm.bulk_assign", target__contains="many-0-").get()
    assert entry.before == {"owner_team": None, "service": None, "tier": ""}
    assert entry.after == {"owner_team": "payments", "service": "checkout", "tier": "ticket"}


def test_bulk_assignment_refuses_bad_input_and_changes_nothing(catalog, editor, viewer, make_alarms):
    make_alarms(catalog["account"], 3)
    ids = list(Alarm.objects.values_list("id", flat=True))

    assert (
        client_for(viewer)
        .post("/api/v1/alarms/bulk-assign/", {"alarms": ids, "tier": "page"}, format="json")
        .status_code
        == 403
    )
    api = client_for(editor)
    for body, field in (
        ({"alarms": ids, "owner_team": "ghosts"}, "owner_team"),
        ({"alarms": ids, "tier": "shout"}, "tier"),
        ({"alarms": [], "tier": "page"}, "alarms"),
        ({"alarms": ids}, "non_field_errors"),
        ({"alarms": "all", "tier": "page"}, "alarms"),
    ):
        response = api.post("/api/v1/alarms/bulk-assign/", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], response.json()
    assert not AuditEntry.objects.exists()
    assert set(Alarm.objects.values_list("tier", flat=True)) == {""}


def test_rules_crud_dry_run_and_apply(catalog, editor, viewer, make_alarms):
    make_alarms(catalog["account"], 4, prefix="checkout-prod")
    make_alarms(catalog["account"], 2, prefix="stray")
    api = client_for(editor)
    rule = {
        "name": "checkout by name",
        "position": 10,
        "match": "name_prefix",
        "pattern": "checkout-prod",
        "set_service": "checkout",
    }

    preview = api.post("/api/v1/mapping-rules/dry-run/", rule, format="json").json()
    assert preview["matches"] == 4
    assert preview["reassigned"] == 4
    assert {item["service_after"] for item in preview["reassignments"]} == {"checkout"}
    assert {item["owner_team_after"] for item in preview["reassignments"]} == {"payments"}
    assert {item["service_rule"] for item in preview["reassignments"]} == {"checkout by name"}
    assert {item["owner_team_rule"] for item in preview["reassignments"]} == {"owner of the service"}
    assert not MappingRule.objects.exists()
    assert not Alarm.objects.filter(service__isnull=False).exists()

    assert client_for(viewer).post("/api/v1/mapping-rules/", rule, format="json").status_code == 403
    created = api.post("/api/v1/mapping-rules/", rule, format="json")
    assert created.status_code == 201, created.json()
    assert api.post("/api/v1/mapping-rules/apply/", format="json").json() == {"reassigned": 4}
    assert Alarm.objects.filter(service=catalog["service"]).count() == 4
    assert AuditEntry.objects.filter(action="mapping_rule.save").count() == 1

    rule_id = created.json()["id"]
    edit = api.post("/api/v1/mapping-rules/dry-run/", {"id": rule_id, "enabled": False}, format="json").json()
    assert edit["reassigned"] == 4  # disabling it would unassign the four
    assert api.delete(f"/api/v1/mapping-rules/{rule_id}/").status_code == 204
    assert AuditEntry.objects.filter(action="mapping_rule.delete").count() == 1


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"match": "name_regex", "pattern": "(unclosed", "set_service": "checkout"}, "pattern"),
        ({"match": "name_prefix", "pattern": "nothing-has-this-", "set_service": "checkout"}, "pattern"),
        ({"match": "tag", "tag_key": "team", "pattern": "*", "set_team": "no-such-team"}, "set_team"),
        ({"match": "tag", "tag_key": "", "pattern": "*", "set_service": "checkout"}, "tag_key"),
        ({"match": "sorcery", "pattern": "x", "set_service": "checkout"}, "match"),
    ],
)
def test_bad_rules_get_a_clear_error_and_nothing_is_saved(catalog, editor, make_alarms, rule, field):
    make_alarms(catalog["account"], 2, prefix="checkout-prod")

    response = client_for(editor).post("/api/v1/mapping-rules/", {"name": "bad", **rule}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not MappingRule.objects.exists()


def test_resources_list_and_coverage_figures_on_a_planted_estate(catalog, viewer, make_alarms):
    account, checkout = catalog["account"], catalog["service"]
    storefront = Team.objects.create(slug="storefront", name="Storefront")
    search = Service.objects.create(slug="search", name="Search", team=storefront)
    silent = Resource.objects.create(
        account=account,
        region="eu-west-1",
        kind=ResourceKind.SNS_TOPIC,
        name="nobody",
        arn="arn:aws:sns:eu-west-1:111111111111:nobody",
        attributes={"subscriptions": 0},
    )
    Resource.objects.create(
        account=account,
        region="eu-west-1",
        kind=ResourceKind.LAMBDA_FUNCTION,
        name="lonely",
        arn="arn:fn:lonely",
        service=search,
    )
    make_alarms(
        account,
        2,
        prefix="co-page",
        service=checkout,
        owner_team=catalog["team"],
        signal_kind="symptom",
        tier="page",
        alarm_actions=["arn:aws:sns:eu-west-1:111111111111:ops"],
        purpose_detects="d",
        purpose_customer_impact="i",
        purpose_action="a",
    )
    make_alarms(account, 3, prefix="se", service=search, alarm_actions=[silent.arn])
    make_alarms(
        account,
        1,
        prefix="se-muted",
        service=search,
        actions_enabled=False,
        orphaned=True,
        alarm_actions=["arn:aws:sns:eu-west-1:111111111111:ops"],
    )
    make_alarms(account, 2, prefix="loose")

    body = client_for(viewer).get("/api/v1/coverage/").json()

    assert body["alarms"] == 8
    assert body["uncovered_services"] == ["search"]
    assert (body["services"], body["services_covered"]) == (2, 1)
    assert (body["orphaned"], body["muted"], body["silent_topics"], body["no_actions"]) == (1, 1, 3, 2)
    assert body["unalarmed_resources"] == 2
    assert body["owned_pct"] == 25.0
    teams = {t["slug"]: t for t in body["teams"]}
    assert teams["payments"]["covered_pct"] == 100.0
    assert teams["payments"]["purpose_pct"] == 100.0
    assert teams["storefront"]["covered_pct"] == 0.0
    lonely = client_for(viewer).get("/api/v1/resources/?unalarmed=true&kind=lambda:function").json()
    assert [r["name"] for r in lonely["results"]] == ["lonely"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_edits_serialise_and_the_audit_shows_the_last_write(catalog, editor, make_alarms):
    """Two editors assign overlapping sets at the same moment: nothing is lost, and for every alarm the
    latest audit entry names the value it ended with, its 'before' being the other edit's 'after'."""
    import threading

    from django.db import connection

    from alarms.services.bulk import alarms_bulk_assign

    storefront = Team.objects.create(slug="storefront", name="Storefront")
    make_alarms(catalog["account"], 300)
    ids = list(Alarm.objects.order_by("id").values_list("id", flat=True))
    first, second = ids[:200], ids[100:]
    start = threading.Barrier(2)
    errors = []

    def assign(alarm_ids, team):
        try:
            start.wait()
            alarms_bulk_assign(alarm_ids=alarm_ids, actor=editor, owner_team=team)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=assign, args=(first, catalog["team"])),
        threading.Thread(target=assign, args=(second, storefront)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    final = dict(Alarm.objects.values_list("id", "owner_team__slug"))
    assert all(final[i] == "payments" for i in ids[:100])
    assert all(final[i] == "storefront" for i in ids[200:])
    for alarm_id in ids[100:200]:
        entries = list(AuditEntry.objects.filter(alarm_id=alarm_id).order_by("id"))
        assert len(entries) == 2
        assert entries[-1].after["owner_team"] == final[alarm_id]
        assert entries[-1].before["owner_team"] == entries[0].after["owner_team"]


def test_a_dry_run_of_a_rule_id_that_is_not_a_number_is_a_clear_400(catalog, editor):
    response = client_for(editor).post(
        "/api/v1/mapping-rules/dry-run/", {"id": "abc", "name": "x", "match": "name_prefix"}, format="json"
    )

    assert response.status_code == 400
    assert "id" in response.json()["errors"]
