"""Mapping rules compiled to SQL, so that a run over the whole catalog is a few set-based statements.

Each field (service, owner team) becomes one expression: ``COALESCE(rule_1, rule_2, …)`` where ``rule_i``
is ``CASE WHEN <rule matches> THEN <the service or team it names> END``. A rule that matches but names a
service or team that does not exist yields NULL, so the next rule gets its chance: COALESCE picks the
first rule that matches *and* resolves, which is the rule order's meaning. The owner falls back to the
team of the alarm's (new) service.

Rows are read from ``base``: live alarms (or resources) with their *effective tags*: for an alarm, the tags
of the first live resource it watches with its own tags over them (an alarm a stack tagged only with
``aws:cloudformation:*`` still takes its function's ``service`` tag). A rule taking the service or team from
a value finds it by slug or by alias (``ServiceAlias``, ``TeamAlias``). PostgreSQL and SQLite differ only in JSON
access and regular expressions; SQLite's REGEXP runs the pattern in Python (``rule_regex``, time-limited)
and PostgreSQL runs the same patterns as POSIX AREs, with named groups turned into numbered ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from alarms.choices import RuleMatch
from alarms.services import rule_regex

NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


@receiver(connection_created)
def _register_sqlite_functions(sender, connection, **kwargs):
    """SQLite runs regular expressions in Python: REGEXP (replacing Django's, which cannot be interrupted)
    and a capture function, both with a time limit per match (``rule_regex``)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("REGEXP", 2, _regexp, deterministic=True)
        connection.connection.create_function("okami_regex_group", 3, _regex_group, deterministic=True)


def _regexp(pattern: str | None, text) -> bool | None:
    if pattern is None or text is None:
        return None
    return rule_regex.search(pattern, str(text)) is not None


def _regex_group(pattern: str, text: str, group: str) -> str | None:
    found = rule_regex.search(pattern, text or "")
    if not found:
        return None
    return found.group(group) if group in found.groupdict() else found.group(0)


@dataclass(frozen=True)
class Fragment:
    sql: str
    params: tuple = ()


class Dialect:
    """The few SQL spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str):
        self.postgres = vendor == "postgresql"

    def tag(self, column: str, key: str) -> Fragment:
        if self.postgres:
            return Fragment(f"({column} ->> %s)", (key,))
        return Fragment(f"json_extract({column}, %s)", ('$."' + key.replace('"', '""') + '"',))

    def merge_tags(self, base: str, own: str) -> str:
        """``base`` tags with ``own`` tags over them (same key: own wins)."""
        return f"({base} || {own})" if self.postgres else f"json_patch({base}, {own})"

    @property
    def empty_tags(self) -> str:
        return "'{}'::jsonb" if self.postgres else "'{}'"

    def regex_match(self, column: str, pattern: str) -> Fragment:
        if self.postgres:
            return Fragment(f"({column} ~ %s)", (postgres_pattern(pattern)[0],))
        return Fragment(f"({column} REGEXP %s)", (pattern,))

    def regex_group(self, column: str, pattern: str, group: str) -> Fragment:
        if self.postgres:
            translated, groups = postgres_pattern(pattern)
            # The whole pattern is wrapped in group 1, so a missing named group falls back to the whole match.
            return Fragment(f"((regexp_match({column}, %s))[{int(groups.get(group, 1))}])", (translated,))
        return Fragment(f"okami_regex_group(%s, {column}, %s)", (pattern, group))


def postgres_pattern(pattern: str) -> tuple[str, dict[str, int]]:
    """Python's named groups as PostgreSQL numbered groups, the whole pattern as group 1."""
    compiled = re.compile(pattern)
    groups = {name: index + 1 for name, index in compiled.groupindex.items()}
    return "(" + NAMED_GROUP.sub("(", pattern) + ")", groups


def _match(rule, dialect: Dialect) -> Fragment:
    if rule.match == RuleMatch.TAG:
        value = dialect.tag("b.etags", rule.tag_key)
        if rule.pattern in ("", "*"):
            return Fragment(f"({value.sql} IS NOT NULL)", value.params)
        return Fragment(f"({value.sql} = %s)", (*value.params, rule.pattern))
    if rule.match == RuleMatch.NAME_PREFIX:
        return Fragment("(substr(b.name, 1, %s) = %s)", (len(rule.pattern), rule.pattern))
    if rule.match == RuleMatch.NAME_REGEX:
        return dialect.regex_match("b.name", rule.pattern)
    return Fragment("(b.account_ref = %s)", (rule.pattern,))


def _value(rule, group: str, dialect: Dialect) -> Fragment:
    """The text a from-value rule turns into a slug: the tag's value or the regular expression's group."""
    if rule.match == RuleMatch.TAG:
        return dialect.tag("b.etags", rule.tag_key)
    return dialect.regex_group("b.name", rule.pattern, group)


# Each rule's outcome is encoded as id * RULE_SLOTS + (the rule's 1-based place in the list), so that one
# COALESCE yields both the winning id and the rule that set it, at the cost of a single expression.
RULE_SLOTS = 1024


def decode(column: str) -> tuple[str, str]:
    """SQL for the id and for the rule number encoded in ``column``."""
    return f"({column} / {RULE_SLOTS})", f"({column} - ({column} / {RULE_SLOTS}) * {RULE_SLOTS})"


def _field_expression(rules, field: str, dialect: Dialect) -> Fragment:
    """COALESCE over the rules that can set ``field`` ("service" or "team"), encoded (see RULE_SLOTS);
    NULL when none matches and resolves."""
    if len(rules) >= RULE_SLOTS:
        raise ValueError(f"at most {RULE_SLOTS - 1} enabled rules")
    table = "alarms_service" if field == "service" else "alarms_team"
    alias_table = "alarms_servicealias" if field == "service" else "alarms_teamalias"
    parts, params = [], []
    for number, rule in enumerate(rules, start=1):
        fixed = rule.set_service_id if field == "service" else rule.set_team_id
        from_value = rule.service_from_value if field == "service" else rule.team_from_value
        if not fixed and not from_value:
            continue
        match = _match(rule, dialect)
        if fixed:
            parts.append(f"CASE WHEN {match.sql} THEN CAST(%s AS BIGINT) END")
            params += [*match.params, fixed * RULE_SLOTS + number]
        else:
            value = _value(rule, field, dialect)
            # The service or team whose slug is the value, else the one the value is an alias of.
            parts.append(
                f"CASE WHEN {match.sql} THEN COALESCE("
                f"(SELECT x.id * {RULE_SLOTS} + {number} FROM {table} x WHERE x.slug = {value.sql}), "
                f"(SELECT y.{field}_id * {RULE_SLOTS} + {number} FROM {alias_table} y WHERE y.value = {value.sql})"
                ") END"
            )
            params += [*match.params, *value.params, *value.params]
    if not parts:
        return Fragment("CAST(NULL AS BIGINT)")  # typed, or PostgreSQL makes a CTE column of it text
    if len(parts) == 1:
        return Fragment(parts[0], tuple(params))
    return Fragment(f"COALESCE({', '.join(parts)})", tuple(params))


def _alarm_base(dialect: Dialect, scope_sql: str) -> str:
    empty = dialect.empty_tags
    inherited = f"""COALESCE(
                   (SELECT r.tags FROM alarms_alarm_resources l JOIN alarms_resource r ON r.id = l.resource_id
                     WHERE l.alarm_id = a.id AND r.deleted_at IS NULL ORDER BY r.id LIMIT 1), {empty})"""
    return f"""
        SELECT a.id, a.arn, a.name, acc.account_id AS account_ref,
               a.service_id, a.service_source, a.owner_team_id, a.owner_team_source,
               {dialect.merge_tags(inherited, "a.tags")} AS etags
        FROM alarms_alarm a JOIN alarms_awsaccount acc ON acc.id = a.account_id
        WHERE a.deleted_at IS NULL {scope_sql}"""


def _scope(table: str, account_pk: int | None, region: str | None, ids: list[int] | None = None) -> Fragment:
    """The WHERE conditions (each starting with AND) narrowing ``table`` to one account, region or id list."""
    conditions, params = [], []
    if account_pk is not None:
        conditions.append(f"{table}.account_id = %s")
        params.append(account_pk)
    if region:
        conditions.append(f"{table}.region = %s")
        params.append(region)
    if ids is not None:  # PostgreSQL only: one array parameter, whatever the number of ids
        conditions.append(f"{table}.id = ANY(%s)")
        params.append(list(ids))
    return Fragment("".join(f" AND {c}" for c in conditions), tuple(params))


def assignment_query(
    rules, *, account_pk: int | None = None, region: str | None = None, alarm_ids: list[int] | None = None
) -> Fragment:
    """SELECT id, arn, name, service before/after, team before/after, sources and the numbers (1-based, 0 for
    none) of the rules that set service and team, for every live alarm in scope.

    Manual values are carried as they are; the owner falls back to the team of the resulting service.
    """
    dialect = Dialect(connection.vendor)
    scope = _scope("a", account_pk, region, alarm_ids)
    service = _field_expression(rules, "service", dialect)
    team = _field_expression(rules, "team", dialect)
    service_id, service_rule = decode("e.service_code")
    team_id, team_rule = decode("e.team_code")
    sql = f"""
        WITH b AS MATERIALIZED ({_alarm_base(dialect, scope.sql)}),
        e AS MATERIALIZED (
            SELECT b.*,
                   CASE WHEN b.service_source = 'manual' THEN NULL ELSE {service.sql} END AS service_code,
                   CASE WHEN b.owner_team_source = 'manual' THEN NULL ELSE {team.sql} END AS team_code
            FROM b),
        s AS MATERIALIZED (
            SELECT e.*,
                   CASE WHEN e.service_source = 'manual' THEN e.service_id ELSE {service_id} END AS new_service,
                   CASE WHEN e.owner_team_source = 'manual' THEN e.owner_team_id ELSE {team_id} END AS rule_team,
                   {service_rule} AS service_rule, {team_rule} AS team_rule
            FROM e)
        SELECT s.id, s.arn, s.name, s.service_id, s.new_service, s.owner_team_id,
               COALESCE(s.rule_team, (SELECT x.team_id FROM alarms_service x WHERE x.id = s.new_service)) AS new_team,
               s.service_source, s.owner_team_source, s.service_rule, s.team_rule
        FROM s"""
    return Fragment(sql, (*scope.params, *service.params, *team.params))


def match_count_query(rule) -> Fragment:
    """How many live alarms one rule matches by itself."""
    dialect = Dialect(connection.vendor)
    match = _match(rule, dialect)
    sql = f"WITH b AS MATERIALIZED ({_alarm_base(dialect, '')}) SELECT COUNT(*) FROM b WHERE {match.sql}"
    return Fragment(sql, match.params)


def resource_assignment_update(rules, *, account_pk: int | None = None, region: str | None = None) -> Fragment:
    """One UPDATE giving every live resource in scope the service and owner the rules give for its own tags."""
    dialect = Dialect(connection.vendor)
    scope = _scope("r", account_pk, region)
    service = _field_expression(rules, "service", dialect)
    team = _field_expression(rules, "team", dialect)
    distinct = "IS DISTINCT FROM" if dialect.postgres else "IS NOT"
    sql = f"""
        WITH b AS MATERIALIZED (
            SELECT r.id, r.name, acc.account_id AS account_ref, r.tags AS etags
            FROM alarms_resource r JOIN alarms_awsaccount acc ON acc.id = r.account_id
            WHERE r.deleted_at IS NULL {scope.sql}),
        c AS MATERIALIZED (SELECT b.id, {service.sql} AS service_code, {team.sql} AS team_code FROM b),
        n AS MATERIALIZED (
            SELECT c.id, c.service_code / {RULE_SLOTS} AS service_id, c.team_code / {RULE_SLOTS} AS team_id FROM c)
        UPDATE alarms_resource SET service_id = n.service_id,
               owner_team_id = COALESCE(n.team_id, (SELECT x.team_id FROM alarms_service x WHERE x.id = n.service_id))
        FROM n WHERE n.id = alarms_resource.id
          AND (alarms_resource.service_id {distinct} n.service_id
               OR alarms_resource.owner_team_id {distinct}
                  COALESCE(n.team_id, (SELECT x.team_id FROM alarms_service x WHERE x.id = n.service_id)))"""
    return Fragment(sql, (*scope.params, *service.params, *team.params))


def effective_tag_counts(keys: list[str], *, account_pk: int, region: str) -> Fragment:
    """SELECT the value of each of ``keys`` in the live alarms' effective tags (as the rules read them), and
    how many alarms have that combination: what discovery reads of a key's alarms."""
    dialect = Dialect(connection.vendor)
    scope = _scope("a", account_pk, region)
    values = [dialect.tag("b.etags", key) for key in keys]
    columns = ", ".join(value.sql for value in values)
    groups = ", ".join(str(i) for i in range(1, len(keys) + 1))
    base = _alarm_base(dialect, scope.sql)
    sql = f"WITH b AS MATERIALIZED ({base}) SELECT {columns}, COUNT(*) FROM b GROUP BY {groups}"
    return Fragment(sql, (*scope.params, *(p for value in values for p in value.params)))
