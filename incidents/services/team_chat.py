"""A team's chat settings: the channel its page notifications go to, when its daily digest goes out and how many
page notifications a week it accepts. The digest time and the budget are the team's alert policy
(TeamAlertPolicy); an empty value there means the portal's default (OKAMI_DIGEST_TIME, OKAMI_PAGE_BUDGET)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from types import EllipsisType

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from alarms.models import Team
from alarms.services.audit import Change, audit_record
from alarms.services.teams import channel_validate
from incidents.models import TeamAlertPolicy

BUDGET_MIN, BUDGET_MAX = 1, 1000  # page notifications a week


@dataclass(frozen=True)
class TeamChatSettings:
    """What a team's chat settings amount to: each value as it takes effect, and whether it is the default."""

    team: Team
    chat_channel: str
    digest_time: time
    digest_time_default: bool
    weekly_page_budget: int
    weekly_page_budget_default: bool


def default_digest_time() -> time:
    return datetime.strptime(settings.OKAMI_DIGEST_TIME, "%H:%M").time()


def default_page_budget() -> int:
    return settings.OKAMI_PAGE_BUDGET


def _policy(team: Team) -> TeamAlertPolicy | None:
    try:
        return team.alert_policy
    except ObjectDoesNotExist:
        return None


def team_chat_settings(team: Team) -> TeamChatSettings:
    """The team's settings; reads its alert policy unless it was selected with the team (``team_chat_list``)."""
    policy = _policy(team)
    digest_time = policy.digest_time if policy else None
    budget = policy.weekly_page_budget if policy else None
    return TeamChatSettings(
        team=team,
        chat_channel=team.chat_channel,
        digest_time=digest_time or default_digest_time(),
        digest_time_default=digest_time is None,
        weekly_page_budget=budget or default_page_budget(),
        weekly_page_budget_default=budget is None,
    )


def team_chat_list() -> QuerySet[Team]:
    """Every team with its alert policy, in one query: ``team_chat_settings`` of each reads nothing more."""
    return Team.objects.select_related("alert_policy").order_by("name", "pk")


def _budget_validate(budget) -> None:
    if budget is None:
        return
    if isinstance(budget, bool) or not isinstance(budget, int) or not BUDGET_MIN <= budget <= BUDGET_MAX:
        raise ValidationError(
            {"weekly_page_budget": f"A whole number from {BUDGET_MIN} to {BUDGET_MAX}, or empty for the default."}
        )


def _as_text(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


@transaction.atomic
def team_chat_update(
    *,
    team: Team,
    actor,
    chat_channel: str | EllipsisType = ...,
    digest_time: time | EllipsisType | None = ...,
    weekly_page_budget: int | EllipsisType | None = ...,
) -> TeamChatSettings:
    """Change what is given (``...``: unchanged; ``None``: back to the portal's default; an empty channel: none).
    All or nothing, audited as ``team.chat`` with the values before and after."""
    if chat_channel is not ...:
        chat_channel = (chat_channel or "").strip()
        channel_validate(chat_channel)
    if digest_time is not ... and digest_time is not None:
        if not isinstance(digest_time, time):
            raise ValidationError({"digest_time": "A time of day, HH:MM."})
        digest_time = digest_time.replace(second=0, microsecond=0, tzinfo=None)
    if weekly_page_budget is not ...:
        _budget_validate(weekly_page_budget)

    # The team's row is the lock: two people saving at once are applied one after the other.
    team = Team.objects.select_for_update().get(pk=team.pk)
    policy, _ = TeamAlertPolicy.objects.get_or_create(team=team)
    before, after = {}, {}
    if chat_channel is not ... and chat_channel != team.chat_channel:
        before["chat_channel"], after["chat_channel"] = team.chat_channel, chat_channel
        team.chat_channel = chat_channel
        team.save(update_fields=["chat_channel"])
    policy_fields = []
    if digest_time is not ... and digest_time != policy.digest_time:
        before["digest_time"], after["digest_time"] = _as_text(policy.digest_time), _as_text(digest_time)
        policy.digest_time = digest_time
        policy_fields.append("digest_time")
    if weekly_page_budget is not ... and weekly_page_budget != policy.weekly_page_budget:
        before["weekly_page_budget"], after["weekly_page_budget"] = policy.weekly_page_budget, weekly_page_budget
        policy.weekly_page_budget = weekly_page_budget
        policy_fields.append("weekly_page_budget")
    if policy_fields:
        policy.save(update_fields=policy_fields)
    if after:
        audit_record(
            actor=actor,
            action="team.chat",
            changes=[Change(alarm_id=None, target=f"team:{team.slug}", before=before, after=after)],
        )
    team.alert_policy = policy
    return team_chat_settings(team)
