"""Demo teams, services and users. Teams and services are governance data the portal owns (AWS knows
nothing of them), so the demo creates them directly; alarms come only from the sync."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from alarms.choices import RuleMatch, SignalKind, Tier
from alarms.models import Alarm, MappingRule, Service, Team
from alarms.services.governance import alarm_update_governance
from portal.demo.estate import SERVICES, TEAMS

DEFAULT_PASSWORD = "okami-demo"  # noqa: S105 (a local demo login, printed on start)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@transaction.atomic
def create_demo_teams_and_services() -> None:
    teams = {}
    for slug, name, channel in TEAMS:
        teams[slug], _ = Team.objects.update_or_create(slug=slug, defaults={"name": name, "chat_channel": channel})
    for spec in SERVICES:
        Service.objects.update_or_create(
            slug=spec.slug, defaults={"name": spec.name, "team": teams[spec.team], "description": spec.description}
        )


# The rules a platform team would start with: tags first, then the naming convention
# "<service>-prod[-us]-…" that every team's templates follow. Console-made strays match none of them.
DEMO_RULES = (
    dict(position=10, name="service tag", match=RuleMatch.TAG, tag_key="service", pattern="*", service_from_value=True),
    dict(position=20, name="team tag", match=RuleMatch.TAG, tag_key="team", pattern="*", team_from_value=True),
    dict(position=30, name="owner tag", match=RuleMatch.TAG, tag_key="owner", pattern="*", team_from_value=True),
    dict(
        position=40,
        name="naming convention",
        match=RuleMatch.NAME_REGEX,
        pattern=r"^(?P<service>[a-z]+(?:-[a-z]+)*?)-prod(?:-us)?-",
        service_from_value=True,
    ),
)


@transaction.atomic
def create_demo_rules() -> None:
    for rule in DEMO_RULES:
        MappingRule.objects.update_or_create(name=rule["name"], defaults=rule)


# Services whose teams already did the work: their API 5xx alarms are the customer-facing symptom and page.
# The others show up on the coverage page as services nobody would be paged for.
COVERED_SERVICES = ("checkout", "payments-api", "cart", "catalog", "orders", "identity")


def apply_demo_governance(actor) -> int:
    """What those teams decided, recorded through the same audited service the purpose form uses."""
    symptoms = Alarm.objects.filter(
        service__slug__in=COVERED_SERVICES, metric_name="5XXError", deleted_at__isnull=True, tier=""
    ).exclude(name__contains="-internal-api-")  # the internal APIs serve other services, not customers
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
    return len(symptoms)


@transaction.atomic
def create_demo_users() -> list[DemoLogin]:
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
            user.teams.add(*Team.objects.filter(slug__in=("payments", "storefront")))
        logins.append(DemoLogin(username, password, role))
    return logins
