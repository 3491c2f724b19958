from django.urls import path

from incidents.views import alerts, hooks

urlpatterns = [
    path("alerts/", alerts.alert_list, name="alert-list"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert-detail"),
    path("hooks/sns/", hooks.sns_hook, name="hook-sns"),
    path("hooks/eventbridge/", hooks.eventbridge_hook, name="hook-eventbridge"),
]
