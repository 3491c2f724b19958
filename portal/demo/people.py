"""Demo teams, services and users. Teams and services are governance data the portal owns (AWS knows
nothing of them), so the demo creates them directly; alarms come only from the sync."""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from alarms.models import Service, Team
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
        logins.append(DemoLogin(username, password, role))
    return logins
