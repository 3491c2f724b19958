"""Services and teams removed without stranding anything that named them.

Deleting a service or a team hands every alarm assigned to it back to the mapping rules (its assignment is
cleared and its source reset, manual or not: the value a person chose no longer exists), disables the rules
that named it instead of letting them silently lose their target, audits all of it, then lets the rules
reassign what they can.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from alarms.choices import AssignmentSource
from alarms.models import Alarm, MappingRule, RuleRun, Service, Team
from alarms.services.audit import Change, audit_record
from alarms.services.mapping import rule_snapshot, rules_apply
from alarms.services.rule_runs import rule_run_request, rules_run_in_worker


def services_delete(*, services: Iterable[Service], actor) -> int:
    """Delete services, then let the rules reassign once; returns how many alarms were handed back."""
    with transaction.atomic():
        handed_back = sum(_delete(s, actor, field="service", rule_field="set_service") for s in services)
        _reassign(actor)
    return handed_back


def teams_delete(*, teams: Iterable[Team], actor) -> int:
    """Delete teams (their services stay, without an owner); returns how many alarms were handed back."""
    with transaction.atomic():
        handed_back = sum(_delete(t, actor, field="owner_team", rule_field="set_team") for t in teams)
        _reassign(actor)
    return handed_back


def _delete(target: Service | Team, actor, *, field: str, rule_field: str) -> int:
    kind = "service" if isinstance(target, Service) else "team"
    with transaction.atomic():
        type(target).objects.select_for_update().get(pk=target.pk)
        alarms = list(
            Alarm.objects.select_for_update()
            .filter(**{field: target})
            .order_by("pk")
            .values("pk", "arn", f"{field}_source")
        )
        Alarm.objects.filter(pk__in=[a["pk"] for a in alarms]).update(
            **{field: None, f"{field}_source": AssignmentSource.NONE}
        )
        changes = [
            Change(
                alarm_id=a["pk"],
                target=a["arn"],
                before={field: target.slug, f"{field}_source": a[f"{field}_source"]},
                after={field: None, f"{field}_source": AssignmentSource.NONE},
            )
            for a in alarms
        ]
        audit_record(actor=actor, action=f"alarm.{kind}_deleted", changes=changes)
        _disable_rules_naming(target, actor, rule_field=rule_field)
        if isinstance(target, Team):
            _orphan_services(target, actor)
        audit_record(
            actor=actor,
            action=f"{kind}.delete",
            changes=[Change(alarm_id=None, target=f"{kind}:{target.slug}", before=_snapshot(target), after={})],
        )
        target.delete()
    return len(alarms)


def _disable_rules_naming(target: Service | Team, actor, *, rule_field: str) -> None:
    rules = list(MappingRule.objects.select_for_update().filter(Q(**{rule_field: target})).order_by("pk"))
    changes = []
    for rule in rules:
        before = rule_snapshot(rule)
        rule.enabled = False
        setattr(rule, rule_field, None)
        rule.save(update_fields=["enabled", rule_field, "updated_at"])
        changes.append(
            Change(alarm_id=None, target=f"mapping-rule:{rule.pk}", before=before, after=rule_snapshot(rule))
        )
    audit_record(actor=actor, action="mapping_rule.disable", changes=changes)


def _orphan_services(team: Team, actor) -> None:
    services = list(Service.objects.select_for_update().filter(team=team).order_by("pk"))
    Service.objects.filter(pk__in=[s.pk for s in services]).update(team=None)
    changes = [
        Change(alarm_id=None, target=f"service:{s.slug}", before={"team": team.slug}, after={"team": None})
        for s in services
    ]
    audit_record(actor=actor, action="service.team_deleted", changes=changes)


def _snapshot(target: Service | Team) -> dict:
    snapshot = {"slug": target.slug, "name": target.name}
    if isinstance(target, Service):
        snapshot["team"] = target.team.slug if target.team_id else None
    return snapshot


def _reassign(actor) -> None:
    """The rules give the alarms handed back a new service or owner: now, or in a worker on a large catalog."""
    if rules_run_in_worker():
        rule_run_request(kind=RuleRun.Kind.APPLY, actor=actor)
    else:
        rules_apply(actor=actor)
