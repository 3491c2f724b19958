from django.urls import path

from incidents.api import incidents, team_chat, views


def register(router) -> None:
    router.register("alerts", views.AlertViewSet, basename="alert")
    router.register("incidents", incidents.IncidentViewSet, basename="incident")


urlpatterns = [
    path("alarms/<int:alarm_id>/state-changes/", views.AlarmStateChangeList.as_view(), name="alarm-state-changes"),
    path("teams/<slug:slug>/chat/", team_chat.TeamChatView.as_view(), name="api-team-chat"),
    path("teams/<slug:slug>/chat/test/", team_chat.TeamChatTestView.as_view(), name="api-team-chat-test"),
]
