"""Services and teams removed or merged without stranding anything that named them.

Merging one service (or team) into another moves everything that named it (alarms, resources, rules, the
aliases tag values reach it by, and for a team its services and members), adds its slug as an alias of the
one kept so that its tag value keeps matching, audits each alarm moved, and deletes it.

Deleting a service or a team hands every alarm assigned to it back to the mapping rules (its assignment is
cleared and its source reset, manual or not: the value a person chose no longer exists), disables the rules
that named it instead of letting them silently lose their target, audits all of it, then lets the rules
reassign what they can.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from alarms.choices import AssignmentSource
from alarms.models import Alarm, MappingRule, Resource, RuleRun, Service, ServiceAlias, Team, TeamAlias
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


def services_merge(*, source: Service, into: Service, actor) -> int:
    """Merge ``source`` into ``into``; returns how many alarms moved."""
    _refuse_self_merge(source, into, "service")
    with transaction.atomic():
        moved = _merge(source, into, actor, field="service", rule_field="set_service", alias_model=ServiceAlias)
        if into.team_id is None and source.team_id is not None:
            Service.objects.filter(pk=into.pk).update(team=source.team_id)
        _delete_merged(source, into, actor, kind="service")
        _reassign(actor)  # the moved alarms whose owner is their service's team
    return moved


def teams_merge(*, source: Team, into: Team, actor) -> int:
    """Merge team ``source`` into ``into``: alarms, resources, services, rules, aliases and members move."""
    _refuse_self_merge(source, into, "team")
    with transaction.atomic():
        moved = _merge(source, into, actor, field="owner_team", rule_field="set_team", alias_model=TeamAlias)
        Service.objects.filter(team=source).update(team=into)
        into.members.add(*source.members.all())
        if not into.chat_channel and source.chat_channel:
            Team.objects.filter(pk=into.pk).update(chat_channel=source.chat_channel)
        _delete_merged(source, into, actor, kind="team")
        _reassign(actor)
    return moved


def _refuse_self_merge(source, into, kind: str) -> None:
    if source is None or into is None or source.pk is None or into.pk is None:
        raise ValidationError({"into": f"Name an existing {kind} to merge into."})
    if source.pk == into.pk:
        raise ValidationError({"into": f"A {kind} cannot be merged into itself."})


def _merge(source, into, actor, *, field: str, rule_field: str, alias_model) -> int:
    model = type(source)
    list(model.objects.select_for_update().filter(pk__in=sorted([source.pk, into.pk])))
    alarms = list(Alarm.objects.select_for_update().filter(**{field: source}).order_by("pk").values("pk", "arn"))
    Alarm.objects.filter(pk__in=[a["pk"] for a in alarms]).update(**{field: into})
    audit_record(
        actor=actor,
        action=f"alarm.{model._meta.model_name}_merged",
        changes=[
            Change(alarm_id=a["pk"], target=a["arn"], before={field: source.slug}, after={field: into.slug})
            for a in alarms
        ],
    )
    Resource.objects.filter(**{field: source}).update(**{field: into})
    MappingRule.objects.filter(**{rule_field: source}).update(**{rule_field: into})
    kind = model._meta.model_name
    alias_model.objects.filter(**{kind: source}).update(**{kind: into})
    alias_model.objects.update_or_create(value=source.slug, defaults={kind: into, "key": source.slug})
    return len(alarms)


def _delete_merged(source, into, actor, *, kind: str) -> None:
    audit_record(
        actor=actor,
        action=f"{kind}.merge",
        changes=[
            Change(alarm_id=None, target=f"{kind}:{source.slug}", before=_snapshot(source), after={"into": into.slug})
        ],
    )
    source.delete()


def catalog_entries_update(*, model: type[Service | Team], values_by_slug: dict[str, dict], actor) -> int:
    """Set fields (name, description, chat channel…) of services or teams by slug, e.g. to give discovered ones
    the names people use; audited, and a no-op for values already set. Returns how many changed."""
    kind = model._meta.model_name
    changes = []
    with transaction.atomic():
        for obj in model.objects.select_for_update().filter(slug__in=values_by_slug).order_by("pk"):
            changed = {name: value for name, value in values_by_slug[obj.slug].items() if getattr(obj, name) != value}
            if changed:
                before = {name: getattr(obj, name) for name in changed}
                model.objects.filter(pk=obj.pk).update(**changed)
                changes.append(Change(alarm_id=None, target=f"{kind}:{obj.slug}", before=before, after=changed))
        audit_record(actor=actor, action=f"{kind}.update", changes=changes)
    return len(changes)


def catalog_entry_save(*, entry: Service | Team, changed: list[str], actor) -> None:
    """Save a service or team as a person edited it (the admin), auditing what changed: the team of a
    service decides the owner of its alarms that no rule names one for."""
    kind = entry._meta.model_name
    fields = [name for name in changed if not entry._meta.get_field(name).many_to_many]
    with transaction.atomic():
        old = type(entry).objects.select_for_update().filter(pk=entry.pk).first() if entry.pk else None
        if "team" in fields:
            entry.team_source = "manual"  # discovery leaves a person's choice alone, even "no team"
        entry.save()
        before = {name: _readable(getattr(old, name)) for name in fields} if old else {}
        after = {name: _readable(getattr(entry, name)) for name in (fields if old else ["slug", "name"])}
        if before != after:
            audit_record(
                actor=actor,
                action=f"{kind}.{'update' if old else 'create'}",
                changes=[Change(alarm_id=None, target=f"{kind}:{entry.slug}", before=before, after=after)],
            )


def _readable(value):
    return getattr(value, "slug", value)
