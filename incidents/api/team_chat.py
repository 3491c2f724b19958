"""A team's chat settings through the API: ``GET|PATCH /api/v1/teams/{slug}/chat/`` and
``POST /api/v1/teams/{slug}/chat/test/``. Everyone signed in reads; administrators and the team's members
change them and send the test message."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms.models import Team
from alarms.services.teams import CHANNEL_MAX
from incidents.chat.notifier import ChatError
from incidents.permissions import TEAM_CHAT_REFUSAL, can_manage_team_chat
from incidents.services.chat import team_budget, team_test_message
from incidents.services.team_chat import (
    BUDGET_MAX,
    BUDGET_MIN,
    TeamChatSettings,
    team_chat_settings,
    team_chat_update,
)


class TeamChatSerializer(serializers.Serializer):
    """What PATCH takes: a field left out is unchanged; ``null`` puts the digest time or the budget back to the
    portal's default; an empty channel removes it."""

    chat_channel = serializers.CharField(max_length=CHANNEL_MAX, allow_blank=True, required=False)
    digest_time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], allow_null=True, required=False)
    weekly_page_budget = serializers.IntegerField(
        min_value=BUDGET_MIN, max_value=BUDGET_MAX, allow_null=True, required=False
    )


class TeamChatReadSerializer(serializers.Serializer):
    team = serializers.CharField()
    chat_channel = serializers.CharField()
    digest_time = serializers.CharField(help_text="HH:MM, the portal's time zone.")
    digest_time_default = serializers.BooleanField()
    weekly_page_budget = serializers.IntegerField()
    weekly_page_budget_default = serializers.BooleanField()
    page_notifications_this_week = serializers.IntegerField()


class PostedSerializer(serializers.Serializer):
    channel = serializers.CharField()
    ts = serializers.CharField()


def _payload(current: TeamChatSettings) -> dict:
    return {
        "team": current.team.slug,
        "chat_channel": current.chat_channel,
        "digest_time": current.digest_time.strftime("%H:%M"),
        "digest_time_default": current.digest_time_default,
        "weekly_page_budget": current.weekly_page_budget,
        "weekly_page_budget_default": current.weekly_page_budget_default,
        "page_notifications_this_week": team_budget(team=current.team, now=timezone.now()).used,
    }


def _managed_team(request, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not can_manage_team_chat(request.user, team):
        raise PermissionDenied(TEAM_CHAT_REFUSAL)
    return team


class TeamChatView(APIView):
    """The channel of a team's page notifications, the time of its daily digest and its weekly page budget,
    each with whether it is the portal's default, and this week's page notifications."""

    @extend_schema(responses=TeamChatReadSerializer)
    def get(self, request, slug: str):
        return Response(_payload(team_chat_settings(get_object_or_404(Team, slug=slug))))

    @extend_schema(request=TeamChatSerializer, responses=TeamChatReadSerializer)
    def patch(self, request, slug: str):
        """Change the team's chat settings (administrators and the team's members; audited as ``team.chat``)."""
        team = _managed_team(request, slug)
        serializer = TeamChatSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(_payload(team_chat_update(team=team, actor=request.user, **serializer.validated_data)))


class TeamChatTestView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: PostedSerializer,
            400: OpenApiResponse(description="The team has no channel."),
            502: OpenApiResponse(description="The chat refused the message; detail says why."),
        },
    )
    def post(self, request, slug: str):
        """Post a test message to the team's channel; nothing else changes."""
        team = _managed_team(request, slug)
        try:
            posted = team_test_message(team=team, actor=request.user)
        except ChatError as error:
            return Response({"detail": f"The chat refused the test message: {error}", "errors": {}}, status=502)
        return Response({"channel": posted.channel, "ts": posted.ts})
