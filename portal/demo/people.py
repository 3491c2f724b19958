"""Demo users, rules, and an administrator's first hour after the first sync.

Teams and services are not created up front: the first sync discovers them from the estate's tags, as it
does on a fresh install. What a person would then do (proper names, chat channels, one duplicate spelling
merged, team memberships, the purposes the most careful teams accepted) goes through the portal's own
audited services, in the administrator's name."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from alarms.choices import RuleMatch, SignalKind, Tier
from alarms.models import SUGGESTION_PENDING, Alarm, MappingRule, Service, Team
from alarms.services.catalog import catalog_entries_update, services_merge
from alarms.services.discovery import discovery_slug
from alarms.services.governance import alarm_update_governance
from alarms.services.mapping import rules_apply
from alarms.services.suggested_purpose import alarms_accept_suggestions
from portal.demo.estate import SERVICES, TEAMS

DEFAULT_PASSWORD = "okami-demo"  # noqa: S105 (a local demo login, printed on start)
EDITOR_TEAMS = ("payments", "storefront")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


# Migrate creates the default tag rules (service and app tags, team and owner tags, the CloudFormation stack).
# The platform team adds its naming convention "<service>-prod[-us]-…" that every team's templates follow,
# after the tag rules: it places the alarms nobody tagged. Console-made strays match none of them.
NAMING_RULE = dict(
    position=50,
    name="naming convention",
    match=RuleMatch.NAME_REGEX,
    pattern=r"^(?P<service>[a-z]+(?:-[a-z]+)*?)-prod(?:-us)?-",
    service_from_value=True,
)
# The tag rules earlier demos created themselves, now the defaults' duplicates.
OLD_DEMO_RULES = ("service tag", "team tag", "owner tag")


@transaction.atomic
def create_demo_rules() -> None:
    old = MappingRule.objects.filter(name__in=OLD_DEMO_RULES)
    if old.exists():  # a demo database from before the default rules: migrate found rules and made none
        old.delete()
        for rule in importlib.import_module("alarms.migrations.0009_default_tag_rules").default_rules():
            MappingRule.objects.get_or_create(name=rule["name"], defaults=rule)
    MappingRule.objects.update_or_create(name=NAMING_RULE["name"], defaults=NAMING_RULE)


@transaction.atomic
def create_demo_users() -> list[DemoLogin]:
    """The three logins; the editor joins its teams once the sync has discovered them (demo_first_hour)."""
    password = os.environ.get("OKAMI_DEMO_PASSWORD") or DEFAULT_PASSWORD
    editors, _ = Group.objects.get_or_create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="change_alarm_governance"))
    user_model = get_user_model()
    logins = []
    for username, role in (("admin", "administrator"), ("editor", "editor"), ("viewer", "read-only")):
        user, _ = user_model.objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = role == "administrator"
        user.set_password(password)
        user.save()
        if role == "editor":
            user.groups.add(editors)
        logins.append(DemoLogin(username, password, role))
    return logins


# --- after the first sync: what the administrator does in the first hour --------------------------------


@dataclass
class FirstHour:
    teams_named: int = 0
    services_named: int = 0
    merged: list[str] = field(default_factory=list)  # "source → into"
    memberships: int = 0
    symptoms: int = 0  # customer-facing API errors marked symptom / page
    internal: int = 0  # internal API alarms marked cause / ticket
    accepted: int = 0  # alarms given their suggested purpose
    paging_everything: int = 0  # the alarms of the service that pages on everything
    pending: int = 0  # alarms with a suggestion nobody accepted yet


def demo_first_hour(actor) -> FirstHour:
    """Names, channels, one duplicate merged, memberships and the careful teams' purposes, all audited."""
    done = FirstHour()
    done.teams_named = name_demo_teams(actor)
    done.services_named = describe_demo_services(actor)
    done.merged = merge_demo_duplicates(actor)
    done.memberships = join_demo_teams()
    done.symptoms, done.internal, done.accepted = apply_demo_governance(actor)
    done.paging_everything = page_on_everything(actor)
    done.pending = Alarm.objects.filter(SUGGESTION_PENDING, deleted_at__isnull=True).count()
    return done


def name_demo_teams(actor) -> int:
    """``payments`` becomes "Payments" with its alert channel ``#payments-alerts``."""
    wanted = {slug: {"name": name, "chat_channel": channel} for slug, name, channel in TEAMS}
    return catalog_entries_update(model=Team, values_by_slug=wanted, actor=actor)


def describe_demo_services(actor) -> int:
    """``payments-api`` becomes "Payments API", with the description its team writes."""
    wanted = {spec.slug: {"name": spec.name, "description": spec.description} for spec in SERVICES}
    return catalog_entries_update(model=Service, values_by_slug=wanted, actor=actor)


def merge_demo_duplicates(actor) -> list[str]:
    """A service some alarms' tags spell another way (its old name) was discovered twice: merge the stray
    spelling into the service, which keeps it as an alias so that the tag goes on matching."""
    merged = []
    for spec in SERVICES:
        if not spec.also_spelt:
            continue
        stray = Service.objects.filter(slug=discovery_slug(spec.also_spelt, "service")).first()
        into = Service.objects.filter(slug=spec.slug).first()
        if stray is not None and into is not None and stray.pk != into.pk:
            services_merge(source=stray, into=into, actor=actor)
            merged.append(f"{stray.slug} → {into.slug}")
    if merged:  # then "apply the rules": the moved alarms without an owner take their new service's team
        rules_apply(actor=actor)
    return merged


def join_demo_teams() -> int:
    editor = get_user_model().objects.get(username="editor")
    teams = list(Team.objects.filter(slug__in=EDITOR_TEAMS))
    editor.teams.add(*teams)
    return len(teams)


# The services whose teams already did the work: they accepted the suggested purposes of their alarms and
# decided which API errors page. The others show on the coverage page with suggestions nobody accepted, as
# services nobody would be paged for.
COVERED_SERVICES = ("checkout", "payments-api", "cart", "catalog", "orders", "identity")
INTERNAL_API = Q(name__contains="-internal-api-")  # serves other services and support tools, not customers


def apply_demo_governance(actor) -> tuple[int, int, int]:
    """What those teams decided, through the same audited services the purpose form and the coverage page
    use: their public API's 5XX errors are the customer-facing symptom and page, with a purpose in their own
    words; their internal APIs' alarms are causes for working hours (the library suggests symptom / page for
    any API); every other alarm of theirs takes its suggested purpose. Returns (symptoms, internal, accepted)."""
    theirs = Alarm.objects.filter(service__slug__in=COVERED_SERVICES, deleted_at__isnull=True)
    symptoms = list(theirs.filter(metric_name="5XXError", tier="").exclude(INTERNAL_API))
    for alarm in symptoms:
        alarm_update_governance(
            alarm=alarm,
            actor=actor,
            signal_kind=SignalKind.SYMPTOM,
            tier=Tier.PAGE,
            purpose_detects="The API answers customers with server errors (5xx).",
            purpose_customer_impact="Customers cannot complete what they came for.",
            purpose_action="Open the service dashboard, find the failing dependency, roll back a new deploy.",
        )
    internal = list(theirs.filter(INTERNAL_API, namespace="AWS/ApiGateway", signal_kind="", tier=""))
    for alarm in internal:
        alarm_update_governance(alarm=alarm, actor=actor, signal_kind=SignalKind.CAUSE, tier=Tier.TICKET)
    suggested = theirs.exclude(suggested_by="").values_list("pk", flat=True)
    accepted = alarms_accept_suggestions(alarm_ids=list(suggested), actor=actor)  # fills only empty fields
    return len(symptoms), len(internal), accepted


# The habit the portal is here to undo: a service whose team made every alarm page, so its throttling blips wake
# people; the report shows its team over the weekly page budget, traced to these alarms.
PAGES_ON_EVERYTHING = "notifications"


def page_on_everything(actor) -> int:
    """Every notifying alarm of that service set to page tier, through the audited governance service."""
    alarms = Alarm.objects.filter(
        service__slug=PAGES_ON_EVERYTHING, deleted_at__isnull=True, actions_enabled=True, tier=""
    )
    changed = 0
    for alarm in alarms:
        alarm_update_governance(alarm=alarm, actor=actor, tier=Tier.PAGE)
        changed += 1
    return changed
