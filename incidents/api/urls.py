from django.urls import path

from incidents.api import views


def register(router) -> None:
    router.register("alerts", views.AlertViewSet, basename="alert")


urlpatterns = [
    path("alarms/<int:alarm_id>/state-changes/", views.AlarmStateChangeList.as_view(), name="alarm-state-changes"),
]
