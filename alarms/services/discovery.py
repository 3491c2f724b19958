"""Discovery: the services and teams an estate's tags name, created by the refresh that first meets them.

The values of the service and team tag keys (``OKAMI_DISCOVER_TAG_KEYS``, first key present wins) on a key's
live alarms and resources become services and teams, marked discovered (the tag that named them, when). A
value is normalised to a slug (``Checkout`` and ``checkout`` are one service) and kept as an alias, so that a
person can merge ``checkout-svc`` into ``checkout`` and the tag keeps matching. Where no service key names a
service, the CloudFormation stack does. A discovered service without a team gets the team most of its tagged
alarms and resources name.

Discovery only creates: it never assigns an alarm (the mapping rules do, and never over a manual choice), never
renames, and never brings back a value a person deleted (its alias stays, pointing nowhere). Concurrent
refreshes of other keys may meet the same value: inserts ignore conflicts and the rows are read back.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from alarms.models import Alarm, AwsAccount, Resource, Service, ServiceAlias, Team, TeamAlias
from alarms.services.audit import Change, audit_record

SLUG_LENGTH = 64
NAME_LENGTH = 200
ACTOR = "discovery"


@dataclass
class DiscoveryResult:
    services: list[str] = field(default_factory=list)  # slugs created
    teams: list[str] = field(default_factory=list)
    teams_given: list[str] = field(default_factory=list)  # discovered services given their majority team
    skipped: list[dict] = field(default_factory=list)  # {"key", "value", "reason"}

    def as_json(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if value}


def discovery_slug(value: str, kind: str) -> str:
    """A URL-safe slug for a tag value; a value with no Latin letters or digits (``決済``) gets one made from
    its digest, and keeps its text as the name."""
    slug = slugify(value)[:SLUG_LENGTH].strip("-")
    return slug or f"{kind}-{hashlib.sha256(value.encode()).hexdigest()[:10]}"


def catalog_discover(*, account: AwsAccount, region: str) -> DiscoveryResult:
    """Create the services and teams the tags of one (account, region) name that the catalog lacks."""
    result = DiscoveryResult()
    if not settings.OKAMI_DISCOVERY:
        return result
    pairs = _tag_pairs(account, region, result)
    where = f"{account.account_id}/{region}"
    with transaction.atomic():
        teams = _discover(Team, TeamAlias, "team", {t for _, t in pairs if t}, where, result.teams)
        services = _discover(Service, ServiceAlias, "service", {s for s, _ in pairs if s}, where, result.services)
        result.teams_given = _give_majority_teams(pairs, services, teams)
    return result


def _tag_pairs(account: AwsAccount, region: str, result: DiscoveryResult) -> Counter:
    """(service value, team value) → how many live alarms and resources of the key carry that pair."""
    keys = settings.OKAMI_DISCOVER_TAG_KEYS
    service_keys, team_keys = keys["services"], keys["teams"]
    stack = settings.OKAMI_DISCOVER_STACK_TAG
    columns = [*service_keys, *([stack] if stack else []), *team_keys]
    names = {key: f"k{i}" for i, key in enumerate(columns)}
    pairs: Counter = Counter()
    for model, value in ((Alarm, _effective_tag), (Resource, _own_tag)):
        rows = (
            model.objects.filter(account=account, region=region, deleted_at__isnull=True)
            .annotate(**{names[key]: value(key) for key in columns})
            .values(*names.values())
            .annotate(n=Count("id"))
        )
        for row in rows:
            service = _first(row, service_keys, names, result) or (_first(row, [stack], names, result) if stack else "")
            pairs[(service, _first(row, team_keys, names, result))] += row["n"]
    return pairs


def _own_tag(key: str):
    return KeyTextTransform(key, "tags")


def _effective_tag(key: str):
    """An alarm's tag as the rules read it: its own, else that of the first live resource it watches (an
    alarm a stack tagged only with ``aws:cloudformation:*`` names its function's service, not its stack)."""
    watched = (
        Alarm.resources.through.objects.filter(alarm_id=OuterRef("pk"), resource__deleted_at__isnull=True)
        .order_by("resource_id")
        .annotate(value=KeyTextTransform(key, "resource__tags"))
        .values("value")[:1]
    )
    return Coalesce(_own_tag(key), Subquery(watched))


def _first(row: dict, keys: list[str], names: dict, result: DiscoveryResult) -> str:
    """The first of ``keys`` with a usable value; blank ones are skipped with a reason."""
    for key in keys:
        value = row[names[key]]
        if value is None:
            continue
        reason = "empty value" if not value.strip() else "longer than 256 characters" if len(value) > 256 else ""
        if not reason:
            return value.strip()
        skip = {"key": key, "value": value[:300], "reason": reason}
        if skip not in result.skipped:
            result.skipped.append(skip)
    return ""


def _discover(model, alias_model, kind: str, values: set[str], where: str, made: list[str]) -> dict:
    """Services (or teams) by tag value, creating those no slug or alias knows yet. Constant queries."""
    if not values:
        return {}
    target = kind  # the alias's foreign key
    aliases = dict(alias_model.objects.filter(value__in=values).values_list("value", f"{target}_id"))
    slugs = {value: discovery_slug(value, kind) for value in values}
    now = timezone.now()
    new = {value for value in values if value not in aliases}
    if new:
        model.objects.bulk_create(
            [
                model(
                    slug=slugs[value],
                    name=value[:NAME_LENGTH],
                    discovered_from=f"tag value {value[:120]!r} in {where}",
                    first_seen_at=now,
                )
                for value in sorted(new)
            ],
            ignore_conflicts=True,  # the slug exists already (a person made it, or another key just did)
        )
    by_slug = {obj.slug: obj for obj in model.objects.filter(slug__in={slugs[v] for v in values})}
    if new:
        alias_model.objects.bulk_create(
            [alias_model(value=value, **{target: by_slug[slugs[value]]}) for value in sorted(new)],
            ignore_conflicts=True,
        )
    created = sorted((obj for obj in by_slug.values() if obj.first_seen_at == now), key=lambda o: o.slug)
    made.extend(obj.slug for obj in created)
    audit_record(
        actor=None,
        system=ACTOR,
        action=f"{kind}.discovered",
        changes=[
            Change(
                alarm_id=None,
                target=f"{kind}:{obj.slug}",
                before={},
                after={"name": obj.name, "from": obj.discovered_from},
            )
            for obj in created
        ],
    )
    by_id = {obj.pk: obj for obj in by_slug.values()}
    elsewhere = {pk for pk in aliases.values() if pk and pk not in by_id}  # aliases of another slug (merged)
    by_id |= {obj.pk: obj for obj in model.objects.filter(pk__in=elsewhere)} if elsewhere else {}
    # A known value follows its alias, even one pointing nowhere (a person deleted what it named).
    found = {value: by_id.get(aliases[value]) if value in aliases else by_slug.get(slugs[value]) for value in values}
    return {value: obj for value, obj in found.items() if obj is not None}


def _give_majority_teams(pairs: Counter, services: dict, teams: dict) -> list[str]:
    """Discovered services without a team take the team most of their tagged alarms and resources name
    (ties: the team first by slug)."""
    votes: dict[Service, Counter] = {}
    for (service_value, team_value), count in pairs.items():
        service, team = services.get(service_value), teams.get(team_value)
        if service is not None and team is not None and service.discovered and service.team_id is None:
            votes.setdefault(service, Counter())[team] += count
    chosen: dict[Team, list[Service]] = {}
    for service, counter in votes.items():
        chosen.setdefault(min(counter, key=lambda t: (-counter[t], t.slug)), []).append(service)
    changes = []
    for team, given in chosen.items():
        Service.objects.filter(pk__in=[s.pk for s in given], team__isnull=True).update(team=team)
        changes += [
            Change(alarm_id=None, target=f"service:{s.slug}", before={"team": None}, after={"team": team.slug})
            for s in given
        ]
    audit_record(actor=None, system=ACTOR, action="service.team_discovered", changes=changes)
    return sorted(change.target.removeprefix("service:") for change in changes)
