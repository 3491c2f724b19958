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
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from django.utils.text import slugify

from alarms.models import AwsAccount, Resource, Service, ServiceAlias, Team, TeamAlias
from alarms.services import rule_sql
from alarms.services.audit import Change, audit_record

MANUAL, DISCOVERED = "manual", "discovered"  # Service.team_source
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
    """A URL-safe slug for a tag value. Text beyond Latin letters and digits (``決済-svc``) would be lost, and
    two different values would share a slug: such a value's slug ends with its digest; one with nothing
    Latin left is ``<kind>-<digest>``. The service or team keeps the text as its name."""
    slug = slugify(value.strip())[:SLUG_LENGTH].strip("-")
    if value.strip().isascii() and slug:
        return slug
    digest = hashlib.sha256(value.strip().encode()).hexdigest()[:10]
    return f"{slug[: SLUG_LENGTH - 11]}-{digest}".strip("-") if slug else f"{kind}-{digest}"


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
    """(service value, team value) → how many live alarms and resources of the key carry that pair. Alarms
    are read with the effective tags the rules read (their resource's, with their own over them): an alarm a
    stack tagged only with ``aws:cloudformation:*`` names its function's service, not its stack."""
    keys = settings.OKAMI_DISCOVER_TAG_KEYS
    service_keys, team_keys = keys["services"], keys["teams"]
    stack = settings.OKAMI_DISCOVER_STACK_TAG
    columns = [*service_keys, *([stack] if stack else []), *team_keys]
    names = {key: f"k{i}" for i, key in enumerate(columns)}
    pairs: Counter = Counter()
    resources = (
        Resource.objects.filter(account=account, region=region, deleted_at__isnull=True)
        .annotate(**{names[key]: KeyTextTransform(key, "tags") for key in columns})
        .values_list(*names.values())
        .annotate(n=Count("id"))
    )
    query = rule_sql.effective_tag_counts(columns, account_pk=account.pk, region=region)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        alarms = cursor.fetchall()
    for *values, count in [*alarms, *resources]:
        row = dict(zip(names.values(), values, strict=True))
        service = _first(row, service_keys, names, result) or (_first(row, [stack], names, result) if stack else "")
        pairs[(service, _first(row, team_keys, names, result))] += count
    return pairs


def _first(row: dict, keys: list[str], names: dict, result: DiscoveryResult) -> str:
    """The first of ``keys`` with a usable value; blank ones are skipped with a reason."""
    for key in keys:
        value = row[names[key]]
        if value is None:
            continue
        reason = "empty value" if not value.strip() else "longer than 256 characters" if len(value) > 256 else ""
        if not reason:
            return value  # as AWS has it: the rules compare the tag's value with the alias
        skip = {"key": key, "value": value[:300], "reason": reason}
        if skip not in result.skipped:
            result.skipped.append(skip)
    return ""


def _discover(model, alias_model, kind: str, values: set[str], where: str, made: list[str]) -> dict:
    """Services (or teams) by tag value, creating those that neither an alias (by value, or by normalised key)
    nor a slug knows yet; every value met is kept as an alias. Constant queries."""
    if not values:
        return {}
    keys = {value: discovery_slug(value, kind) for value in values}
    known = {
        alias.value: alias for alias in alias_model.objects.filter(Q(value__in=values) | Q(key__in=set(keys.values())))
    }
    by_key = {alias.key: alias for alias in sorted(known.values(), key=lambda a: a.pk)}
    # A new spelling of a known value follows its alias, even one pointing nowhere (a person deleted it).
    follows = {v: by_key[keys[v]] for v in values if v not in known and keys[v] in by_key}
    new = sorted({v for v in values if v not in known and v not in follows}, key=lambda v: (keys[v], v))
    now = timezone.now()
    if new:
        model.objects.bulk_create(  # in slug order: two refreshes inserting the same slugs never deadlock
            [
                model(
                    slug=keys[value],
                    name=value.strip()[:NAME_LENGTH],
                    discovered_from=f"tag value {value[:120]!r} in {where}",
                    first_seen_at=now,
                )
                for value in new
            ],
            ignore_conflicts=True,  # the slug exists already (a person made it, or another key just did)
        )
    target_ids = {getattr(alias, f"{kind}_id") for alias in [*known.values(), *follows.values()]} - {None}
    entries = model.objects.filter(Q(slug__in={keys[v] for v in new}) | Q(pk__in=target_ids))
    by_slug, by_id = {}, {}
    for entry in entries:
        by_slug[entry.slug], by_id[entry.pk] = entry, entry
    found = {value: by_id.get(getattr(alias, f"{kind}_id")) for value, alias in [*known.items(), *follows.items()]}
    found |= {value: by_slug.get(keys[value]) for value in new}
    alias_model.objects.bulk_create(
        [alias_model(value=v, key=keys[v], **{kind: found[v]}) for v in sorted({*new, *follows})],
        ignore_conflicts=True,
    )
    created = sorted((e for e in by_slug.values() if e.first_seen_at == now), key=lambda e: e.slug)
    made.extend(e.slug for e in created)
    audit_record(
        actor=None,
        system=ACTOR,
        action=f"{kind}.discovered",
        changes=[
            Change(
                alarm_id=None, target=f"{kind}:{e.slug}", before={}, after={"name": e.name, "from": e.discovered_from}
            )
            for e in created
        ],
    )
    return {value: entry for value, entry in found.items() if entry is not None}


def _give_majority_teams(pairs: Counter, services: dict, teams: dict) -> list[str]:
    """Discovered services without a team take the team most of their tagged alarms and resources in this key
    name (ties: the team first by slug); never one whose team a person set or cleared."""
    votes: dict[Service, Counter] = {}
    for (service_value, team_value), count in pairs.items():
        service, team = services.get(service_value), teams.get(team_value)
        if service is None or team is None:
            continue
        if service.discovered and service.team_id is None and service.team_source != MANUAL:
            votes.setdefault(service, Counter())[team] += count
    chosen: dict[Team, list[Service]] = {}
    for service, counter in votes.items():
        chosen.setdefault(min(counter, key=lambda t: (-counter[t], t.slug)), []).append(service)
    changes = []
    for team, given in chosen.items():
        Service.objects.filter(pk__in=[s.pk for s in given], team__isnull=True).update(
            team=team, team_source=DISCOVERED
        )
        changes += [
            Change(alarm_id=None, target=f"service:{s.slug}", before={"team": None}, after={"team": team.slug})
            for s in given
        ]
    audit_record(actor=None, system=ACTOR, action="service.team_discovered", changes=changes)
    return sorted(change.target.removeprefix("service:") for change in changes)
