from django.urls import path

from incidents.views import hooks

urlpatterns = [
    path("hooks/sns/", hooks.sns_hook, name="hook-sns"),
    path("hooks/eventbridge/", hooks.eventbridge_hook, name="hook-eventbridge"),
]
