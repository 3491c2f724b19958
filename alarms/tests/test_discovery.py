"""Discovery against the local AWS: a fresh install (no services, teams or rules of its own beyond the
defaults migrate creates) syncs a tagged estate and comes out owned."""

import hashlib
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from alarms.models import Alarm, AuditEntry, AwsAccount, MappingRule, Service, ServiceAlias, SyncRun, Team
from alarms.services.catalog import services_delete, services_merge, teams_merge
from alarms.services.discovery import discovery_slug
from alarms.services.governance import alarm_update_governance
from alarms.services.refresh import catalog_refresh
from alarms.tests.local_estate import ACCOUNTS, REGIONS, client_for, put_alarm, register_accounts

pytestmark = pytest.mark.django_db
default_rules_migration = importlib.import_module("alarms.migrations.0009_default_tag_rules")


@pytest.fixture(autouse=True)
def default_rules(db):
    """The rules migrate creates (a test database emptied by an earlier transactional test lost them)."""
    MappingRule.objects.all().delete()
    default_rules_migration.create(django_apps, None)


def refresh():
    account = AwsAccount.objects.get(account_id=ACCOUNTS[0])
    return catalog_refresh(account=account, region=REGIONS[0])


def live(name) -> Alarm:
    return Alarm.objects.select_related("service", "owner_team").get(name=name, deleted_at__isnull=True)


@pytest.fixture
def estate(local_aws):
    """Mixed-case and aliased values, as teams really tag: one service spelt three ways, two tag keys."""
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-pay-Errors", tags={"service": "Checkout", "team": "Payments"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-refund-Errors", tags={"service": "checkout", "team": "payments"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-quote-Errors", tags={"app": "checkout-svc", "owner": "payments"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-query-Errors", tags={"service": "search", "team": "discovery"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-index-Errors", tags={"service": "search", "team": "discovery"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-suggest-Errors", tags={"service": "search", "team": "payments"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "legacy-cron-Errors", tags={"aws:cloudformation:stack-name": "legacy-jobs"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "untagged-Errors")
    register_accounts()


def test_a_fresh_install_has_the_default_tag_rules_and_an_existing_one_keeps_its_own():
    rules = list(MappingRule.objects.values_list("tag_key", "service_from_value", "team_from_value", "enabled"))
    assert rules == [
        ("service", True, False, True),
        ("app", True, False, True),
        ("team", False, True, True),
        ("owner", False, True, True),
        ("aws:cloudformation:stack-name", True, False, True),
    ]
    MappingRule.objects.exclude(tag_key="team").delete()
    default_rules_migration.create(django_apps, None)
    assert MappingRule.objects.count() == 1


def test_a_first_sync_discovers_services_and_teams_and_owns_the_tagged_alarms(estate):
    result = refresh()

    assert sorted(Service.objects.values_list("slug", flat=True)) == [
        "checkout",
        "checkout-svc",
        "legacy-jobs",
        "search",
    ]
    assert sorted(Team.objects.values_list("slug", flat=True)) == ["discovery", "payments"]
    checkout = Service.objects.get(slug="checkout")
    assert checkout.discovered and checkout.first_seen_at is not None
    assert "111111111111/eu-west-1" in checkout.discovered_from
    assert sorted(checkout.aliases.values_list("value", flat=True)) == ["Checkout", "checkout"]
    assert (live("checkout-pay-Errors").service, live("checkout-refund-Errors").service) == (checkout, checkout)
    assert live("checkout-quote-Errors").service.slug == "checkout-svc"
    assert live("checkout-pay-Errors").owner_team.slug == "payments"
    assert live("legacy-cron-Errors").service.slug == "legacy-jobs"  # the stack, as nothing else names one
    assert live("untagged-Errors").service is None
    run = SyncRun.objects.get(pk=result.alarms.pk)
    assert sorted(run.discovery["services"]) == ["checkout", "checkout-svc", "legacy-jobs", "search"]
    assert AuditEntry.objects.filter(action="service.discovered", actor_name="discovery").count() == 4


def test_a_discovered_service_takes_the_team_most_of_its_alarms_name(estate):
    refresh()

    assert Service.objects.get(slug="search").team.slug == "discovery"  # two alarms against one
    assert Service.objects.get(slug="checkout").team.slug == "payments"
    assert Service.objects.get(slug="legacy-jobs").team is None  # nothing names one


def test_a_manual_assignment_survives_discovery_and_every_resync(estate, editor):
    refresh()
    mine = Service.objects.create(slug="payments-core", name="Payments core")
    alarm_update_governance(alarm=live("checkout-pay-Errors"), actor=editor, service=mine)
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-pay-Errors", threshold=5, tags={"service": "Checkout-V2"})

    refresh()
    refresh()

    assert Service.objects.filter(slug="checkout-v2").exists()  # discovered from the new tag
    assert (live("checkout-pay-Errors").service, live("checkout-pay-Errors").service_source) == (mine, "manual")


def test_merging_two_services_moves_alarms_rules_and_aliases_and_the_tag_keeps_matching(estate, editor):
    refresh()
    checkout, svc = Service.objects.get(slug="checkout"), Service.objects.get(slug="checkout-svc")
    rule = MappingRule.objects.create(position=5, name="quotes", match="name_prefix", pattern="checkout-quote",
                                      set_service=svc)  # fmt: skip

    moved = services_merge(source=svc, into=checkout, actor=editor)

    assert moved == 1
    assert not Service.objects.filter(slug="checkout-svc").exists()
    assert live("checkout-quote-Errors").service == checkout
    assert MappingRule.objects.get(pk=rule.pk).set_service == checkout
    assert set(checkout.aliases.values_list("value", flat=True)) >= {"checkout-svc", "Checkout", "checkout"}
    entry = AuditEntry.objects.get(action="alarm.service_merged")
    assert (entry.actor, entry.before, entry.after) == (editor, {"service": "checkout-svc"}, {"service": "checkout"})
    rule.delete()
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-new-Errors", tags={"app": "checkout-svc"})
    refresh()  # the old spelling is not discovered again and still reaches the merged service
    assert not Service.objects.filter(slug="checkout-svc").exists()
    assert live("checkout-new-Errors").service == checkout


def test_merging_teams_moves_services_and_members_and_refuses_nonsense(estate, editor):
    refresh()
    payments, discovery = Team.objects.get(slug="payments"), Team.objects.get(slug="discovery")
    discovery.members.add(editor)

    with pytest.raises(ValidationError):
        teams_merge(source=payments, into=payments, actor=editor)
    with pytest.raises(ValidationError):
        teams_merge(source=payments, into=None, actor=editor)
    teams_merge(source=discovery, into=payments, actor=editor)

    assert Service.objects.get(slug="search").team == payments
    assert live("search-query-Errors").owner_team == payments
    assert editor in payments.members.all()


def test_a_deleted_discovered_service_is_not_discovered_again(estate, editor):
    refresh()
    services_delete(services=[Service.objects.get(slug="legacy-jobs")], actor=editor)

    put_alarm(ACCOUNTS[0], REGIONS[0], "legacy-cron2-Errors", tags={"aws:cloudformation:stack-name": "legacy-jobs"})
    refresh()

    assert not Service.objects.filter(slug="legacy-jobs").exists()
    assert ServiceAlias.objects.get(value="legacy-jobs").service is None


@pytest.mark.parametrize(
    ("value", "slug"),
    [
        ("Checkout", "checkout"),
        ("<script>alert(1)</script>", "scriptalert1script"),
        ("x" * 256, "x" * 64),
        ("決済", "service-" + hashlib.sha256("決済".encode()).hexdigest()[:10]),
        ("決済-svc", "svc-" + hashlib.sha256("決済-svc".encode()).hexdigest()[:10]),
    ],
)
def test_tag_values_make_valid_slugs(value, slug):
    assert discovery_slug(value, "service") == slug


def test_hostile_and_empty_tag_values_are_kept_as_names_or_skipped_with_a_reason(local_aws):
    put_alarm(ACCOUNTS[0], REGIONS[0], "a-x-Errors", tags={"service": "<b>Checkout</b>", "team": " "})
    put_alarm(ACCOUNTS[0], REGIONS[0], "b-x-Errors", tags={"service": "決済"})
    register_accounts()

    result = refresh()

    assert Service.objects.get(slug="bcheckoutb").name == "<b>Checkout</b>"  # escaped where shown
    assert Service.objects.get(name="決済").slug.startswith("service-")
    assert not Team.objects.exists()
    assert {"key": "team", "value": " ", "reason": "empty value"} in SyncRun.objects.get(pk=result.alarms.pk).discovery[
        "skipped"
    ]


def test_discovery_can_be_turned_off(estate, settings):
    settings.OKAMI_DISCOVERY = False

    refresh()

    assert not Service.objects.exists() and not Team.objects.exists()


def test_turning_discovery_on_discovers_at_the_next_refresh_though_aws_did_not_change(estate, settings):
    settings.OKAMI_DISCOVERY = False
    refresh()
    assert refresh().skipped  # nothing changed: links and rules skipped

    settings.OKAMI_DISCOVERY = True
    again = refresh()

    assert not again.skipped
    assert live("checkout-pay-Errors").service.slug == "checkout"


def test_the_api_lists_discovered_services_with_their_aliases_and_lets_admins_merge(estate, editor, django_user_model):
    refresh()
    admin = django_user_model.objects.create_superuser("ada", password="pw-ada-123")
    listed = {s["slug"]: s for s in client_for(editor).get("/api/v1/services/").json()["results"]}
    assert listed["checkout"]["discovered"] and sorted(listed["checkout"]["aliases"]) == ["Checkout", "checkout"]

    refused = client_for(editor).post("/api/v1/services/checkout-svc/merge/", {"into": "checkout"}, format="json")
    missing = client_for(admin).post("/api/v1/services/checkout-svc/merge/", {"into": "nope"}, format="json")
    merged = client_for(admin).post("/api/v1/services/checkout-svc/merge/", {"into": "checkout"}, format="json")

    assert (refused.status_code, missing.status_code) == (403, 400)
    assert merged.json() == {"merged": "checkout-svc", "into": "checkout", "alarms_moved": 1}
    assert live("checkout-quote-Errors").service.slug == "checkout"


def test_another_spelling_of_a_merged_or_deleted_value_follows_its_alias(estate, editor):
    refresh()
    checkout = Service.objects.get(slug="checkout")
    services_merge(source=Service.objects.get(slug="checkout-svc"), into=checkout, actor=editor)
    services_delete(services=[Service.objects.get(slug="legacy-jobs")], actor=editor)
    put_alarm(ACCOUNTS[0], REGIONS[0], "checkout-tax-Errors", tags={"app": "Checkout-SVC"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "legacy-cron3-Errors", tags={"aws:cloudformation:stack-name": "Legacy-Jobs"})

    refresh()

    assert sorted(Service.objects.values_list("slug", flat=True)) == ["checkout", "search"]
    assert live("checkout-tax-Errors").service == checkout
    assert live("legacy-cron3-Errors").service is None


def test_a_tag_value_with_spaces_around_it_still_assigns_its_alarms(local_aws):
    put_alarm(ACCOUNTS[0], REGIONS[0], "search-a-Errors", tags={"service": "search ", "team": " discovery"})
    register_accounts()

    refresh()

    alarm = live("search-a-Errors")
    assert (alarm.service.slug, alarm.owner_team.slug) == ("search", "discovery")
    assert alarm.service.name == "search"


def test_values_that_differ_only_beyond_latin_letters_stay_apart(local_aws):
    put_alarm(ACCOUNTS[0], REGIONS[0], "pay-a-Errors", tags={"service": "決済-svc"})
    put_alarm(ACCOUNTS[0], REGIONS[0], "order-a-Errors", tags={"service": "注文-svc"})
    register_accounts()

    refresh()

    assert live("pay-a-Errors").service != live("order-a-Errors").service
    assert sorted(Service.objects.values_list("name", flat=True)) == ["決済-svc", "注文-svc"]


def test_a_manual_owner_and_a_team_a_person_cleared_are_left_alone(estate, editor, admin_client):
    refresh()
    mine = Team.objects.create(slug="sre", name="SRE")
    alarm_update_governance(alarm=live("search-query-Errors"), actor=editor, owner_team=mine)
    search = Service.objects.get(slug="search")
    admin_client.post(
        f"/admin/alarms/service/{search.pk}/change/",
        {"slug": "search", "name": "search", "description": "", "team": "",
         "aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert Service.objects.get(slug="search").team is None
    put_alarm(
        ACCOUNTS[0], REGIONS[0], "search-query-Errors", threshold=9, tags={"service": "search", "team": "discovery"}
    )

    refresh()

    assert Service.objects.get(slug="search").team is None  # not chosen again by discovery
    assert (live("search-query-Errors").owner_team, live("search-query-Errors").owner_team_source) == (mine, "manual")


def test_a_merge_moves_resources_and_gives_moved_alarms_their_new_owner(estate, editor):
    refresh()
    legacy, search = Service.objects.get(slug="legacy-jobs"), Service.objects.get(slug="search")
    AwsAccount.objects.get(account_id=ACCOUNTS[0]).resources.create(
        arn="arn:aws:lambda:eu-west-1:111111111111:function:cron", region=REGIONS[0], kind="lambda:function",
        name="cron", service=legacy, tags={"service": "legacy-jobs"},
    )  # fmt: skip
    assert live("legacy-cron-Errors").owner_team is None

    services_merge(source=legacy, into=search, actor=editor)

    assert live("legacy-cron-Errors").owner_team.slug == "discovery"  # search's team, by the rules' fallback
    assert search.resources.filter(name="cron").exists()  # its tag's old value now names search


def test_discovered_names_with_markup_are_shown_as_text(local_aws, admin_client):
    put_alarm(ACCOUNTS[0], REGIONS[0], "a-x-Errors", tags={"service": "<b>Checkout</b>"})
    register_accounts()
    refresh()

    pages = admin_client.get("/services/").content.decode() + admin_client.get("/services/bcheckoutb/").content.decode()

    assert "&lt;b&gt;Checkout&lt;/b&gt;" in pages and "<b>Checkout</b>" not in pages
