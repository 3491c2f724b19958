"""Team chat pages: the list of teams with their chat settings, and a team's page whose form changes them and
whose button sends a test message. Each post makes one service call and redirects with a message."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alarms.models import Team
from alarms.services.teams import CHANNEL_MAX
from incidents.chat.notifier import ChatError
from incidents.permissions import TEAM_CHAT_REFUSAL, can_manage_team_chat
from incidents.services.chat import team_budget, team_test_message
from incidents.services.team_chat import (
    BUDGET_MAX,
    BUDGET_MIN,
    default_digest_time,
    default_page_budget,
    team_chat_list,
    team_chat_settings,
    team_chat_update,
)


class TeamChatForm(forms.Form):
    """An empty digest time or budget means the portal's default (shown as the placeholder)."""

    chat_channel = forms.CharField(
        label="Channel", max_length=CHANNEL_MAX, required=False,
        help_text="#channel-name or a channel id (C…, G…); invite the Okami app to a private channel. "
        "Empty: no channel.",
    )  # fmt: skip
    digest_time = forms.TimeField(
        label="Daily digest at", required=False, input_formats=["%H:%M"],
        widget=forms.TimeInput(format="%H:%M", attrs={"placeholder": "HH:MM", "pattern": "[0-2][0-9]:[0-5][0-9]"}),
        help_text="The portal's time zone. Empty: the portal's default.",
    )  # fmt: skip
    weekly_page_budget = forms.IntegerField(
        label="Weekly page budget", required=False, min_value=BUDGET_MIN, max_value=BUDGET_MAX,
        help_text="Page notifications a week the team accepts. Empty: the portal's default.",
    )  # fmt: skip


def team_list(request):
    teams = [team_chat_settings(team) for team in team_chat_list()]
    return render(request, "incidents/team_list.html", {"teams": teams})


def team_chat(request, slug: str):
    team = get_object_or_404(Team, slug=slug)
    can_manage = can_manage_team_chat(request.user, team)
    current = team_chat_settings(team)
    status = 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(TEAM_CHAT_REFUSAL)
        form = TeamChatForm(request.POST)
        if form.is_valid():
            try:
                team_chat_update(team=team, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
                for field, problems in by_field.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(request, "Saved.")
                return redirect("team-chat", slug=team.slug)
        status = 400
    else:
        form = TeamChatForm(
            initial={
                "chat_channel": current.chat_channel,
                "digest_time": None if current.digest_time_default else current.digest_time,
                "weekly_page_budget": None if current.weekly_page_budget_default else current.weekly_page_budget,
            }
        )
    form.fields["digest_time"].widget.attrs["placeholder"] = default_digest_time().strftime("%H:%M")
    form.fields["weekly_page_budget"].widget.attrs["placeholder"] = str(default_page_budget())
    return render(
        request,
        "incidents/team_chat.html",
        {
            "team": team,
            "settings": current,
            "form": form if can_manage else None,
            "can_manage": can_manage,
            "budget": team_budget(team=team, now=timezone.now()),
        },
        status=status,
    )


@require_POST
def team_chat_test(request, slug: str):
    team = get_object_or_404(Team, slug=slug)
    if not can_manage_team_chat(request.user, team):
        raise PermissionDenied(TEAM_CHAT_REFUSAL)
    try:
        posted = team_test_message(team=team, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ChatError as error:
        messages.error(request, f"The chat refused the test message: {error}")
    else:
        where = team.chat_channel if posted.channel == team.chat_channel else f"{team.chat_channel} ({posted.channel})"
        messages.success(request, f"Test message posted to {where}.")
    return redirect("team-chat", slug=team.slug)
