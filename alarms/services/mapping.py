"""Mapping rules: ordered rules that set the service and owner team of alarms and resources from what AWS
already says (tags, CloudFormation stacks, names, accounts).

For each of service and owner, the first enabled rule (by position) that matches *and* resolves to an
existing service or team wins. An alarm without tags of its own is matched with the tags of the resources
it watches. An owner still unknown after the rules is the owner of the alarm's service. Manual assignments
are never touched. Rules are evaluated in Python over plain rows and the changes written in one UPDATE per
distinct outcome, so a run over 10,000 alarms costs a handful of statements.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from alarms.choices import AssignmentSource, RuleMatch
from alarms.models import Alarm, AwsAccount, MappingRule, Resource, Service, Team
from alarms.services.audit import Change, audit_record
from portal.db import update_in_batches

MANUAL = AssignmentSource.MANUAL
RULE = AssignmentSource.RULE


@dataclass(frozen=True)
class CompiledRule:
    rule_id: int | None
    name: str
    match: str
    tag_key: str
    pattern: str
    regex: re.Pattern | None
    set_service: int | None
    set_team: int | None
    service_from_value: bool
    team_from_value: bool

    def captured(self, name: str, tags: dict, account_id: str) -> dict[str, str] | None:
        """The values the rule captured when it matches (tag value, regex groups), or None."""
        if self.match == RuleMatch.TAG:
            if self.tag_key in tags and self.pattern in ("", "*", tags[self.tag_key]):
                return {"value": tags[self.tag_key]}
            return None
        if self.match == RuleMatch.NAME_PREFIX:
            return {"value": ""} if name.startswith(self.pattern) else None
        if self.match == RuleMatch.NAME_REGEX:
            found = self.regex.search(name)
            return ({"value": found.group(0)} | found.groupdict(default="")) if found else None
        if self.match == RuleMatch.ACCOUNT:
            return {"value": account_id} if account_id == self.pattern else None
        return None


@dataclass
class Outcome:
    service_id: int | None = None
    team_id: int | None = None
    service_rule: str = ""
    team_rule: str = ""


@dataclass
class RuleSet:
    rules: list[CompiledRule]
    services: dict[str, int]  # slug -> id
    teams: dict[str, int]
    service_teams: dict[int, int | None] = field(default_factory=dict)

    def evaluate(self, name: str, tags: dict, account_id: str) -> Outcome:
        outcome = Outcome()
        for rule in self.rules:
            if outcome.service_id and outcome.team_id:
                break
            captured = rule.captured(name, tags, account_id)
            if captured is None:
                continue
            if outcome.service_id is None:
                service = rule.set_service or (
                    self.services.get(captured.get("service") or captured["value"]) if rule.service_from_value else None
                )
                if service:
                    outcome.service_id, outcome.service_rule = service, rule.name
            if outcome.team_id is None:
                team = rule.set_team or (
                    self.teams.get(captured.get("team") or captured["value"]) if rule.team_from_value else None
                )
                if team:
                    outcome.team_id, outcome.team_rule = team, rule.name
        if outcome.team_id is None and outcome.service_id and self.service_teams.get(outcome.service_id):
            outcome.team_id, outcome.team_rule = self.service_teams[outcome.service_id], "owner of the service"
        return outcome


def rule_compile(rule: MappingRule) -> CompiledRule:
    """Validate one rule; a bad rule raises ValidationError naming the field."""
    errors = {}
    regex = None
    if rule.match == RuleMatch.TAG and not rule.tag_key:
        errors["tag_key"] = "A tag rule needs a tag key."
    if rule.match in (RuleMatch.NAME_PREFIX, RuleMatch.NAME_REGEX, RuleMatch.ACCOUNT) and not rule.pattern:
        errors["pattern"] = "This rule needs a pattern."
    if rule.match == RuleMatch.NAME_REGEX and rule.pattern:
        try:
            regex = re.compile(rule.pattern)
        except re.error as exc:
            errors["pattern"] = f"Not a valid regular expression: {exc}."
    if rule.match == RuleMatch.ACCOUNT and rule.pattern and not re.fullmatch(r"\d{12}", rule.pattern):
        errors["pattern"] = "An account rule's pattern is a 12-digit account id."
    if rule.match not in RuleMatch.values:
        errors["match"] = "Unknown kind of rule."
    from_value_allowed = rule.match in (RuleMatch.TAG, RuleMatch.NAME_REGEX)
    if (rule.service_from_value or rule.team_from_value) and not from_value_allowed:
        errors["match"] = "Only tag and regular-expression rules can take the service or team from a value."
    if not (rule.set_service_id or rule.set_team_id or rule.service_from_value or rule.team_from_value):
        errors["set_service"] = "The rule must set a service or an owner team."
    if errors:
        raise ValidationError(errors)
    return CompiledRule(
        rule.pk,
        rule.name,
        rule.match,
        rule.tag_key,
        rule.pattern,
        regex,
        rule.set_service_id,
        rule.set_team_id,
        rule.service_from_value,
        rule.team_from_value,
    )


def ruleset_load(rules: Iterable[MappingRule] | None = None) -> RuleSet:
    rules = list(rules) if rules is not None else list(MappingRule.objects.filter(enabled=True))
    services = dict(Service.objects.values_list("slug", "id"))
    return RuleSet(
        rules=[rule_compile(rule) for rule in sorted(rules, key=lambda r: (r.position, r.pk or 0)) if rule.enabled],
        services=services,
        teams=dict(Team.objects.values_list("slug", "id")),
        service_teams=dict(Service.objects.values_list("id", "team_id")),
    )


@dataclass
class Reassignment:
    alarm_id: int
    arn: str
    name: str
    service: tuple[int | None, int | None]  # before, after
    team: tuple[int | None, int | None]
    service_rule: str
    team_rule: str
    service_source: str = ""  # after
    team_source: str = ""


def _scope(account: AwsAccount | None, region: str | None) -> Q:
    q = Q(deleted_at__isnull=True)
    if account is not None:
        q &= Q(account=account)
    if region:
        q &= Q(region=region)
    return q


def _inherited_tags(scope: Q) -> dict[int, dict]:
    """Tags of the resources each alarm watches, merged; used for alarms with no tags of their own."""
    merged: dict[int, dict] = defaultdict(dict)
    rows = Alarm.resources.through.objects.filter(
        alarm__in=Alarm.objects.filter(scope, tags={}), resource__deleted_at__isnull=True
    ).values_list("alarm_id", "resource__tags")
    for alarm_id, tags in rows:
        merged[alarm_id].update(tags or {})
    return merged


def rules_plan(*, ruleset: RuleSet, account: AwsAccount | None = None, region: str | None = None) -> list[Reassignment]:
    """What applying the rule set would change, alarm by alarm (manual assignments excluded)."""
    scope = _scope(account, region)
    inherited = _inherited_tags(scope)
    rows = Alarm.objects.filter(scope).values_list(
        "id",
        "arn",
        "name",
        "tags",
        "account__account_id",
        "service_id",
        "service_source",
        "owner_team_id",
        "owner_team_source",
    )
    plan = []
    for pk, arn, name, tags, account_id, service_id, service_source, team_id, team_source in rows:
        outcome = ruleset.evaluate(name, tags or inherited.get(pk, {}), account_id)
        new_service = service_id if service_source == MANUAL else outcome.service_id
        new_team = team_id if team_source == MANUAL else outcome.team_id
        if (new_service, new_team) != (service_id, team_id):
            plan.append(
                Reassignment(
                    alarm_id=pk,
                    arn=arn,
                    name=name,
                    service=(service_id, new_service),
                    team=(team_id, new_team),
                    service_rule=outcome.service_rule,
                    team_rule=outcome.team_rule,
                    service_source=_source(service_source, new_service),
                    team_source=_source(team_source, new_team),
                )
            )
    return plan


def _source(current: str, value: int | None) -> str:
    if current == MANUAL:
        return MANUAL
    return RULE if value is not None else AssignmentSource.NONE


def rules_apply(*, account: AwsAccount | None = None, region: str | None = None, actor=None) -> int:
    """Apply the enabled rules to the alarms (and resources) in scope; returns how many alarms changed.

    Writes one UPDATE per distinct (service, owner) outcome and one audit row per changed alarm.
    """
    ruleset = ruleset_load()
    plan = rules_plan(ruleset=ruleset, account=account, region=region)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for item in plan:
        groups[(item.service[1], item.service_source, item.team[1], item.team_source)].append(item.alarm_id)
    with transaction.atomic():
        # Manual values are carried unchanged in the plan, so each group is one UPDATE.
        for (service_id, service_source, team_id, team_source), ids in groups.items():
            update_in_batches(
                Alarm,
                ids,
                service_id=service_id,
                service_source=service_source,
                owner_team_id=team_id,
                owner_team_source=team_source,
            )
        audit_record(actor=actor, action="alarm.rules", changes=[_change(item) for item in plan])
        resources_assign(ruleset=ruleset, account=account, region=region)
    return len(plan)


def _change(item: Reassignment) -> Change:
    return Change(
        alarm_id=item.alarm_id,
        target=item.arn,
        before={"service": item.service[0], "owner_team": item.team[0]},
        after={
            "service": item.service[1],
            "owner_team": item.team[1],
            "service_rule": item.service_rule,
            "owner_team_rule": item.team_rule,
        },
    )


def resources_assign(*, ruleset: RuleSet, account: AwsAccount | None = None, region: str | None = None) -> int:
    """Resources get their service and owner from the same rules (they have no manual assignment)."""
    rows = Resource.objects.filter(_scope(account, region)).values_list(
        "id", "name", "tags", "account__account_id", "service_id", "owner_team_id"
    )
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, name, tags, account_id, service_id, team_id in rows:
        outcome = ruleset.evaluate(name, tags or {}, account_id)
        if (outcome.service_id, outcome.team_id) != (service_id, team_id):
            groups[(outcome.service_id, outcome.team_id)].append(pk)
    for (service_id, team_id), ids in groups.items():
        update_in_batches(Resource, ids, service_id=service_id, owner_team_id=team_id)
    return sum(len(ids) for ids in groups.values())


@dataclass
class RulePreview:
    """What saving a rule would do: how many alarms it matches by itself, and who would be reassigned."""

    matches: int
    reassignments: list[Reassignment]


def _rule_matches(compiled: CompiledRule) -> int:
    scope = _scope(None, None)
    inherited = _inherited_tags(scope)
    rows = Alarm.objects.filter(scope).values_list("id", "name", "tags", "account__account_id")
    return sum(
        compiled.captured(name, tags or inherited.get(pk, {}), account) is not None for pk, name, tags, account in rows
    )


def rule_preview(*, rule: MappingRule) -> RulePreview:
    """Dry run: the effect of saving ``rule`` (new, or an edit of a stored one) on top of the other rules."""
    compiled = rule_compile(rule)
    others = [r for r in MappingRule.objects.filter(enabled=True) if r.pk != rule.pk]
    ruleset = ruleset_load([*others, rule] if rule.enabled else others)
    return RulePreview(matches=_rule_matches(compiled), reassignments=rules_plan(ruleset=ruleset))


def _rule_snapshot(rule: MappingRule) -> dict:
    return {
        "name": rule.name,
        "position": rule.position,
        "enabled": rule.enabled,
        "match": rule.match,
        "tag_key": rule.tag_key,
        "pattern": rule.pattern,
        "set_service": rule.set_service.slug if rule.set_service_id else None,
        "set_team": rule.set_team.slug if rule.set_team_id else None,
        "service_from_value": rule.service_from_value,
        "team_from_value": rule.team_from_value,
    }


def mapping_rule_save(*, rule: MappingRule, actor) -> MappingRule:
    """Validate and save a rule, audited. A rule that matches no alarm is refused: it is a typo."""
    preview = rule_preview(rule=rule)
    if preview.matches == 0:
        raise ValidationError({"pattern": "This rule matches no alarm; check the tag, prefix or expression."})
    with transaction.atomic():
        before = _rule_snapshot(MappingRule.objects.get(pk=rule.pk)) if rule.pk else {}
        rule.save()
        audit_record(
            actor=actor,
            action="mapping_rule.save",
            changes=[
                Change(alarm_id=None, target=f"mapping-rule:{rule.pk}", before=before, after=_rule_snapshot(rule))
            ],
        )
    return rule


def mapping_rule_delete(*, rule: MappingRule, actor) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="mapping_rule.delete",
            changes=[Change(alarm_id=None, target=f"mapping-rule:{rule.pk}", before=_rule_snapshot(rule), after={})],
        )
        rule.delete()
