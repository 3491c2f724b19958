from django.urls import path

from incidents.views import alerts, hooks, inbox, incidents, slack, team_chat

urlpatterns = [
    path("alerts/", alerts.alert_list, name="alert-list"),
    path("alerts/inbox/", inbox.inbox, name="alert-inbox"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert-detail"),
    path("incidents/", incidents.incident_list, name="incident-list"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="incident-detail"),
    path("teams/", team_chat.team_list, name="team-list"),
    path("teams/<slug:slug>/chat/", team_chat.team_chat, name="team-chat"),
    path("teams/<slug:slug>/chat/test/", team_chat.team_chat_test, name="team-chat-test"),
    path("hooks/sns/", hooks.sns_hook, name="hook-sns"),
    path("hooks/eventbridge/", hooks.eventbridge_hook, name="hook-eventbridge"),
    path("hooks/slack/actions/", slack.slack_actions_hook, name="hook-slack-actions"),
]
