"""Mapping rules: ordered rules that set the service and owner team of alarms (and resources) from what
AWS already says (tags, CloudFormation stacks, names, accounts).

For each of service and owner, the first enabled rule (by position) that matches *and* names an existing
service or team wins. An alarm without tags of its own is matched with the tags of the resource it
watches. An owner still unknown after the rules is the owner of the alarm's service. Manual assignments are
never touched. The rules run in the database (``rule_sql``): one SELECT computes every alarm's outcome,
the changes are written with one UPDATE (on SQLite one per distinct outcome) and audited in one insert.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils import timezone

from alarms.choices import AssignmentSource, RuleMatch
from alarms.models import Alarm, AuditEntry, AwsAccount, MappingRule, Service, Team
from alarms.services import rule_sql
from alarms.services.audit import Change, audit_record
from alarms.services.rule_regex import pattern_problem
from portal.db import insert_rows, update_by_pk

logger = logging.getLogger(__name__)

MANUAL = AssignmentSource.MANUAL
RULE = AssignmentSource.RULE
SERVICE_OWNER = "owner of the service"


def rule_validate(rule: MappingRule) -> None:
    """A bad rule raises ValidationError naming the field."""
    errors = {}
    if rule.match not in RuleMatch.values:
        errors["match"] = "Unknown kind of rule."
    if rule.match == RuleMatch.TAG and not rule.tag_key:
        errors["tag_key"] = "A tag rule needs a tag key."
    if rule.match in (RuleMatch.NAME_PREFIX, RuleMatch.NAME_REGEX, RuleMatch.ACCOUNT) and not rule.pattern:
        errors["pattern"] = "This rule needs a pattern."
    if rule.match == RuleMatch.NAME_REGEX and rule.pattern:
        problem = pattern_problem(rule.pattern)
        if problem:
            errors["pattern"] = problem
        elif connection.vendor == "postgresql" and not _postgres_accepts(rule.pattern):
            errors["pattern"] = "PostgreSQL cannot run this regular expression; keep to the common syntax."
    if rule.match == RuleMatch.ACCOUNT and rule.pattern and not re.fullmatch(r"\d{12}", rule.pattern):
        errors["pattern"] = "An account rule's pattern is a 12-digit account id."
    from_value_allowed = rule.match in (RuleMatch.TAG, RuleMatch.NAME_REGEX)
    if (rule.service_from_value or rule.team_from_value) and not from_value_allowed:
        errors["match"] = "Only tag and regular-expression rules can take the service or team from a value."
    if not (rule.set_service_id or rule.set_team_id or rule.service_from_value or rule.team_from_value):
        errors["set_service"] = "The rule must set a service or an owner team."
    if errors:
        raise ValidationError(errors)


def _postgres_accepts(pattern: str) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT '' ~ %s", [rule_sql.postgres_pattern(pattern)[0]])
    except DatabaseError:
        return False
    return True


def rules_enabled(rules: Iterable[MappingRule] | None = None) -> list[MappingRule]:
    """The enabled rules in order, leaving out (and logging) any that no longer pass validation: a rule
    stored before a check was added must not stop every other rule, on every refresh."""
    rules = list(rules) if rules is not None else list(MappingRule.objects.filter(enabled=True))
    ordered = sorted((r for r in rules if r.enabled), key=lambda r: (r.position, r.pk or 0))
    valid = []
    for rule in ordered:
        problem = rule_problem(rule)
        if problem:
            logger.warning("mapping rule %s (%s) skipped: %s", rule.pk, rule.name, problem)
        else:
            valid.append(rule)
    return valid


def rule_problem(rule: MappingRule) -> str:
    """Why a rule cannot run, or "" when it can."""
    try:
        rule_validate(rule)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


@contextmanager
def _bounded_cursor():
    """A cursor for one rules statement that cannot run for ever: past OKAMI_RULES_STATEMENT_TIMEOUT_MS
    (PostgreSQL's statement_timeout; on SQLite a progress handler, and each regular-expression match's own
    limit) it is cancelled, changes nothing and says why. Web requests keep their shorter statement_timeout."""
    limit_seconds = settings.OKAMI_RULES_STATEMENT_TIMEOUT_MS / 1000
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql" and not settings.WEB_PROCESS:
                cursor.execute("SET LOCAL statement_timeout = %s", [settings.OKAMI_RULES_STATEMENT_TIMEOUT_MS])
            if connection.vendor == "sqlite":  # SQLite has no statement_timeout: interrupt it from its VM loop
                deadline = time.monotonic() + limit_seconds
                connection.connection.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
            try:
                yield cursor
            finally:
                if connection.vendor == "sqlite":
                    connection.connection.set_progress_handler(None, 0)
    except OperationalError as exc:  # PostgreSQL's QueryCanceled; SQLite's interrupt or match-function error
        if not _cancelled(exc):
            raise
        raise ValidationError(
            {"pattern": "The rules took too long over the catalog (a costly regular expression?); nothing changed."}
        ) from exc


def _cancelled(exc: OperationalError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "57014":  # query_canceled
        return True
    return str(exc) == "interrupted" or "user-defined function raised exception" in str(exc)


@dataclass
class Reassignment:
    alarm_id: int
    arn: str
    name: str
    service: tuple[int | None, int | None]  # before, after
    team: tuple[int | None, int | None]
    service_source: str  # after
    team_source: str
    service_rule: str = ""  # the rule that set it, or "" when unchanged by a rule
    team_rule: str = ""
    # The alarm's assignment as the plan read it: service, its source, team, its source.
    read: tuple = ()


def _source(current: str, value: int | None) -> str:
    if current == MANUAL:
        return MANUAL
    return RULE if value is not None else AssignmentSource.NONE


def rules_plan(
    *,
    rules: list[MappingRule],
    account: AwsAccount | None = None,
    region: str | None = None,
    alarm_ids: list[int] | None = None,
) -> list[Reassignment]:
    """What applying ``rules`` would change, alarm by alarm. Reads only."""
    query = rule_sql.assignment_query(
        rules, account_pk=account.pk if account else None, region=region, alarm_ids=alarm_ids
    )
    with _bounded_cursor() as cursor:
        cursor.execute(query.sql, query.params)
        rows = cursor.fetchall()

    def rule_name(number: int | None) -> str:
        return rules[number - 1].name if number else ""

    plan = []
    for pk, arn, name, service, new_service, team, new_team, service_source, team_source, s_rule, t_rule in rows:
        if (service, team) != (new_service, new_team):
            plan.append(
                Reassignment(
                    alarm_id=pk,
                    arn=arn,
                    name=name,
                    service=(service, new_service),
                    team=(team, new_team),
                    service_source=_source(service_source, new_service),
                    team_source=_source(team_source, new_team),
                    service_rule=rule_name(s_rule) if new_service != service else "",
                    team_rule=(rule_name(t_rule) or SERVICE_OWNER) if new_team is not None and new_team != team else "",
                    read=(service, service_source, team, team_source),
                )
            )
    return plan


def rules_apply(*, account: AwsAccount | None = None, region: str | None = None, actor=None) -> int:
    """Apply the enabled rules to the alarms and resources in scope; returns how many alarms changed.

    One UPDATE for all changed alarms (on SQLite one per distinct outcome), one audit insert for them all.
    """
    rules = rules_enabled()
    with transaction.atomic():
        plan = _plan_locked(rules, rules_plan(rules=rules, account=account, region=region))
        update_by_pk(
            Alarm,
            {
                item.alarm_id: {
                    "service_id": item.service[1],
                    "service_source": item.service_source,
                    "owner_team_id": item.team[1],
                    "owner_team_source": item.team_source,
                }
                for item in plan
            },
        )
        _audit_plan(plan, actor)
        resources_assign(rules=rules, account=account, region=region)
    return len(plan)


def _plan_locked(rules: list[MappingRule], plan: list[Reassignment]) -> list[Reassignment]:
    """The plan for its own alarms, now locked: a person's assignment committed after the first read (a
    manual value the UPDATE would overwrite) is seen, and none can land before this transaction ends.

    The locking read returns each alarm's assignment as committed; the alarms whose assignment changed since
    the plan read it are planned again, the others keep their plan (nothing else decides a rule's outcome
    for an alarm that a person may have touched). Only the alarms about to change are locked (in id order,
    as bulk assignment does, so the two never deadlock), so a run that changes nothing locks nothing. SQLite
    has no row locks and needs none: its writers are serialised, and a read transaction cannot be overtaken
    by a commit.
    """
    if not plan or not connection.features.has_select_for_update:
        return plan
    ids = sorted(item.alarm_id for item in plan)
    locked = Alarm.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    committed = {
        pk: tuple(read)
        for pk, *read in locked.values_list("pk", "service_id", "service_source", "owner_team_id", "owner_team_source")
    }
    moved = [item.alarm_id for item in plan if item.alarm_id in committed and committed[item.alarm_id] != item.read]
    kept = [item for item in plan if committed.get(item.alarm_id) == item.read]
    return kept + (rules_plan(rules=rules, alarm_ids=sorted(moved)) if moved else [])


def _audit_plan(plan: list[Reassignment], actor) -> None:
    """Audit rows for a whole plan, written as plain rows: building a model per alarm costs more than the run."""
    if not plan:
        return
    services = dict(Service.objects.values_list("id", "slug"))
    teams = dict(Team.objects.values_list("id", "slug"))
    at = timezone.now()
    actor_id = actor.pk if actor is not None and actor.pk else None
    actor_name = actor.get_username() if actor_id else "rules"
    insert_rows(
        AuditEntry,
        [
            {
                "actor_id": actor_id,
                "actor_name": actor_name,
                "at": at,
                "action": "alarm.rules",
                "alarm_id": item.alarm_id,
                "target": item.arn,
                "before": {"service": services.get(item.service[0]), "owner_team": teams.get(item.team[0])},
                "after": {
                    "service": services.get(item.service[1]),
                    "owner_team": teams.get(item.team[1]),
                    "service_rule": item.service_rule,
                    "owner_team_rule": item.team_rule,
                },
            }
            for item in plan
        ],
    )


def resources_assign(*, rules: list[MappingRule], account: AwsAccount | None = None, region: str | None = None) -> int:
    """Resources get their service and owner from the same rules, by their own tags (no manual here)."""
    query = rule_sql.resource_assignment_update(rules, account_pk=account.pk if account else None, region=region)
    with _bounded_cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return cursor.rowcount


@dataclass
class RulePreview:
    """What saving a rule would do: how many alarms it matches by itself, and who would be reassigned."""

    matches: int
    reassignments: list[Reassignment]


def _rule_matches(rule: MappingRule) -> int:
    query = rule_sql.match_count_query(rule)
    with _bounded_cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return cursor.fetchone()[0]


def rule_preview(*, rule: MappingRule) -> RulePreview:
    """Dry run: the effect of saving ``rule`` (new, or an edit of a stored one) on top of the other rules."""
    rule_validate(rule)
    others = [r for r in MappingRule.objects.filter(enabled=True) if r.pk != rule.pk]
    rules = rules_enabled([*others, rule])
    return RulePreview(matches=_rule_matches(rule), reassignments=rules_plan(rules=rules))


def rule_snapshot(rule: MappingRule) -> dict:
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
    """Validate and save a rule, audited. A rule that matches no alarm is refused: it is a typo.

    Only the rule's own match count is computed (one COUNT), never the whole catalog's plan: saving must stay
    fast on any catalog; the dry run and "apply" are where reassignments are worked out."""
    rule_validate(rule)
    if _rule_matches(rule) == 0:
        raise ValidationError({"pattern": "This rule matches no alarm; check the tag, prefix or expression."})
    with transaction.atomic():
        before = rule_snapshot(MappingRule.objects.get(pk=rule.pk)) if rule.pk else {}
        rule.save()
        audit_record(
            actor=actor,
            action="mapping_rule.save",
            changes=[Change(alarm_id=None, target=f"mapping-rule:{rule.pk}", before=before, after=rule_snapshot(rule))],
        )
    return rule


def mapping_rule_delete(*, rule: MappingRule, actor) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="mapping_rule.delete",
            changes=[Change(alarm_id=None, target=f"mapping-rule:{rule.pk}", before=rule_snapshot(rule), after={})],
        )
        rule.delete()
