from django.urls import path

from alarms import views

urlpatterns = [
    path("alarms/", views.alarm_list, name="alarm-list"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm-detail"),
    path("alarms/<int:pk>/governance/", views.alarm_governance, name="alarm-governance"),
    path("services/", views.service_list, name="service-list"),
    path("services/<slug:slug>/", views.service_detail, name="service-detail"),
    path("sync-runs/", views.sync_run_list, name="sync-run-list"),
    path("sync-runs/now/", views.sync_now, name="sync-now"),
]
