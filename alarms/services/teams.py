"""A team's own fields: its name, its chat channel and its members; audited like every governance change."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from alarms.models import Team
from alarms.services.audit import Change, audit_record

CHANNEL_MAX = 80
# "#name": Slack's channel names are letters, digits, "-", "_" and "." (no spaces, no markup); or a channel id
# (C… public, G… private), which survives renames.
CHANNEL_NAME_RE = re.compile(r"#[\w.-]+")
CHANNEL_ID_RE = re.compile(r"[CG][A-Z0-9]{8,}")
NAME_MAX = 200
UNCHANGED = ...


def channel_validate(channel: str) -> None:
    if not channel:
        return
    if len(channel) > CHANNEL_MAX:
        raise ValidationError({"chat_channel": f"At most {CHANNEL_MAX} characters."})
    if not (CHANNEL_NAME_RE.fullmatch(channel) or CHANNEL_ID_RE.fullmatch(channel)):
        raise ValidationError(
            {
                "chat_channel": "A channel name like #payments-alerts (letters, digits, '-', '_', '.'; no spaces) "
                "or a Slack channel id like C0123456789."
            }
        )


def team_update(*, team: Team, actor, name=UNCHANGED, chat_channel=UNCHANGED, members=UNCHANGED) -> Team:
    """Change what is given (``members``: usernames, the whole list); one audit entry with what changed."""
    if name is not UNCHANGED and not (isinstance(name, str) and 0 < len(name.strip()) <= NAME_MAX):
        raise ValidationError({"name": f"A name of 1 to {NAME_MAX} characters."})
    if chat_channel is not UNCHANGED:
        channel_validate(chat_channel)
    users = None
    if members is not UNCHANGED:
        wanted = sorted(set(members))
        users = list(get_user_model().objects.filter(username__in=wanted))
        unknown = sorted(set(wanted) - {u.get_username() for u in users})
        if unknown:
            raise ValidationError({"members": f"No such user: {', '.join(unknown)}."})
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        before = _snapshot(locked)
        fields = []
        if name is not UNCHANGED:
            locked.name = name.strip()
            fields.append("name")
        if chat_channel is not UNCHANGED:
            locked.chat_channel = chat_channel
            fields.append("chat_channel")
        if fields:
            locked.save(update_fields=fields)
        if users is not None:
            locked.members.set(users)
        after = _snapshot(locked)
        changed = {key for key in after if after[key] != before[key]}
        if changed:
            audit_record(
                actor=actor,
                action="team.update",
                changes=[
                    Change(
                        alarm_id=None,
                        target=f"team:{locked.slug}",
                        before={k: before[k] for k in sorted(changed)},
                        after={k: after[k] for k in sorted(changed)},
                    )
                ],
            )
    return locked


def _snapshot(team: Team) -> dict:
    return {
        "name": team.name,
        "chat_channel": team.chat_channel,
        "members": sorted(team.members.values_list("username", flat=True)),
    }
