from django.urls import path

from incidents.views import alerts, hooks, inbox, incidents

urlpatterns = [
    path("alerts/", alerts.alert_list, name="alert-list"),
    path("alerts/inbox/", inbox.inbox, name="alert-inbox"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert-detail"),
    path("incidents/", incidents.incident_list, name="incident-list"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="incident-detail"),
    path("hooks/sns/", hooks.sns_hook, name="hook-sns"),
    path("hooks/eventbridge/", hooks.eventbridge_hook, name="hook-eventbridge"),
]
