from django.urls import path

from incidents.api import incidents, views


def register(router) -> None:
    router.register("alerts", views.AlertViewSet, basename="alert")
    router.register("incidents", incidents.IncidentViewSet, basename="incident")


urlpatterns = [
    path("alarms/<int:alarm_id>/state-changes/", views.AlarmStateChangeList.as_view(), name="alarm-state-changes"),
]
