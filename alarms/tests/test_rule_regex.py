"""A rule's regular expression cannot hang a worker or a request: refused when its shape is dangerous, cut
off when its evaluation runs too long, on both databases."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from alarms.choices import RuleMatch
from alarms.models import Alarm, MappingRule
from alarms.services.mapping import rule_validate, rules_apply

pytestmark = pytest.mark.django_db

FORM = {"position": 10, "name": "by name", "enabled": "on", "match": "name_regex"}


def regex_rule(pattern, service):
    return MappingRule(position=10, name="r", match=RuleMatch.NAME_REGEX, pattern=pattern, set_service=service)


def test_nested_unbounded_repeats_are_refused_with_a_reason(client, editor, catalog, make_alarms):
    make_alarms(catalog["account"], 2, prefix="aaaa")
    client.force_login(editor)

    response = client.post(
        "/rules/new/", {**FORM, "pattern": "(a+)+$", "set_service": catalog["service"].pk, "save": "1"}
    )

    assert response.status_code == 200
    assert "A repeat inside a repeat" in response.content.decode()
    assert not MappingRule.objects.exists()


@pytest.mark.parametrize("pattern", ["(x*)*", r"(\w+\s?)*$", r"([^-]+-?)+$", "(?:x|[a-z]+)+", "(.*)*x"])
def test_nested_repeats_that_can_split_a_name_many_ways_are_refused(catalog, pattern):
    with pytest.raises(ValidationError, match="repeat inside a repeat"):
        rule_validate(regex_rule(pattern, catalog["service"]))


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(?P<service>[a-z]+)-",
        r"-(Errors|Throttles)$",
        r"a{1,3}b+",
        r"(ab)+c*",
        r"^(?P<service>[a-z]+(?:-[a-z]+)*?)-prod-",  # repeats separated by a character neither can take
        r"(?:[a-z]+-)*[a-z]+",
        r"(\d+\.)+\d+",
    ],
)
def test_ordinary_patterns_are_accepted(catalog, pattern):
    rule_validate(regex_rule(pattern, catalog["service"]))


def test_overlong_patterns_are_refused(catalog, settings):
    settings.OKAMI_RULE_PATTERN_MAX_LENGTH = 20
    with pytest.raises(ValidationError, match="At most 20 characters"):
        rule_validate(regex_rule("a" * 21, catalog["service"]))


def test_a_costly_expression_already_stored_is_cut_off_and_changes_nothing(catalog, make_alarms, settings):
    # (a|aa)+$ passes the static check but backtracks exponentially on a long run of a's that fails at the end.
    MappingRule.objects.create(
        position=10, name="costly", match=RuleMatch.NAME_REGEX, pattern="(a|aa)+$", set_service=catalog["service"]
    )
    make_alarms(catalog["account"], 3, prefix="ok")
    Alarm.objects.create(
        arn="arn:aws:cloudwatch:eu-west-1:111111111111:alarm:long",
        account=catalog["account"],
        region="eu-west-1",
        name="a" * 80 + "!",
    )
    if connection.vendor == "postgresql":
        # PostgreSQL's engine does not backtrack on this one; its limit is the statement's time, made tiny here.
        make_alarms(catalog["account"], 5000, prefix="aaaaaaaa")
        settings.OKAMI_RULES_STATEMENT_TIMEOUT_MS = 1

    started = time.monotonic()
    with pytest.raises(ValidationError, match="took too long"):
        rules_apply()

    assert time.monotonic() - started < 10
    assert not Alarm.objects.filter(service__isnull=False).exists()


def test_a_stored_rule_that_no_longer_passes_is_skipped_and_shown_not_fatal(client, viewer, catalog, make_alarms):
    # Saved before the checks existed: it must not stop the other rules, on every refresh.
    MappingRule.objects.create(
        position=5, name="old nested", match=RuleMatch.NAME_REGEX, pattern="(a+)+$", set_service=catalog["service"]
    )
    MappingRule.objects.create(
        position=10, name="prefix", match=RuleMatch.NAME_PREFIX, pattern="fn-", set_service=catalog["service"]
    )
    make_alarms(catalog["account"], 2)

    assert rules_apply() == 2

    client.force_login(viewer)
    page = client.get("/rules/").content.decode()
    assert page.count("rule-problem") == 1 and "skipped: A repeat inside a repeat" in page


def test_a_rules_statement_past_its_time_limit_is_cancelled_on_either_database(catalog, make_alarms, settings):
    MappingRule.objects.create(
        position=10, name="by name", match=RuleMatch.NAME_REGEX, pattern="^fn-[0-9]+-", set_service=catalog["service"]
    )
    make_alarms(catalog["account"], 5000)
    settings.OKAMI_RULES_STATEMENT_TIMEOUT_MS = 1

    with pytest.raises(ValidationError, match="took too long"):
        rules_apply()
    assert not Alarm.objects.filter(service__isnull=False).exists()

    settings.OKAMI_RULES_STATEMENT_TIMEOUT_MS = 60_000
    assert rules_apply() == 5000
