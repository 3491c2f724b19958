"""Mapping rules: ordering, inheritance from resources, manual assignments win, stability, bad rules."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from alarms.choices import ResourceKind, RuleMatch
from alarms.models import Alarm, AuditEntry, MappingRule, Resource, Service, Team
from alarms.services import mapping
from alarms.services.governance import alarm_update_governance
from alarms.services.mapping import rule_validate, rules_apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(catalog):
    storefront = Team.objects.create(slug="storefront", name="Storefront")
    search = Service.objects.create(slug="search", name="Search", team=storefront)
    return {**catalog, "storefront": storefront, "search": search}


def rule(position, **fields):
    return MappingRule.objects.create(position=position, name=f"rule {position}", **fields)


def alarm(org, name, **fields):
    return Alarm.objects.create(
        arn=f"arn:aws:cloudwatch:eu-west-1:111111111111:alarm:{name}",
        account=org["account"],
        region="eu-west-1",
        name=name,
        **fields,
    )


def test_first_matching_rule_wins_and_owner_defaults_to_the_service_team(org):
    rule(10, match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True)
    rule(
        20,
        match=RuleMatch.NAME_PREFIX,
        pattern="search-",
        set_service=org["service"],
    )
    rule(30, match=RuleMatch.NAME_PREFIX, pattern="search-", set_service=org["search"])
    tagged = alarm(org, "search-query-Errors", tags={"service": "search"})
    prefixed = alarm(org, "search-suggest-Errors")
    stray = alarm(org, "jsmith-debug")

    changed = rules_apply()

    assert changed == 2
    for row in (tagged, prefixed, stray):
        row.refresh_from_db()
    assert (tagged.service, tagged.owner_team) == (org["search"], org["storefront"])
    assert prefixed.service == org["service"]  # rule 20 comes before rule 30
    assert prefixed.owner_team == org["team"]
    assert (tagged.service_source, tagged.owner_team_source) == ("rule", "rule")
    assert stray.service is None and stray.owner_team is None
    audit = {e.target: e.after for e in AuditEntry.objects.filter(action="alarm.rules")}
    assert len(audit) == 2
    assert audit[tagged.arn]["service_rule"] == "rule 10"
    assert audit[tagged.arn]["owner_team_rule"] == "owner of the service"
    assert audit[prefixed.arn]["service_rule"] == "rule 20"


def test_a_rule_never_assigns_what_does_not_exist(org):
    rule(10, match=RuleMatch.TAG, tag_key="team", pattern="*", team_from_value=True)
    ghost = alarm(org, "a", tags={"team": "no-such-team"})

    assert rules_apply() == 0
    ghost.refresh_from_db()
    assert ghost.owner_team is None
    assert Team.objects.count() == 2


def test_alarms_without_tags_inherit_their_resource_tags(org):
    rule(10, match=RuleMatch.TAG, tag_key="team", pattern="*", team_from_value=True)
    function = Resource.objects.create(
        account=org["account"],
        region="eu-west-1",
        kind=ResourceKind.LAMBDA_FUNCTION,
        name="search-fn",
        arn="arn:fn",
        tags={"team": "storefront"},
    )
    untagged = alarm(org, "x-Errors", dimensions={"FunctionName": "search-fn"})
    own_tags = alarm(org, "y-Errors", dimensions={"FunctionName": "search-fn"}, tags={"team": "payments"})
    untagged.resources.add(function)
    own_tags.resources.add(function)

    rules_apply()

    assert Alarm.objects.get(pk=untagged.pk).owner_team == org["storefront"]
    assert Alarm.objects.get(pk=own_tags.pk).owner_team == org["team"]


def test_manual_assignment_wins_over_rules_and_survives_reruns(org, editor):
    rule(10, match=RuleMatch.NAME_REGEX, pattern=r"^(?P<service>[a-z]+)-", service_from_value=True)
    a = alarm(org, "search-query-Errors")
    rules_apply()
    a.refresh_from_db()
    assert a.service == org["search"]

    alarm_update_governance(alarm=a, actor=editor, service=org["service"], owner_team=org["team"])
    rules_apply()
    rules_apply()

    a.refresh_from_db()
    assert (a.service, a.owner_team, a.service_source) == (org["service"], org["team"], "manual")


def test_rerun_without_changes_writes_nothing(org):
    rule(10, match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True)
    for i in range(30):
        alarm(org, f"a{i}", tags={"service": "search"})
    assert rules_apply() == 30

    assert rules_apply() == 0
    assert AuditEntry.objects.count() == 30


def test_account_rule(org):
    rule(10, match=RuleMatch.ACCOUNT, pattern="111111111111", set_team=org["team"])
    a = alarm(org, "anything")
    rules_apply()
    assert Alarm.objects.get(pk=a.pk).owner_team == org["team"]


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"match": RuleMatch.NAME_REGEX, "pattern": "([unclosed", "service_from_value": True}, "pattern"),
        ({"match": RuleMatch.TAG, "tag_key": "", "service_from_value": True}, "tag_key"),
        ({"match": RuleMatch.ACCOUNT, "pattern": "12", "team_from_value": False}, "pattern"),
        ({"match": RuleMatch.NAME_PREFIX, "pattern": "x-"}, "set_service"),
        ({"match": RuleMatch.NAME_PREFIX, "pattern": "x-", "service_from_value": True}, "match"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(fields, error_field):
    with pytest.raises(ValidationError) as raised:
        rule_validate(MappingRule(name="bad", **fields))
    assert error_field in raised.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_a_manual_assignment_committed_while_the_rules_run_is_never_overwritten(org, editor, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("two connections writing the same rows: PostgreSQL's row locks")
    rule(10, match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True)
    target = alarm(org, "search-query-Errors", tags={"service": "search"})
    plan_alarms = mapping.rules_plan

    def plan_while_a_person_assigns(**kwargs):
        """The rules' first read, then a person assigns the alarm by hand on another connection."""
        plan = plan_alarms(**kwargs)
        if kwargs.get("alarm_ids") is None:
            person = threading.Thread(target=assign_by_hand)
            person.start()
            person.join()
        return plan

    def assign_by_hand():
        try:
            alarm_update_governance(alarm=target, actor=editor, service=org["service"])
        finally:
            connection.close()

    monkeypatch.setattr(mapping, "rules_plan", plan_while_a_person_assigns)
    rules_apply()

    target.refresh_from_db()
    assert (target.service, target.service_source) == (org["service"], "manual")
    assert not AuditEntry.objects.filter(action="alarm.rules", after__service="search").exists()


def test_a_refresh_of_one_region_maps_only_that_regions_alarms_and_resources(org):
    rule(10, match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True)
    here, there = (
        Resource.objects.create(
            account=org["account"],
            region=region,
            kind=ResourceKind.LAMBDA_FUNCTION,
            name="search-fn",
            arn=f"arn:aws:lambda:{region}:111111111111:function:search-fn",
            tags={"service": "search"},
        )
        for region in ("eu-west-1", "us-east-1")
    )

    rules_apply(account=org["account"], region="eu-west-1")

    here.refresh_from_db()
    there.refresh_from_db()
    assert here.service == org["search"]
    assert there.service is None
