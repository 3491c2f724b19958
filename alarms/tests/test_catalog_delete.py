"""Deleting a service or a team in the admin strands nothing: alarms go back to the rules, rules that named
it are disabled, and all of it is audited."""

import pytest

from alarms.choices import RuleMatch
from alarms.models import Alarm, AuditEntry, MappingRule, Service, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(catalog, make_alarms):
    search = Service.objects.create(slug="search", name="Search")
    by_tag = MappingRule.objects.create(
        position=10, name="service tag", match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True
    )
    by_prefix = MappingRule.objects.create(
        position=20, name="checkout prefix", match=RuleMatch.NAME_PREFIX, pattern="co-", set_service=catalog["service"]
    )
    (by_hand,) = make_alarms(catalog["account"], 1, prefix="manual", tags={"service": "search"})
    (by_rule,) = make_alarms(catalog["account"], 1, prefix="co")
    Alarm.objects.filter(pk=by_hand.pk).update(service=catalog["service"], service_source="manual")
    Alarm.objects.filter(pk=by_rule.pk).update(service=catalog["service"], service_source="rule")
    return {
        **catalog,
        "search": search,
        "by_tag": by_tag,
        "by_prefix": by_prefix,
        "by_hand": by_hand,
        "by_rule": by_rule,
    }


def test_deleting_a_service_hands_its_alarms_back_to_the_rules(admin_client, estate):
    checkout = estate["service"]

    response = admin_client.post(f"/admin/alarms/service/{checkout.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Service.objects.filter(pk=checkout.pk).exists()
    by_hand = Alarm.objects.get(pk=estate["by_hand"].pk)
    assert (by_hand.service, by_hand.service_source) == (estate["search"], "rule")  # its tag names a service
    by_rule = Alarm.objects.get(pk=estate["by_rule"].pk)
    assert (by_rule.service, by_rule.service_source) == (None, "")
    rule = MappingRule.objects.get(pk=estate["by_prefix"].pk)
    assert not rule.enabled
    assert MappingRule.objects.get(pk=estate["by_tag"].pk).enabled
    audit = AuditEntry.objects.filter(actor_name="admin")
    assert set(audit.filter(action="alarm.service_deleted").values_list("alarm_id", flat=True)) == {
        estate["by_hand"].pk,
        estate["by_rule"].pk,
    }
    disabled = audit.get(action="mapping_rule.disable")
    assert (disabled.before["set_service"], disabled.after["enabled"]) == ("checkout", False)
    assert audit.get(action="service.delete").before["slug"] == "checkout"


def test_deleting_a_team_leaves_its_services_and_alarms_reassignable(admin_client, estate):
    payments = estate["team"]
    Alarm.objects.filter(pk=estate["by_hand"].pk).update(owner_team=payments, owner_team_source="manual")
    MappingRule.objects.create(
        position=30, name="owner", match=RuleMatch.NAME_PREFIX, pattern="manual", set_team=payments
    )

    admin_client.post(
        "/admin/alarms/team/", {"action": "delete_selected", "_selected_action": [payments.pk], "post": "yes"}
    )

    assert not Team.objects.exists()
    assert Service.objects.get(slug="checkout").team is None
    by_hand = Alarm.objects.get(pk=estate["by_hand"].pk)
    assert (by_hand.owner_team, by_hand.owner_team_source) == (None, "")
    assert not MappingRule.objects.get(name="owner").enabled
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"alarm.team_deleted", "service.team_deleted", "mapping_rule.disable", "team.delete"} <= actions


def test_editing_a_service_in_the_admin_is_audited(admin_client, estate):
    storefront = Team.objects.create(slug="storefront", name="Storefront")
    search = estate["search"]

    response = admin_client.post(
        f"/admin/alarms/service/{search.pk}/change/",
        {"slug": "search", "name": "Site search", "description": "", "team": storefront.pk,
         "aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0"},
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="service.update", target="service:search")
    assert (entry.actor_name, entry.before, entry.after) == (
        "admin",
        {"name": "Search", "team": None},
        {"name": "Site search", "team": "storefront"},
    )


def test_merging_services_from_the_admin_asks_which_one_to_keep(admin_client, estate):
    search, checkout = estate["search"], estate["service"]
    Alarm.objects.filter(pk=estate["by_rule"].pk).update(service=search)
    url = "/admin/alarms/service/"
    chosen = {"action": "merge_selected", "_selected_action": [search.pk]}

    asked = admin_client.post(url, chosen)
    assert asked.status_code == 200 and "Merge 1 service" in asked.content.decode()
    assert Service.objects.filter(slug="search").exists()

    admin_client.post(url, {**chosen, "into": checkout.pk, "confirm": "Merge"})

    assert not Service.objects.filter(slug="search").exists()
    assert Alarm.objects.get(pk=estate["by_rule"].pk).service == checkout
    assert checkout.aliases.filter(value="search").exists()
